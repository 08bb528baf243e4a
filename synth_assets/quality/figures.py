"""What each headline figure measures, and how it is shown with its interval.

Acceptance is not correctness: `rewrite_rate` counts what the validators accepted; `estimated_correct_rate`
discounts it by how often those validators are right on labelled pairs; `reviewed_precision` is what
people said of a random sample of the experiment's own rewrites. They are always shown side by side.
"""

from __future__ import annotations

from typing import Any

INTERVALS = {"estimated_correct_rate": ("estimated_correct_low", "estimated_correct_high"),
             "reviewed_precision": ("reviewed_low", "reviewed_high"),
             "validator_precision": ("validator_precision_low", "validator_precision_high")}

NOTES = {
    "rewrite_rate": "accepted rewrites per row: fields the validators accepted / fields to rewrite (acceptance, not "
                    "correctness)",
    "estimated_correct_rate": "rewrite_rate × the validators' precision on labelled calibration pairs (95 % interval "
                              "from the precision's Wilson interval); n/a where the validators were not measured",
    "reviewed_precision": "share of a random sample of this experiment's rewrites that people labelled \"same\" "
                          "(synth review), with its 95 % Wilson interval",
    "reviewed_n": "rewrites people reviewed (synth review)",
    "validator_precision": "share of calibration pairs accepted by these validators that are labelled \"same\"",
}


def shown(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)


def shown_figure(figures: dict[str, Any], key: str, digits: int = 4) -> str:
    """A figure as text, with its interval where it has one: `0.4100 [0.3000, 0.5200]`; `n/a` when absent."""
    value = figures.get(key)
    if value is None or key not in INTERVALS:
        return shown(value) if digits == 4 or not isinstance(value, float) else f"{value:.{digits}f}"
    low, high = (figures.get(k) for k in INTERVALS[key])
    interval = f" [{low:.{digits}f}, {high:.{digits}f}]" if low is not None and high is not None else ""
    return f"{value:.{digits}f}{interval}"


def notes_markdown(keys: tuple[str, ...] = ("rewrite_rate", "estimated_correct_rate", "reviewed_precision")) -> str:
    """A short bullet list saying what each figure measures."""
    return "\n".join(f"- `{k}`: {NOTES[k]}" for k in keys) + "\n"


def current_quality(fingerprint: str, metadata: dict[str, Any], lineage: Any | None) -> dict[str, Any] | None:
    """An experiment's quality figures as they stand: lineage's (reviews since publishing included), else its
    `experiment_metadata.json` section."""
    recorded = lineage.quality([fingerprint]).get(fingerprint) if lineage is not None else None
    return recorded or metadata.get("quality") or (metadata.get("summary") or {}).get("quality")  # a run keeps it in its summary
