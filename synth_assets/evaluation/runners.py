"""Running one evaluator on one side (the experiment's rows or the original rows): probe, python, command.

Every runner returns an `Outcome`: the metrics, and where the evaluator gives them the per-row
scores of the validation rows (`correct`: 1/0 per row, in the split's order), which make the
interval of the difference against the original a paired one. A command or entry point that fails,
times out or writes no number for its metric raises `EvaluationFailed`: a failure, never a metric.
"""

from __future__ import annotations

import importlib
import json
import math
import os
import shlex
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synth_assets.core.catalog import CatalogEntry
from synth_assets.evaluation.probe import ProbeError, probe_correct
from synth_assets.evaluation.spec import CommandEvaluator, ProbeEvaluator, PythonEvaluator

LOG_TAIL = 2000


class EvaluationFailed(RuntimeError):
    def __init__(self, message: str, stdout: str = "", stderr: str = ""):
        super().__init__(message)
        self.stdout, self.stderr = stdout, stderr


@dataclass
class Side:
    """What an evaluator trains and scores on: rows for `python`/`probe`, files (paths or s3:// URIs) for `command`."""

    train_rows: list[dict[str, Any]]
    validation_rows: list[dict[str, Any]]
    train_uri: str
    validation_uri: str


@dataclass
class Outcome:
    metrics: dict[str, Any]
    correct: list[float] | None = None
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    cost_usd: float = 0.0


def headline(spec: Any, metrics: dict[str, Any], source: str) -> float:
    value = metrics.get(spec.metric)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise EvaluationFailed(f"{source} gave no number for metric {spec.metric!r} (got {value!r}; keys: {', '.join(metrics) or 'none'})")
    return float(value)


def _per_row(metrics: dict[str, Any], n: int) -> list[float] | None:
    correct = metrics.get("correct")
    if isinstance(correct, list) and len(correct) == n and all(isinstance(c, (int, float)) for c in correct):
        return [float(c) for c in correct]
    return None


def run_probe(spec: ProbeEvaluator, entry: CatalogEntry, side: Side) -> Outcome:
    try:
        correct = probe_correct(entry, side.train_rows, side.validation_rows, spec.embedding_model)
    except ProbeError as exc:
        raise EvaluationFailed(str(exc)) from exc
    accuracy = sum(correct) / len(correct)
    return Outcome({"accuracy": accuracy, "train_rows": len(side.train_rows), "validation_rows": len(correct)}, [float(c) for c in correct])


def run_python(spec: PythonEvaluator, side: Side) -> Outcome:
    module, _, function = spec.entry_point.partition(":")
    try:
        fn = getattr(importlib.import_module(module), function)
    except (ImportError, AttributeError) as exc:
        raise EvaluationFailed(f"entry point {spec.entry_point}: {type(exc).__name__}: {exc}") from exc
    try:
        metrics = fn(side.train_rows, side.validation_rows, dict(spec.params))
    except Exception as exc:  # noqa: BLE001  (the user's code: its error is the evaluation's failure)
        raise EvaluationFailed(f"entry point {spec.entry_point} raised {type(exc).__name__}: {exc}") from exc
    if not isinstance(metrics, dict):
        raise EvaluationFailed(f"entry point {spec.entry_point} returned {type(metrics).__name__}, not a dict of metrics")
    headline(spec, metrics, f"entry point {spec.entry_point}")
    return Outcome(metrics, _per_row(metrics, len(side.validation_rows)), cost_usd=float(metrics.get("cost_usd") or 0.0))


def command_line(spec: CommandEvaluator, side: Side, workdir: Path, fingerprint: str) -> str:
    values = {"train": side.train_uri, "validation": side.validation_uri, "metrics_json": str(workdir / "metrics.json"),
              "fingerprint": fingerprint, "workdir": str(workdir)}
    return spec.command.format(**{k: shlex.quote(v) for k, v in values.items()})


def run_command(spec: CommandEvaluator, side: Side, workdir: Path, fingerprint: str, cwd: str | None = None) -> Outcome:
    """The command in its own process group (a timeout kills the trainer and its children); stdout/stderr kept."""
    workdir.mkdir(parents=True, exist_ok=True)
    line = command_line(spec, side, workdir, fingerprint)
    process = subprocess.Popen(line, shell=True, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True, env={**os.environ, "SYNTH_EVALUATION_FINGERPRINT": fingerprint})
    try:
        stdout, stderr = process.communicate(timeout=spec.timeout_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        raise EvaluationFailed(f"timed out after {spec.timeout_s:g} s: {line}", stdout, stderr) from None
    if process.returncode != 0:
        tail = stderr.strip()[-LOG_TAIL:]
        raise EvaluationFailed(f"exit status {process.returncode}: {line}" + (f"\n{tail}" if tail else ""), stdout, stderr)
    try:
        metrics = json.loads((workdir / "metrics.json").read_text())
    except FileNotFoundError:
        raise EvaluationFailed(f"the command wrote no {workdir / 'metrics.json'}: {line}", stdout, stderr) from None
    except ValueError as exc:
        raise EvaluationFailed(f"the command's metrics are not JSON ({exc}): {line}", stdout, stderr) from None
    if not isinstance(metrics, dict):
        raise EvaluationFailed(f"the command's metrics are not a JSON object: {line}", stdout, stderr)
    try:
        headline(spec, metrics, "the command")
    except EvaluationFailed as exc:
        raise EvaluationFailed(str(exc), stdout, stderr) from None
    return Outcome(metrics, _per_row(metrics, len(side.validation_rows)), stdout, stderr,
                   cost_usd=float(metrics.get("cost_usd") or 0.0))


def run(spec: Any, entry: CatalogEntry, side: Side, workdir: Path, fingerprint: str, cwd: str | None = None) -> Outcome:
    started = time.perf_counter()
    if isinstance(spec, ProbeEvaluator):
        outcome = run_probe(spec, entry, side)
    elif isinstance(spec, PythonEvaluator):
        outcome = run_python(spec, side)
    else:
        outcome = run_command(spec, side, workdir, fingerprint, cwd)
    outcome.seconds = round(time.perf_counter() - started, 3)
    return outcome
