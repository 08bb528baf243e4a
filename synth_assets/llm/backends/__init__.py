"""Backends: OpenAI-compatible HTTP (openai, local), embedded llama.cpp server, offline vLLM."""
