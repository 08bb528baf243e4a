"""Prompt token counting for cost estimates: tiktoken when its encoding is available, else chars/4."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

_PER_MESSAGE_OVERHEAD = 4  # role markers and separators of chat formats


@lru_cache(maxsize=16)
def _encoding(model: str) -> Any | None:
    """tiktoken encoding for `model`, or None when unknown or not downloadable (offline)."""
    try:
        import tiktoken

        try:
            return tiktoken.encoding_for_model(model)
        except KeyError:
            return tiktoken.get_encoding("o200k_base")
    except Exception:
        return None


def heuristic_tokens(text: str) -> int:
    return max(1, (len(text) + 3) // 4)


def count_prompt_tokens(model: str, messages: list[dict[str, str]]) -> tuple[int, bool]:
    """(token count, approximate?) of a chat prompt for an OpenAI model."""
    enc = _encoding(model)
    body = sum(_PER_MESSAGE_OVERHEAD for _ in messages) + 3
    if enc is None:
        return body + sum(heuristic_tokens(m["content"]) for m in messages), True
    return body + sum(len(enc.encode(m["content"])) for m in messages), False
