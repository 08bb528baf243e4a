"""What the published asset says about its experiment, whatever the recipe: where it comes from, who uses
it and what all of its stages cost (the recipe adds its own figures, e.g. rephrase's quality)."""

from __future__ import annotations

from typing import Any

from synth_assets.core.display import rounded
from synth_assets.core.store import Store
from synth_assets.lib.usage import ExperimentUsage, usage_markdown
from synth_assets.recipes.base import FilePath, Markdown


def batches_line(record: dict[str, Any], batches: list[str]) -> str:
    """`batch_a (origin), batch_b (reuses it)`."""
    origin = record["origin_batch"]
    names = [origin] + [b for b in batches if b != origin]
    return ", ".join(f"{b} (origin)" if b == origin else f"{b} (reuses it)" for b in dict.fromkeys(names))


def story_metadata(store: Store, record: dict[str, Any], usage: ExperimentUsage, batches: list[str]) -> dict[str, Any]:
    """Origin and the batches using the experiment, tokens, cost and cache savings of all stages (rounded), the shared folder relative to the root."""
    totals = usage.totals
    return {
        "origin_batch": record["origin_batch"],
        "batches": batches_line(record, batches),
        "shared_path": FilePath(store.experiment_key(record["dataset"], record["semantic_name"])),
        "llm_calls": int(totals["requests"]),
        "cached_calls": int(totals["cache_hits"]),
        "prompt_tokens": int(totals["prompt_tokens"]),
        "completion_tokens": int(totals["completion_tokens"]),
        "cost_usd": rounded(float(totals["cost_usd"])),
        "saved_by_cache_usd": rounded(float(totals["saved_usd"])),
        "cost": Markdown(usage_markdown(usage)),
    }
