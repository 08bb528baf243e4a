"""What the LLM request cache saved a stage: its cached answers priced as if they had been sent.

`LLMUsage` counts tokens and cost of requests actually sent; a cached answer is free, but it still
carries the tokens it was first paid for. `SavingsMeter` wraps a stage's metered `chat` and prices
those answers with the same price table (`synth_assets/llm/pricing.py`; only the openai backend is
priced, as in the LLM layer). The figures are stored beside the stage's rows (`llm_usage.json`), so
every experiment using the stage can show them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from synth_assets.core.store import Store
from synth_assets.llm.pricing import load_prices
from synth_assets.llm.types import ChatResponse


SAVINGS_FILE = "llm_usage.json"  # beside a stage's data.jsonl: its usage, cached answers included


@dataclass
class CacheSavings:
    cached_calls: int = 0
    cached_prompt_tokens: int = 0
    cached_completion_tokens: int = 0
    saved_usd: float = 0.0


class SavingsMeter:
    """`run.chat` that also prices the answers the cache gave; everything else is the wrapped meter's."""

    def __init__(self, meter: Any, prices_path: str | None):
        self.meter, self.prices = meter, load_prices(prices_path)
        self.savings = CacheSavings()

    def __call__(self, *args: Any, **kwargs: Any) -> list[ChatResponse]:
        responses = self.meter(*args, **kwargs)
        for r in responses:
            if r.cache_hit and r.ok:
                self.savings.cached_calls += 1
                self.savings.cached_prompt_tokens += r.prompt_tokens
                self.savings.cached_completion_tokens += r.completion_tokens
                if r.backend == "openai":
                    self.savings.saved_usd += self.prices.cost(r.model, r.prompt_tokens, r.completion_tokens)
        return responses

    def __getattr__(self, name: str) -> Any:
        return getattr(self.meter, name)


def savings_file(usage: dict[str, Any], model: tuple[str, str] | None) -> bytes:
    """The content of a stage's `llm_usage.json`: its usage (cache savings included) and model."""
    backend, name = model or ("", "")
    return json.dumps({**usage, "backend": backend, "model": name}, indent=2).encode()


def stage_savings(store: Store, dataset: str, stage: str, stage_fp: str) -> dict[str, Any]:
    """A stored stage's cache savings ({} for stages without LLM calls or made before they were recorded)."""
    key = f"{store.files_key_of(store.stage_key(dataset, stage, stage_fp))}/{SAVINGS_FILE}"
    try:
        return json.loads(store.read_bytes(key))
    except FileNotFoundError:
        return {}
