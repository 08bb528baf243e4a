"""A sweep inside a batch: the parameters its experiments differ in, and quality against them.

The swept parameters are the flattened registration parameters (`generation.temperature`, ...)
whose values differ between the batch's experiments of one dataset. The chart is a markdown table
(always readable) and, for a numeric parameter with two or more measured values, a PNG line chart
embedded in the markdown (the Dagster UI renders both).
"""

from __future__ import annotations

import io
import json
from typing import Any

from synth_assets.core.display import rounded
from synth_assets.core.parameters import differing, flatten
from synth_assets.lib.batch_reports.view import Member


CHART_METRICS = ("rewrite_rate", "estimated_correct_rate", "reviewed_precision", "acceptance_rate", "similarity_mean", "distinct_2")


def swept_parameters(members: list[Member]) -> list[str]:
    """Parameters whose values differ between experiments (prompt texts and hashes left out: not a sweep axis)."""
    varying = differing([flatten(m.params) for m in members])
    return [k for k in varying if not k.endswith(("prompt", "sha256", "examples"))]


def _value(member: Member, key: str) -> Any:
    return flatten(member.params).get(key)


def _sort_key(value: Any) -> tuple:
    return (0, value, "") if isinstance(value, (int, float)) else (1, 0, json.dumps(value, default=str))


def sweep_table(members: list[Member], keys: list[str]) -> str:
    """One row per experiment, ordered by the swept values: the values, then the quality figures."""
    ordered = sorted(members, key=lambda m: [_sort_key(_value(m, k)) for k in keys])
    head = ["experiment", *(k.split(".")[-1] for k in keys), *CHART_METRICS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for m in ordered:
        values = [json.dumps(_value(m, k), default=str) for k in keys]
        figures = ["n/a" if m.quality.get(c) is None else str(rounded(float(m.quality[c]))) for c in CHART_METRICS]
        lines.append("| " + " | ".join([m.semantic_name, *values, *figures]) + " |")
    return "\n".join(lines)


def sweep_png(members: list[Member], key: str) -> bytes | None:
    """Quality against one numeric swept parameter; None without two measured numeric points."""
    points = sorted((_value(m, key), m.quality) for m in members
                    if isinstance(_value(m, key), (int, float)) and not isinstance(_value(m, key), bool) and m.quality)
    if len({x for x, _ in points}) < 2:
        return None
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=80)
    for metric in CHART_METRICS:
        measured = [(x, q[metric]) for x, q in points if q.get(metric) is not None]
        if measured:
            ax.plot([x for x, _ in measured], [y for _, y in measured], marker="o", label=metric)
    ax.set_xlabel(key)
    ax.set_ylabel("value")
    ax.set_ylim(-0.02, 1.02)  # every charted figure is a rate or a share
    ax.set_title(f"Quality against {key.split('.')[-1]}")
    ax.legend(fontsize="small")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return buffer.getvalue()
