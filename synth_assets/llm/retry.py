"""Retry policy: exponential backoff with full jitter on transient errors, honoring Retry-After (tenacity)."""

from __future__ import annotations

import asyncio
from typing import Awaitable, Callable, TypeVar

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)
from tenacity.wait import wait_random_exponential

T = TypeVar("T")


class TransientError(Exception):
    """Retryable failure (429, 5xx, timeout, connection error); `retry_after` in seconds if the server said so."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class RequestError(Exception):
    """Permanent failure of one request (other 4xx, malformed body)."""


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (delta-seconds form; HTTP dates are ignored)."""
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class RetryPolicy:
    """`max_retries` retries after the first attempt; waits `Retry-After` if given (capped), else backoff."""

    def __init__(self, max_retries: int, min_wait_s: float, max_wait_s: float):
        self.max_retries, self.max_wait_s = max_retries, max_wait_s
        self._backoff = wait_random_exponential(multiplier=min_wait_s, max=max_wait_s)

    def _delay(self, retry_number: int, exc: BaseException | None) -> float:
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            return min(exc.retry_after, self.max_wait_s)
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = retry_number
        return self._backoff(state)

    def _wait(self, state: RetryCallState) -> float:
        return self._delay(state.attempt_number + 1, state.outcome.exception() if state.outcome else None)

    async def call(self, fn: Callable[[], Awaitable[T]]) -> T:
        """`fn()` with retries. The first attempt runs bare (no per-call tenacity cost on the happy path);
        after a transient error, tenacity drives the remaining attempts. The last error is re-raised."""
        try:
            return await fn()
        except TransientError as first:
            if self.max_retries == 0:
                raise
            await asyncio.sleep(self._delay(1, first))
        async for attempt in AsyncRetrying(
            retry=retry_if_exception_type(TransientError),
            stop=stop_after_attempt(self.max_retries),
            wait=self._wait,
            reraise=True,
        ):
            with attempt:
                result = await fn()
        return result
