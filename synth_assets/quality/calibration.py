"""Calibration: run validators on hand-labelled (original, rephrased) pairs and score them.

Pairs file: JSONL, one object per line with `original`, `rephrased`, `label` ("same" | "not the
same") and optional `kind`, `dataset`, `field`, `row` (the source row's id) and `split` ("dev" | "test"). "same" is the positive class: accepting a rewrite
is predicting "same"; a failed verdict counts as a rejection.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from synth_assets.core.jsonl import numbered_rows
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.quality.validators.base import Candidate, Validator, Verdict

LABELS = ("same", "not the same")
SHIPPED_PAIRS = Path(__file__).resolve().parent / "calibration" / "superglue_pairs.jsonl"
REWRITE_PAIRS = Path(__file__).resolve().parent / "calibration" / "rewrite_pairs.jsonl"  # 845 pairs, dev/test halves
_KEYS = {"original", "rephrased", "label", "kind", "dataset", "field", "row", "split"}


@dataclass(frozen=True)
class LabelledPair:
    original: str
    rephrased: str
    label: str
    kind: str = "unspecified"
    dataset: str = "unspecified"
    field: str = "text"
    row: str = ""
    split: str = ""
    line: int = 0

    @property
    def same(self) -> bool:
        return self.label == "same"

    def candidate(self) -> Candidate:
        return Candidate(original=self.original, rewrite=self.rephrased, field=self.field, row={self.field: self.original})


def load_pairs(path: str | Path) -> list[LabelledPair]:
    """Read a pairs file; a bad line raises `ConfigError` naming file, line and field."""
    pairs = []
    for number, row in numbered_rows(path):
        unknown = sorted(set(row) - _KEYS)
        if unknown:
            raise ConfigError(path, f"unknown key (expected {', '.join(sorted(_KEYS))})", line=number, field=unknown[0])
        for key in ("original", "rephrased", "label"):
            if key not in row:
                raise ConfigError(path, "missing", line=number, field=key)
        for key in sorted(_KEYS & set(row)):
            if not isinstance(row[key], str) or not row[key].strip():
                raise ConfigError(path, f"must be a non-empty string, got {row[key]!r}", line=number, field=key)
        if row["label"] not in LABELS:
            raise ConfigError(path, f"must be 'same' or 'not the same', got {row['label']!r}", line=number, field="label")
        pairs.append(LabelledPair(**row, line=number))
    if not pairs:
        raise ConfigError(path, "no labelled pairs")
    return pairs


def scores(predicted: list[bool], actual: list[bool]) -> dict[str, Any]:
    """Accuracy, and precision/recall/F1 of "same"; confusion[actual][predicted] counts."""
    tp = sum(p and a for p, a in zip(predicted, actual))
    fp = sum(p and not a for p, a in zip(predicted, actual))
    fn = sum(a and not p for p, a in zip(predicted, actual))
    tn = len(actual) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "n": len(actual),
        "accuracy": (tp + tn) / len(actual) if actual else 0.0,
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "confusion": {"same": {"same": tp, "not the same": fn}, "not the same": {"same": fp, "not the same": tn}},
    }


def _accuracy_by(pairs: list[LabelledPair], predicted: list[bool], key: str) -> dict[str, float]:
    hits: dict[str, list[bool]] = defaultdict(list)
    for pair, p in zip(pairs, predicted):
        hits[getattr(pair, key)].append(p == pair.same)
    return {k: sum(v) / len(v) for k, v in sorted(hits.items())}


@dataclass
class CalibrationReport:
    """Figures of one validator combination on one set of pairs (see `scores` for the definitions)."""

    validators: list[str]
    n: int
    accuracy: float
    precision: float
    recall: float
    f1: float
    confusion: dict[str, dict[str, int]]
    per_kind: dict[str, float]
    per_dataset: dict[str, float]
    per_validator: dict[str, dict[str, Any]]
    pairs_per_s: float
    failed: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def report(pairs: list[LabelledPair], verdicts: dict[str, list[Verdict]], seconds: dict[str, float],
           combination: list[str] | None = None, combine: Any = None) -> CalibrationReport:
    """Score a combination from per-validator verdicts already computed on `pairs`: all must accept, or a profile's
    logistic `combine` (`quality.profile.Combine`)."""
    combination = list(combination or verdicts)
    actual = [p.same for p in pairs]
    per_validator = {}
    for name in combination:
        accepted = [v.accepted for v in verdicts[name]]
        figures = {k: v for k, v in scores(accepted, actual).items() if k not in ("n", "confusion")}
        figures["pairs_per_s"] = len(pairs) / seconds[name] if seconds.get(name) else float("inf")
        figures["failed"] = sum(v.failed for v in verdicts[name])
        per_validator[name] = figures
    if combine is not None and combine.kind == "logistic":
        from synth_assets.quality.profile import probability

        predicted = [probability(combine, {name: verdicts[name][i] for name in combination}) >= combine.threshold
                     for i in range(len(pairs))]
    else:
        predicted = [all(verdicts[name][i].accepted for name in combination) for i in range(len(pairs))]
    total = sum(seconds.get(name, 0.0) for name in combination)
    errors = [{"line": p.line, "kind": p.kind, "label": p.label, "original": p.original, "rephrased": p.rephrased,
               "reasons": {name: verdicts[name][i].reason for name in combination}}
              for i, (p, guess) in enumerate(zip(pairs, predicted)) if guess != p.same]
    return CalibrationReport(
        validators=combination, **scores(predicted, actual),
        per_kind=_accuracy_by(pairs, predicted, "kind"), per_dataset=_accuracy_by(pairs, predicted, "dataset"),
        per_validator=per_validator, pairs_per_s=len(pairs) / total if total else float("inf"),
        failed=sum(any(verdicts[name][i].failed for name in combination) for i in range(len(pairs))), errors=errors,
    )


def run_validators(pairs: list[LabelledPair], validators: list[Validator]) -> tuple[dict[str, list[Verdict]], dict[str, float]]:
    """Each validator on every pair (no short-circuit, so each gets its own figures); verdicts and seconds."""
    candidates = [p.candidate() for p in pairs]
    verdicts, seconds = {}, {}
    for validator in validators:
        started = time.perf_counter()
        verdicts[validator.name] = validator.validate(candidates)
        seconds[validator.name] = time.perf_counter() - started
    return verdicts, seconds


def calibrate(pairs: list[LabelledPair] | str | Path, validators: list[Validator], combine: Any = None) -> CalibrationReport:
    """Run `validators` on labelled pairs (or a pairs file) and report their combination (all must accept, or a
    profile's logistic `combine`)."""
    if not isinstance(pairs, list):
        pairs = load_pairs(pairs)
    verdicts, seconds = run_validators(pairs, validators)
    return report(pairs, verdicts, seconds, combine=combine)


def of_split(pairs: list[LabelledPair], split: str | None) -> list[LabelledPair]:
    """The pairs of one half ("dev" | "test"); all pairs for None. A half with no pairs is an error."""
    if split is None:
        return pairs
    chosen = [p for p in pairs if p.split == split]
    if not chosen:
        raise ValueError(f"no pairs with split {split!r} (splits present: {sorted({p.split for p in pairs if p.split}) or 'none'})")
    return chosen
