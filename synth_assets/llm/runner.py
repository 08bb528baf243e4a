"""Executes one batch of samples: cache lookup, bounded concurrency, rate limits, retries, durable writes."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from synth_assets.llm.backends.base import Completion
from synth_assets.llm.cache import ResponseCache
from synth_assets.llm.limits import RateLimits
from synth_assets.llm.pricing import PriceTable
from synth_assets.llm.progress import Progress
from synth_assets.llm.retry import RequestError, RetryPolicy, TransientError
from synth_assets.llm.types import ChatResponse, LLMUsage


@dataclass
class Sample:
    """One single-sample request (a request's `n` samples become `n` of these)."""

    request_index: int
    sample_index: int
    model: str
    messages: list[dict[str, str]]
    params: dict[str, Any]
    key: str | None = None  # cache key; None when the cache is bypassed
    budget_tokens: int = 0  # prompt estimate + max_tokens, for the tpm limiter


@dataclass
class RunSettings:
    backend: str
    max_in_flight: int
    max_retries: int
    retry_min_wait_s: float
    retry_max_wait_s: float


class BatchRunner:
    """Runs samples through a backend; returns responses in sample order and the call's usage."""

    def __init__(self, open_backend: Callable[[], Awaitable[Any]], settings: RunSettings, limits: RateLimits,
                 prices: PriceTable, cache: ResponseCache | None, progress: Progress):
        self.open_backend, self.backend = open_backend, None  # opened only when something is left to send
        self.settings, self.limits = settings, limits
        self.prices, self.cache, self.progress = prices, cache, progress
        self.retry = RetryPolicy(settings.max_retries, settings.retry_min_wait_s, settings.retry_max_wait_s)
        self.usage = LLMUsage()

    async def run(self, samples: list[Sample]) -> list[ChatResponse]:
        results: list[ChatResponse | None] = [None] * len(samples)
        pending = self._answer_from_cache(samples, results)
        primaries = list(pending)
        if primaries:
            self.backend = await self.open_backend()
        if hasattr(self.backend, "complete_batch"):
            await self._run_batched(samples, primaries, results)
        else:
            await self._run_workers(samples, primaries, results)
        for first, duplicates in pending.items():  # identical samples within this call: sent once
            for i in duplicates:
                results[i] = results[first].model_copy(update=_ids(samples[i], cache_hit=results[first].ok))
                self._count(results[i], retries=0, fresh=False)
        return results  # type: ignore[return-value]

    def _answer_from_cache(self, samples: list[Sample], results: list[ChatResponse | None]) -> dict[int, list[int]]:
        """Fill cache hits; return first-index -> duplicate indices of the samples still to send."""
        if self.cache is None:
            return {i: [] for i in range(len(samples))}
        stored = self.cache.get_many(s.key for s in samples)
        pending: dict[int, list[int]] = {}
        first_by_key: dict[str, int] = {}
        for i, s in enumerate(samples):
            hit = stored.get(s.key)
            if hit is not None:
                results[i] = ChatResponse(**hit, cache_hit=True, request_index=s.request_index, sample_index=s.sample_index)
                self._count(results[i], retries=0, fresh=False)
            elif s.key in first_by_key:
                pending[first_by_key[s.key]].append(i)
            else:
                first_by_key[s.key] = i
                pending[i] = []
        return pending

    async def _run_workers(self, samples: list[Sample], todo: list[int], results: list[ChatResponse | None]) -> None:
        queue = deque(todo)

        async def worker() -> None:
            while queue:
                i = queue.popleft()
                results[i] = await self._send(samples[i])

        await asyncio.gather(*(worker() for _ in range(min(self.settings.max_in_flight, len(todo)))))

    async def _send(self, s: Sample) -> ChatResponse:
        attempts = 0

        async def attempt() -> Completion:
            nonlocal attempts
            attempts += 1
            await self.limits.acquire(s.budget_tokens)
            return await self.backend.complete(s.model, s.messages, s.params)

        started = time.monotonic()
        try:
            completion = await self.retry.call(attempt)
        except (TransientError, RequestError) as e:
            return self._finish(s, None, str(e), time.monotonic() - started, attempts - 1)
        except Exception as e:  # a bug or unexpected transport error fails this sample only
            return self._finish(s, None, f"{type(e).__name__}: {e}", time.monotonic() - started, attempts - 1)
        return self._finish(s, completion, None, time.monotonic() - started, attempts - 1)

    async def _run_batched(self, samples: list[Sample], todo: list[int], results: list[ChatResponse | None]) -> None:
        by_model: dict[str, list[int]] = {}
        for i in todo:
            by_model.setdefault(samples[i].model, []).append(i)
        for model, group in by_model.items():
            started = time.monotonic()
            try:
                completions = await self.backend.complete_batch(model, [(samples[i].messages, samples[i].params) for i in group])
                errors: list[str | None] = [None] * len(group)
            except Exception as e:  # the engine failed the whole group
                completions, errors = [None] * len(group), [f"{type(e).__name__}: {e}"] * len(group)
            latency = (time.monotonic() - started) / len(group)
            for i, completion, error in zip(group, completions, errors):
                results[i] = self._finish(samples[i], completion, error, latency, 0)

    def _finish(self, s: Sample, c: Completion | None, error: str | None, latency_s: float, retries: int) -> ChatResponse:
        """Build the response, persist it at once if it succeeded, and account for it."""
        fields = {"backend": self.settings.backend, "model": s.model, "latency_s": latency_s}
        if c is None:
            response = ChatResponse(text=None, error=error, **fields, **_ids(s))
        else:
            fields.update(text=c.text, finish_reason=c.finish_reason, prompt_tokens=c.prompt_tokens,
                          completion_tokens=c.completion_tokens, logprobs=c.logprobs)
            if self.cache is not None:
                self.cache.put(s.key, fields)
            response = ChatResponse(**fields, **_ids(s))
        self._count(response, retries=retries, fresh=True)
        return response

    def _count(self, r: ChatResponse, *, retries: int, fresh: bool) -> None:
        u = self.usage
        u.samples += 1
        u.retries += retries
        u.cache_hits += r.cache_hit
        u.failures += not r.ok
        if fresh and r.ok:
            u.prompt_tokens += r.prompt_tokens
            u.completion_tokens += r.completion_tokens
            u.cost_usd += self.prices.cost(r.model, r.prompt_tokens, r.completion_tokens)
        self.progress.advance(cache_hit=r.cache_hit, failed=not r.ok, retries=retries)


def _ids(s: Sample, **extra: Any) -> dict[str, Any]:
    return {"request_index": s.request_index, "sample_index": s.sample_index, **extra}
