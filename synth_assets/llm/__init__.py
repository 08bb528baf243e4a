"""The LLM client, plain Python: `client.LLMClient` (batch chat over the local llama.cpp, openai-compatible and vLLM
backends, with cache, limits, retries and pricing), its request/response models (`types`) and the sentence-embedding
encoder (`embeddings`). Import the module you need: this package imports nothing itself, so the request models load
without the OpenAI SDK. The Dagster resource is `resources.llm.LLMResource`."""
