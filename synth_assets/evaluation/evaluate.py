"""Evaluate one published experiment with every evaluator registered for it: reused when stored, else run.

Per evaluator (fingerprint `fp` over its parameters and code version): the store's
`evaluations/{name}/{fp16}/metrics.json` next to the experiment is the result; present, it is reused
(no trainer runs, its lineage row and run id stay). Else, under the store's claim on that folder (one
worker per evaluation across machines), the evaluator runs on the experiment's published train split
and, with `baseline` (default), on the original rows of the same selection (stored once per source
selection, shared by a sweep's experiments), both scored on the dataset's validation split. The
result: the metric with its 95 % interval, the baseline's, and the difference with its interval
(paired bootstrap over validation rows when the evaluator gives per-row scores, as the probe does).
A failure is stored as `failure.json` with the logs, recorded in lineage as `failed` with no value,
and raised after the other evaluators ran.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from synth_assets.core.lineage import Lineage
from synth_assets.core.lineage.evaluations import evaluation_row, record_evaluation
from synth_assets.core.records import select_records, training_row
from synth_assets.core.store import Store, jsonl_bytes
from synth_assets.evaluation.runners import EvaluationFailed, Outcome, Side, run
from synth_assets.evaluation.stats import Estimate, bootstrap_mean, paired_difference
from synth_assets.evaluation.stored import METRICS, baseline_key, read_json, registered_specs, result_key, write_failure, write_result

Log = Callable[[str], None]
Load = Callable[[dict[str, Any], Store], Any]  # a registration -> its experiment (`Recipe.load`)


class EvaluationsFailed(RuntimeError):
    """One or more evaluators failed (each recorded as such); the others' results are stored."""


def _estimate(spec: Any, outcome: Outcome, resamples: int) -> Estimate:
    value = float(outcome.metrics[spec.metric])
    if outcome.correct is not None and spec.metric == "accuracy":
        return bootstrap_mean(outcome.correct, resamples)
    low, high = outcome.metrics.get(f"{spec.metric}_low"), outcome.metrics.get(f"{spec.metric}_high")
    n = int(outcome.metrics.get("n") or (len(outcome.correct) if outcome.correct else 0))
    return Estimate(value, float(low) if low is not None else None, float(high) if high is not None else None, n)


class ExperimentEvaluator:
    """Evaluations of one registration (a rephrase experiment over a catalog dataset)."""

    def __init__(self, store: Store, lineage: Lineage, record: dict[str, Any], *, load: Load, run_id: str, log: Log = print):
        self.store, self.lineage, self.record, self.run_id, self.log = store, lineage, record, run_id, log
        self.exp = load(record, store)
        self.entry = self.exp.entry
        if "validation" not in self.entry.splits or self.exp.config.dataset.split == "validation":
            raise EvaluationFailed(f"dataset {self.entry.name} has no validation split apart from the training rows: nothing to score on")
        self.files = store.files_key(record["dataset"], record["semantic_name"])
        self.cwd = str(Path(record["source_file"]).parent) if record.get("source_file") and Path(record["source_file"]).is_file() else None

    # --- inputs -------------------------------------------------------------------------------------
    def _validation(self) -> tuple[list[dict[str, Any]], str]:
        published = f"{self.files}/{self.entry.name}/{self.entry.name.lower()}_validation.jsonl"
        uri = self.store.uri(published) if read_bytes_exists(self.store, published) else str(self.entry.split_path("validation"))
        return self.entry.rows("validation"), uri

    def experiment_side(self) -> Side:
        key = self.store.published_data_file(self.record["dataset"], self.record["semantic_name"])
        validation, validation_uri = self._validation()
        return Side(self.store.read_jsonl(key), validation, self.store.uri(key), validation_uri)

    def original_side(self, workdir: Path) -> Side:
        rows = [training_row(r) for r in select_records(self.exp)]
        path = workdir / "original_train.jsonl"
        path.write_bytes(jsonl_bytes(rows))
        validation, validation_uri = self._validation()
        return Side(rows, validation, str(path), validation_uri)

    # --- one evaluator ------------------------------------------------------------------------------
    def _run_side(self, spec: Any, side_of: Callable[[Path], Side], label: str) -> Outcome:
        workdir = Path(tempfile.mkdtemp(prefix="synth-eval-"))
        try:
            self.log(f"evaluation {spec.name} ({spec.kind}, {spec.fingerprint[:12]}) on {label}")
            return run(spec, self.entry, side_of(workdir), workdir / "out", spec.fingerprint, cwd=self.cwd)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    def _baseline(self, spec: Any) -> dict[str, Any]:
        """The evaluator on the original rows of the selection: stored once, shared by every experiment over them."""
        prefix = baseline_key(self.record, spec)
        lease = self.store.claim(prefix, lambda: read_json(self.store, f"{prefix}/{METRICS}") is not None, on_wait=self.log)
        if lease is None:
            return read_json(self.store, f"{prefix}/{METRICS}")
        with lease:
            try:
                outcome = self._run_side(spec, self.original_side, "the original rows")
            except EvaluationFailed as exc:
                write_failure(self.store, prefix, {"error": str(exc), "run_id": self.run_id}, exc.stdout, exc.stderr)
                raise EvaluationFailed(f"baseline (original rows): {exc}", exc.stdout, exc.stderr) from None
            estimate = _estimate(spec, outcome, getattr(spec, "bootstrap", 1000))
            doc = {**estimate.to_dict(), "metrics": outcome.metrics, "correct": outcome.correct, "seconds": outcome.seconds,
                   "cost_usd": outcome.cost_usd, "run_id": self.run_id, "evaluator_fingerprint": spec.fingerprint}
            write_result(self.store, prefix, doc, outcome.stdout, outcome.stderr)
            return doc

    def _row(self, spec: Any, **values: Any) -> dict[str, Any]:
        return {"experiment_fingerprint": self.record["fingerprint"], "dataset": self.record["dataset"],
                "semantic_name": self.record["semantic_name"], "evaluator": spec.name, "evaluator_fingerprint": spec.fingerprint,
                "kind": spec.kind, "metric": spec.metric, "run_id": self.run_id,
                "path": self.store.uri(result_key(self.store, self.record, spec)), **values}

    def evaluate(self, spec: Any) -> tuple[dict[str, Any], bool]:
        """(the evaluation's row, reused?) — raises EvaluationFailed after recording a failure."""
        prefix = result_key(self.store, self.record, spec)
        lease = self.store.claim(prefix, lambda: read_json(self.store, f"{prefix}/{METRICS}") is not None, on_wait=self.log)
        if lease is None:
            doc = read_json(self.store, f"{prefix}/{METRICS}")
            if evaluation_row(self.lineage, self.record["fingerprint"], spec.name, spec.fingerprint) is None:
                record_evaluation(self.lineage, doc)  # lineage rebuilt or lost: the stored result, with its own run id
            self.log(f"evaluation {spec.name} {spec.fingerprint[:12]} is in the store: reused, no trainer run")
            return doc, True
        with lease:
            try:
                baseline = self._baseline(spec) if spec.baseline else None
                outcome = self._run_side(spec, lambda _: self.experiment_side(), "the experiment's train split")
            except EvaluationFailed as exc:
                row = self._row(spec, status="failed", error=str(exc)[:4000])
                write_failure(self.store, prefix, {**row, "failed_at": dt.datetime.now(dt.timezone.utc).isoformat()},
                              exc.stdout, exc.stderr)
                record_evaluation(self.lineage, row)
                raise
            estimate = _estimate(spec, outcome, getattr(spec, "bootstrap", 1000))
            row = self._row(spec, status="ok", value=estimate.value, low=estimate.low, high=estimate.high, n=estimate.n,
                            seconds=outcome.seconds, cost_usd=outcome.cost_usd)
            if baseline is not None:
                row.update(baseline=baseline["value"], baseline_low=baseline["low"], baseline_high=baseline["high"])
                if outcome.correct is not None and baseline.get("correct") is not None and spec.metric == "accuracy":
                    delta = paired_difference(outcome.correct, baseline["correct"], getattr(spec, "bootstrap", 1000))
                    row.update(delta=delta.value, delta_low=delta.low, delta_high=delta.high)
                else:
                    row.update(delta=estimate.value - baseline["value"])
            doc = {**row, "metrics": outcome.metrics, "correct": outcome.correct, "spec": spec.model_dump(mode="json"),
                   "recorded_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
            write_result(self.store, prefix, doc, outcome.stdout, outcome.stderr)
            record_evaluation(self.lineage, row)
            return doc, False


def read_bytes_exists(store: Store, key: str) -> bool:
    try:
        store.read_bytes(key)
        return True
    except FileNotFoundError:
        return False


def evaluate_experiment(store: Store, lineage: Lineage, record: dict[str, Any], *, load: Load, run_id: str,
                        log: Log = print) -> list[tuple[dict[str, Any], bool]]:
    """Every registered evaluator of a published experiment: (row, reused) each; EvaluationsFailed after all ran if any failed.
    `load` is its recipe's `Recipe.load` (the registration back as an experiment, checked against its fingerprint)."""
    specs = registered_specs(store, record["fingerprint"])
    if not specs:
        return []
    evaluator = ExperimentEvaluator(store, lineage, record, load=load, run_id=run_id, log=log)
    done, failed = [], []
    for spec in specs:
        try:
            done.append(evaluator.evaluate(spec))
        except EvaluationFailed as exc:
            log(f"evaluation {spec.name} failed: {exc}")
            failed.append(f"{spec.name}: {exc}")
    if failed:
        raise EvaluationsFailed(f"{len(failed)} of {len(specs)} evaluations failed (recorded, no metric): " + "; ".join(failed))
    return done
