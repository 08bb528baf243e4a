"""LLM layer: one Dagster resource over local (embedded llama.cpp), openai-compatible and vLLM backends."""

from resources.llm.errors import LLMConfigError
from resources.llm.resource import LLMResource
from resources.llm.types import (
    ChatBatchResult,
    ChatRequest,
    ChatResponse,
    CostEstimate,
    LLMUsage,
)

__all__ = ["LLMResource", "ChatRequest", "ChatResponse", "ChatBatchResult", "LLMUsage", "CostEstimate", "LLMConfigError"]
