"""Lineage of evaluations: one row per (experiment, evaluator, evaluator fingerprint), its metric, interval,
difference against the original rows, cost and the run that measured it (a failed attempt: status `failed`,
no value). A reused evaluation keeps its row, and so its run id."""

from __future__ import annotations

from typing import Any

from synth_assets.core.lineage.api import Lineage, _replace
from synth_assets.core.lineage.values import rows as _rows
from synth_assets.core.lineage.values import utc as _utc

COLUMNS = ("experiment_fingerprint", "dataset", "semantic_name", "evaluator", "evaluator_fingerprint", "kind", "metric", "status",
           "value", "low", "high", "baseline", "baseline_low", "baseline_high", "delta", "delta_low", "delta_high", "n",
           "seconds", "cost_usd", "run_id", "path", "error")
EXPORTED = ("evaluator", "evaluator_fingerprint", "kind", "metric", "status", "value", "low", "high", "baseline", "baseline_low",
            "baseline_high", "delta", "delta_low", "delta_high", "n", "run_id")  # what a dataset card records
_KEY = ("experiment_fingerprint", "evaluator", "evaluator_fingerprint")


def record_evaluation(lineage: Lineage, row: dict[str, Any]) -> None:
    """Insert or replace the row of one evaluation (a success replaces the failure of an earlier attempt)."""
    values = {c: row.get(c) for c in COLUMNS} | {"recorded_at": _utc(None)}
    lineage._write(lambda con: _replace(con, "evaluations", {k: values[k] for k in _KEY}, values))


def evaluation_row(lineage: Lineage, experiment: str, evaluator: str, evaluator_fingerprint: str) -> dict[str, Any] | None:
    found = lineage._read(lambda con: _rows(con.execute(
        "SELECT * FROM evaluations WHERE experiment_fingerprint = ? AND evaluator = ? AND evaluator_fingerprint = ?",
        [experiment, evaluator, evaluator_fingerprint])))
    return found[0] if found else None


def evaluations_of(lineage: Lineage, fingerprints: list[str]) -> list[dict[str, Any]]:
    """Every evaluation of these experiments, by experiment (in the order given), evaluator, newest first."""
    found = lineage._read(lambda con: _rows(con.execute(
        "SELECT * FROM evaluations WHERE list_contains(?, experiment_fingerprint) ORDER BY evaluator, recorded_at DESC",
        [list(fingerprints)])))
    order = {fp: i for i, fp in enumerate(fingerprints)}
    return sorted(found, key=lambda r: order[r["experiment_fingerprint"]])


def latest(rows: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(experiment fingerprint, evaluator) -> its newest row: what compare, the batch view and the card show."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        out.setdefault((row["experiment_fingerprint"], row["evaluator"]), row)
    return out
