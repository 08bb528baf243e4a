"""The training effect as people read it: one table row per (experiment, evaluator) and an honest verdict.

Used by `synth evaluations`, `synth compare`, the batch view in the UI, the batch README and the
dataset card. The verdict never reads more into the numbers than their intervals allow: when the
experiments' 95 % intervals overlap it says the sweep shows no difference.
"""

from __future__ import annotations

from typing import Any


def number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def signed(value: Any) -> str:
    return "n/a" if value is None else f"{value:+.3f}"


def interval(low: Any, high: Any, sign: bool = False) -> str:
    if low is None or high is None:
        return ""
    fmt = signed if sign else number
    return f"[{fmt(low)}, {fmt(high)}]"


def value_text(row: dict[str, Any]) -> str:
    if row.get("status") == "failed":
        return "failed"
    return f"{number(row.get('value'))} {interval(row.get('low'), row.get('high'))}".strip()


def delta_text(row: dict[str, Any]) -> str:
    if row.get("status") == "failed" or row.get("delta") is None:
        return "n/a"
    return f"{signed(row['delta'])} {interval(row.get('delta_low'), row.get('delta_high'), sign=True)}".strip()


def baseline_text(row: dict[str, Any]) -> str:
    if row.get("baseline") is None:
        return "n/a"
    return f"{number(row['baseline'])} {interval(row.get('baseline_low'), row.get('baseline_high'))}".strip()


def evaluation_markdown(rows: list[dict[str, Any]], reused: list[bool] | None = None) -> str:
    """| experiment | evaluator | metric | value [95 % CI] | original | Δ vs original [95 % CI] | n | (reused) |"""
    if not rows:
        return "_no evaluations (add `evaluation: [{name: probe, kind: probe}]` to the experiment config)_"
    head = ["experiment", "evaluator", "metric", "value [95% CI]", "original [95% CI]", "Δ vs original [95% CI]", "n"]
    head += ["data"] if reused is not None else []
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, row in enumerate(rows):
        cells = [row.get("semantic_name") or row["experiment_fingerprint"][:12], row["evaluator"], row.get("metric") or "",
                 value_text(row), baseline_text(row), delta_text(row), str(row.get("n") or "")]
        cells += (["reused" if reused[i] else "new"] if reused is not None else [])
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _overlap(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["low"] <= b["high"] and b["low"] <= a["high"]


def verdict(rows: list[dict[str, Any]]) -> list[str]:
    """One sentence per evaluator over the experiments' rows (successful ones with intervals)."""
    out = []
    for evaluator in dict.fromkeys(r["evaluator"] for r in rows):
        measured = [r for r in rows if r["evaluator"] == evaluator and r.get("status") != "failed" and r.get("low") is not None]
        if not measured:
            continue
        metric = measured[0].get("metric") or "metric"
        best = max(measured, key=lambda r: r["value"])
        beaten = [r for r in measured if r is not best and not _overlap(r, best)]
        vs_original = [r for r in measured if r.get("delta_low") is not None and (r["delta_low"] > 0 or r["delta_high"] < 0)]
        if len(measured) > 1 and not beaten:
            text = (f"{evaluator}: the {metric} intervals of all {len(measured)} experiments overlap: "
                    f"the sweep shows no difference")
        elif len(measured) > 1:
            text = (f"{evaluator}: {best.get('semantic_name')} ({number(best['value'])}) is above "
                    f"{', '.join(r.get('semantic_name') or '' for r in beaten)} (95 % intervals apart)")
        else:
            text = f"{evaluator}: {best.get('semantic_name')} {metric} {value_text(best)}"
        if vs_original:
            text += "; differs from the original data: " + ", ".join(f"{r.get('semantic_name')} {delta_text(r)}" for r in vs_original)
        elif any(r.get("delta_low") is not None for r in measured):
            text += "; no experiment differs from the original data (every Δ interval contains 0)"
        out.append(text + ".")
    return out
