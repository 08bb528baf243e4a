"""The metadata of a batch's materialization: what the UI shows when a batch is selected."""

from __future__ import annotations

import base64
from typing import Any

from dagster import MetadataValue

from synth_assets.core.display import cell, rounded, usd
from synth_assets.core.fingerprint import short
from synth_assets.lib.batch_reports.effect import effect_chart_markdown, effect_markdown
from synth_assets.lib.batch_reports.sweep import sweep_png, sweep_table, swept_parameters
from synth_assets.lib.batch_reports.view import BatchView, Member
from synth_assets.quality.figures import INTERVALS, notes_markdown, shown_figure
from synth_assets.quality.metrics import SHOWN_FIGURES


QUALITY_COLUMNS = ("rows", *SHOWN_FIGURES)
DIGEST_KEY = "view_digest"


def _state(m: Member) -> str:
    if m.status == "failed" and m.failure:
        first = (m.failure.get("error") or "").splitlines()[0] if m.failure.get("error") else ""
        return f"failed in {m.failure.get('stage')}: {first}"
    return m.status


def experiments_markdown(view: BatchView) -> str:
    lines = ["| dataset | experiment | fingerprint | data | status | cost $ | view |", "|---|---|---|---|---|---|---|"]
    for m in view.members:
        data = f"reused (origin {m.origin_batch})" if m.reused else "new"
        lines.append(f"| {m.dataset} | {m.semantic_name} | {short(m.fingerprint)} | {data} | {cell(_state(m), 100)} | "
                     f"{usd(m.usage.totals['cost_usd'])} | {m.view_key} |")
    return "\n".join(lines)


def quality_markdown(view: BatchView) -> str:
    measured = [m for m in view.members if m.quality]
    if not measured:
        return "_no quality figures yet (published experiments have them)_"
    lines = ["| experiment | " + " | ".join(QUALITY_COLUMNS) + " |", "|" + "---|" * (len(QUALITY_COLUMNS) + 1)]
    for m in measured:
        values = [shown_figure(m.quality, c, 4) if c in INTERVALS else "n/a" if m.quality.get(c) is None else str(rounded(m.quality[c]))
                  for c in QUALITY_COLUMNS]
        lines.append(f"| {m.semantic_name} | " + " | ".join(values) + " |")
    return "\n".join(lines)


def sweep_markdown(view: BatchView) -> tuple[str | None, str | None]:
    """(table, chart) per dataset with experiments that differ in parameters: quality against the swept ones.
    The chart is a separate entry: the UI shows long markdown (an inline PNG) behind a button, the table at once."""
    tables, charts = [], []
    for dataset in dict.fromkeys(m.dataset for m in view.members):
        members = [m for m in view.members if m.dataset == dataset]
        keys = swept_parameters(members) if len(members) > 1 else []
        if not keys:
            continue
        tables.append(f"**{dataset}**: swept {', '.join(keys)}\n\n{sweep_table(members, keys)}")
        png = sweep_png(members, keys[0])
        if png is not None:
            charts.append(f"**{dataset}**\n\n![quality against {keys[0]}](data:image/png;base64,{base64.b64encode(png).decode('ascii')})")
    return "\n\n".join(tables) or None, "\n\n".join(charts) or None


def batch_metadata(view: BatchView) -> dict[str, Any]:
    """Experiments, quality, sweep chart, cost and the view folder (relative to the store root, given once)."""
    costs = view.costs()
    table, chart = sweep_markdown(view)
    effect, effect_chart = effect_markdown(view), effect_chart_markdown(view)
    metadata: dict[str, Any] = {
        **view.counts(),
        "experiments_table": MetadataValue.md(experiments_markdown(view)),
        "quality": MetadataValue.md(quality_markdown(view)),
        "figure_notes": MetadataValue.md(notes_markdown()),  # apart: the UI shows long markdown behind a button
        **({"sweep": MetadataValue.md(table)} if table else {}),
        **({"sweep_chart": MetadataValue.md(chart)} if chart else {}),
        **({"training_effect": MetadataValue.md(effect)} if effect else {}),
        **({"training_effect_chart": MetadataValue.md(effect_chart)} if effect_chart else {}),
        "cost_usd": rounded(float(costs["cost_usd"])),
        "saved_by_reuse_usd": rounded(float(costs["saved_by_reuse_usd"])),
        "saved_by_cache_usd": rounded(float(costs["saved_by_cache_usd"])),
        "prompt_tokens": int(costs["prompt_tokens"]),
        "completion_tokens": int(costs["completion_tokens"]),
        "llm_calls": int(costs["llm_calls"]),
        "view_folder": MetadataValue.path(view.batch_id),
        "store_root": MetadataValue.path(view.root_uri),
        "purpose": view.purpose or "",
        DIGEST_KEY: view.digest(),
    }
    if view.description:
        metadata["description"] = view.description
    return metadata
