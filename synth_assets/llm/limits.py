"""Request-rate and token-rate limits (aiolimiter)."""

from __future__ import annotations

from aiolimiter import AsyncLimiter


class RateLimits:
    """`rpm` / `tpm` budgets; `acquire` waits until one more request of `tokens` fits.

    The rpm bucket holds at most a tenth of a second's worth of requests (at least one), so no
    window, however short, sees a burst above the configured rate. The tpm bucket holds one second.
    """

    def __init__(self, rpm: int | None = None, tpm: int | None = None):
        self._rpm = self._tpm = None
        if rpm:
            burst = max(1, rpm // 600)
            self._rpm = AsyncLimiter(burst, burst * 60.0 / rpm)
        if tpm:
            burst = max(1, tpm // 60)
            self._tpm = AsyncLimiter(burst, burst * 60.0 / tpm)

    async def acquire(self, tokens: int) -> None:
        if self._rpm is not None:
            await self._rpm.acquire()
        if self._tpm is not None:
            await self._tpm.acquire(min(max(tokens, 1), self._tpm.max_rate))
