"""Human review of an experiment's rewrites: what is reviewed, how it is sampled, and the reviewed precision.

A *slot* is one rewritten field of one published row (a field that fell back to its original text is a
copy and is never reviewed). Its `content_hash` covers the original and the rewrite, so a label stays
attached to exactly the text a person saw: after a regeneration an unchanged slot keeps its label, a
changed one loses it.

Sampling is a seeded permutation of the experiment's rewritten rows; `--sample N` reviews the first N
rows of it not reviewed yet, so successive reviews extend one uniform random sample.

reviewed_precision = labels "same" / labels, over the experiment's current slots; its 95 % interval is
Wilson's (scipy). The review file (`--export` / `--import`) holds one slot per line: `EXPORT_KEYS` plus
`label` ("same" | "not the same" | "skip").
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from synth_assets.core.jsonl import numbered_rows
from synth_assets.core.lineage import Lineage
from synth_assets.core.lineage.reviews import reviews
from synth_assets.core.yaml_lines import ConfigError

SAME, NOT_SAME, SKIP = "same", "not the same", "skip"
LABELS = (SAME, NOT_SAME)
EXPORT_KEYS = ("experiment", "dataset", "row", "field", "original", "rewrite", "content_hash")


def content_hash(original: str, rewrite: str) -> str:
    """sha256 (hex, 16 characters) of the pair as a person sees it."""
    return hashlib.sha256(json.dumps([original, rewrite], ensure_ascii=False).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Slot:
    """One rewritten field of one published row of an experiment."""

    experiment: str
    dataset: str
    row: int
    field: str
    original: str
    rewrite: str

    @property
    def content_hash(self) -> str:
        return content_hash(self.original, self.rewrite)

    @property
    def key(self) -> tuple[int, str, str]:
        return self.row, self.field, self.content_hash

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "content_hash": self.content_hash}


def sample(slots: list[Slot], n: int, *, seed: int = 0, reviewed: set[tuple[int, str, str]] = frozenset()) -> list[Slot]:
    """The slots of the first `n` rows of a seeded permutation of the rewritten rows that still have an unreviewed slot."""
    by_row: dict[int, list[Slot]] = {}
    for slot in slots:
        by_row.setdefault(slot.row, []).append(slot)
    order = sorted(by_row)
    random.Random(seed).shuffle(order)
    chosen: list[Slot] = []
    for row in order:
        todo = [s for s in by_row[row] if s.key not in reviewed]
        if todo:
            chosen += todo
            if len({s.row for s in chosen}) == n:
                break
    return chosen


def wilson(successes: int, n: int, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson score interval of a proportion (None, None without observations)."""
    if n == 0:
        return None, None
    from scipy.stats import binomtest

    ci = binomtest(successes, n).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def reviewed_figures(labels: list[str]) -> dict[str, Any]:
    """reviewed_n, reviewed_precision (share "same") and its Wilson interval reviewed_low/high."""
    n, same = len(labels), sum(label == SAME for label in labels)
    low, high = wilson(same, n)
    return {"reviewed_n": n, "reviewed_precision": same / n if n else None, "reviewed_low": low, "reviewed_high": high}


def current_labels(reviews: list[dict[str, Any]], slots: list[Slot]) -> list[dict[str, Any]]:
    """The reviews whose (row, field, content hash) is one of the experiment's current slots."""
    keys = {s.key for s in slots}
    return [r for r in reviews if (r["row_index"], r["field"], r["content_hash"]) in keys]


def write_review_file(path: str | Path, slots: list[Slot]) -> None:
    with open(path, "w", encoding="utf-8") as out:
        for slot in slots:
            out.write(json.dumps(slot.to_dict(), ensure_ascii=False) + "\n")


def read_review_file(path: str | Path, fingerprint: str, slots: list[Slot]) -> list[tuple[Slot, str]]:
    """(slot, label) of every labelled line (skips left out); a bad line raises `ConfigError` naming file, line and
    field, before anything is recorded."""
    current = {(s.row, s.field): s for s in slots}
    out = []
    for number, row in numbered_rows(path):
        for key in (*EXPORT_KEYS, "label"):
            if key not in row:
                raise ConfigError(path, "missing (each line: the exported keys plus label)", line=number, field=key)
        if row["label"] not in (*LABELS, SKIP):
            raise ConfigError(path, f"must be 'same', 'not the same' or 'skip', got {row['label']!r}", line=number, field="label")
        if row["experiment"] != fingerprint:
            raise ConfigError(path, f"exported from experiment {str(row['experiment'])[:12]}, not {fingerprint[:12]}",
                              line=number, field="experiment")
        if row["content_hash"] != content_hash(str(row["original"]), str(row["rewrite"])):
            raise ConfigError(path, "does not match original and rewrite (were they edited?)", line=number, field="content_hash")
        slot = current.get((row["row"], row["field"]))
        if slot is None or slot.content_hash != row["content_hash"]:
            raise ConfigError(path, f"row {row['row']} field {row['field']} is no longer this rewrite in the experiment "
                              "(regenerated since the export?)", line=number, field="content_hash")
        if row["label"] != SKIP:
            out.append((slot, row["label"]))
    return out


def calibration_pairs(reviews: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Reviewed labels in the calibration pair format (`quality.calibration.load_pairs`), kind "reviewed"."""
    return [{"original": r["original"], "rephrased": r["rewrite"], "label": r["label"], "kind": "reviewed",
             "dataset": r["dataset"], "field": r["field"]} for r in reviews]


def figures_for(lineage: Lineage, fingerprint: str, slots: list[Slot]) -> dict[str, Any]:
    """reviewed_n / reviewed_precision / reviewed_low / reviewed_high over the labels of the experiment's current slots."""
    return reviewed_figures([r["label"] for r in current_labels(reviews(lineage, fingerprint), slots)])
