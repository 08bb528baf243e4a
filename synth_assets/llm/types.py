"""Request / response / usage models of the LLM layer."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ChatRequest(BaseModel):
    """One chat completion request; `n` samples are sent as `n` single requests (seed + sample_index)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    messages: list[dict[str, str]]
    model: str | None = None
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(256, gt=0)
    frequency_penalty: float = Field(0.0, ge=-2.0, le=2.0)
    presence_penalty: float = Field(0.0, ge=-2.0, le=2.0)
    seed: int | None = None
    stop: list[str] | None = None
    response_format: dict[str, Any] | None = None
    n: int = Field(1, ge=1)
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=1, le=20, description="with logprobs: the most likely tokens at each position")

    @field_validator("messages")
    @classmethod
    def _non_empty(cls, messages: list[dict[str, str]]) -> list[dict[str, str]]:
        if not messages:
            raise ValueError("messages must not be empty")
        for m in messages:
            if "role" not in m or "content" not in m:
                raise ValueError(f"each message needs 'role' and 'content', got keys {sorted(m)}")
        return messages

    def sample_params(self, sample_index: int) -> dict[str, Any]:
        """Sampling parameters of one sample (n=1), with the derived seed (`top_logprobs` only when asked for, so
        that the cache keys of other requests stay as they were)."""
        params = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "max_tokens": self.max_tokens,
            "frequency_penalty": self.frequency_penalty,
            "presence_penalty": self.presence_penalty,
            "seed": None if self.seed is None else self.seed + sample_index,
            "stop": self.stop,
            "response_format": self.response_format,
            "logprobs": self.logprobs,
        }
        if self.logprobs and self.top_logprobs:
            params["top_logprobs"] = self.top_logprobs
        return params


class ChatResponse(BaseModel):
    """The outcome of one sample of one request."""

    text: str | None
    finish_reason: str | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    latency_s: float = 0.0
    backend: str
    model: str
    cache_hit: bool = False
    error: str | None = None
    request_index: int
    sample_index: int = 0
    logprobs: list[dict[str, Any]] | None = None  # per token: {"token", "logprob", "top_logprobs"?: [{"token", "logprob"}]}

    @property
    def ok(self) -> bool:
        return self.error is None


class LLMUsage(BaseModel):
    """Totals of one call. Token counts and cost cover requests actually sent (cache hits are free)."""

    requests: int = 0
    samples: int = 0
    cache_hits: int = 0
    failures: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    wall_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()

    def __add__(self, other: "LLMUsage") -> "LLMUsage":
        """The totals of two calls."""
        return LLMUsage(**{k: getattr(self, k) + getattr(other, k) for k in LLMUsage.model_fields})


class ChatBatchResult(BaseModel):
    """Responses ordered by request then sample, plus the call's usage."""

    responses: list[ChatResponse]
    usage: LLMUsage

    def by_request(self) -> list[list[ChatResponse]]:
        grouped: dict[int, list[ChatResponse]] = {}
        for r in self.responses:
            grouped.setdefault(r.request_index, []).append(r)
        return [grouped[i] for i in sorted(grouped)]


class CostEstimate(BaseModel):
    """Tokens and cost of a batch before sending it (completion tokens at their max_tokens bound)."""

    prompt_tokens: int
    completion_tokens_max: int
    cost_usd: float
    approximate: bool
