"""Per-model token prices from a user-editable YAML table."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

DEFAULT_PRICES_PATH = Path(__file__).with_name("prices.yaml")


@dataclass(frozen=True)
class PriceTable:
    models: dict[str, tuple[float, float]]  # model -> (input, output) USD per 1M tokens
    batch_discount: float = 0.5

    def price(self, model: str) -> tuple[float, float]:
        """(input, output) USD per 1M tokens; exact name, else longest matching prefix, else free."""
        if model in self.models:
            return self.models[model]
        prefixes = [m for m in self.models if model.startswith(m)]
        return self.models[max(prefixes, key=len)] if prefixes else (0.0, 0.0)

    def cost(self, model: str, prompt_tokens: int, completion_tokens: int, *, batch: bool = False) -> float:
        price_in, price_out = self.price(model)
        usd = (prompt_tokens * price_in + completion_tokens * price_out) / 1e6
        return usd * self.batch_discount if batch else usd


FREE = PriceTable(models={})


@lru_cache(maxsize=8)
def load_prices(path: str | None = None) -> PriceTable:
    """Parse a price YAML (default: the packaged `prices.yaml`)."""
    raw = yaml.safe_load(Path(path or DEFAULT_PRICES_PATH).read_text()) or {}
    models = {name: (float(p["input"]), float(p["output"])) for name, p in (raw.get("models") or {}).items()}
    return PriceTable(models=models, batch_discount=float(raw.get("batch_discount", 0.5)))
