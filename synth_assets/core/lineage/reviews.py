"""Reviewed labels in lineage (table `reviews`): one row per (experiment, row, field, content hash).

A label is keyed by the content hash of the original and the rewrite a person saw, so it outlives a
regeneration that leaves the slot unchanged; labelling the same slot again replaces the label.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from synth_assets.core.lineage.api import Lineage, _replace
from synth_assets.core.lineage.values import rows as _rows
from synth_assets.core.lineage.values import utc as _utc


def record_reviews(lineage: Lineage, labelled: list[dict[str, Any]], *, reviewer: str, at: datetime | None = None) -> int:
    """Record labels, each `{"fingerprint", "dataset", "row", "field", "content_hash", "original", "rewrite", "label"}`,
    in one transaction; returns how many."""
    when = _utc(at)

    def run(con):
        for item in labelled:
            key = {"fingerprint": item["fingerprint"], "row_index": item["row"], "field": item["field"],
                   "content_hash": item["content_hash"]}
            _replace(con, "reviews", key, {**key, "dataset": item["dataset"], "original": item["original"],
                                           "rewrite": item["rewrite"], "label": item["label"], "reviewer": reviewer,
                                           "reviewed_at": when})
        return len(labelled)
    return lineage._write(run)


def reviews(lineage: Lineage, fingerprint: str) -> list[dict[str, Any]]:
    """Every label of an experiment (current or not), oldest first."""
    return lineage._read(lambda con: _rows(con.execute(
        "SELECT * FROM reviews WHERE fingerprint = ? ORDER BY reviewed_at, row_index, field", [fingerprint])))
