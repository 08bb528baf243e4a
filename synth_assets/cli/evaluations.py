"""`synth evaluations TARGET`: the training effect of experiments, one row per (experiment, evaluator)."""

from __future__ import annotations

from typing import Any

import typer

from synth_assets.cli.common import JsonOption, console, fail, lineage, print_json, print_table, store
from synth_assets.core.lineage.evaluations import evaluations_of, latest
from synth_assets.evaluation.effect import baseline_text, delta_text, value_text, verdict

KEYS = ("experiment", "dataset", "fingerprint", "evaluator", "evaluator_fingerprint", "kind", "metric", "status", "value", "low",
        "high", "baseline", "baseline_low", "baseline_high", "delta", "delta_low", "delta_high", "n", "seconds", "cost_usd",
        "run_id", "path", "error")


def target_fingerprints(target: str) -> list[str]:
    """The experiments of a batch (id or folder), or the one a view, shared path or fingerprint prefix names."""
    s = store()
    batch = target if target in s.batches() else s.relative_key(target)
    if batch in s.batches():
        members = lineage().batch_members(batch)
        if members:
            return [m["fingerprint"] for m in members]
    return [s.find(target)["fingerprint"]]


def effect_rows(fingerprints: list[str]) -> list[dict[str, Any]]:
    """The newest evaluation per (experiment, evaluator), in the experiments' order, with the interface's keys."""
    rows = latest(evaluations_of(lineage(), fingerprints)).values()
    return [{**{k: r.get(k) for k in KEYS if k in r}, "experiment": r["semantic_name"], "fingerprint": r["experiment_fingerprint"]}
            for r in rows]


def print_effect(fingerprints: list[str], title: str) -> None:
    rows = latest(evaluations_of(lineage(), fingerprints)).values()
    if not rows:
        console.print("no evaluations yet (add `evaluation: [{name: probe, kind: probe}]` to the config and run it)")
        return
    print_table(title, ["experiment", "evaluator", "metric", "value [95% CI]", "original [95% CI]", "Δ vs original [95% CI]", "n"],
                ([r["semantic_name"], r["evaluator"], r["metric"], value_text(r), baseline_text(r), delta_text(r), r.get("n") or ""]
                 for r in rows))
    for line in verdict(list(rows)):
        console.print(line)


def evaluations_command(target: str = typer.Argument(..., help="A batch, a view (batch path), a shared path or a fingerprint prefix."),
                        as_json: bool = JsonOption) -> None:
    """The training effect: each evaluator's metric with its 95 % interval, against the original rows of the same selection."""
    try:
        fingerprints = target_fingerprints(target)
    except (KeyError, ValueError) as exc:
        raise fail(exc.args[0]) from None
    if as_json:
        return print_json(effect_rows(fingerprints))
    print_effect(fingerprints, f"Training effect: {target}")


def compare_figures(fingerprints: list[str]) -> tuple[dict[str, dict[str, float | None]], dict[str, dict[str, str]]]:
    """For `synth compare`: per experiment `{evaluator: value, evaluator.delta: delta}` (sortable) and the same as text
    with intervals (shown)."""
    values: dict[str, dict[str, float | None]] = {fp: {} for fp in fingerprints}
    texts: dict[str, dict[str, str]] = {fp: {} for fp in fingerprints}
    for (fp, evaluator), row in latest(evaluations_of(lineage(), fingerprints)).items():
        values[fp].update({evaluator: row.get("value"), f"{evaluator}.delta": row.get("delta")})
        texts[fp].update({f"{evaluator} {row.get('metric')}": value_text(row), f"{evaluator} Δ vs original": delta_text(row)})
    return values, texts
