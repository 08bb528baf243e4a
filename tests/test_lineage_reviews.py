"""Reviewed labels in lineage on both backends: one label per (experiment, row, field, content hash), the latest wins."""

from __future__ import annotations

from synth_assets.core.lineage import Lineage
from synth_assets.core.lineage.reviews import record_reviews, reviews
from tests.test_lineage import pg, target  # noqa: F401 - fixtures: a local file and a fresh DuckLake

FP = "ab" * 32


def label(row: int, content_hash: str, value: str) -> dict:
    return {"fingerprint": FP, "dataset": "Copa", "row": row, "field": "premise", "content_hash": content_hash,
            "original": f"original {row}", "rewrite": f"rewrite {row}", "label": value}


def test_a_slot_labelled_again_keeps_one_label_and_another_rewrite_of_it_another(target):  # noqa: F811
    lineage = Lineage(target)
    assert record_reviews(lineage, [label(0, "h0", "same"), label(1, "h1", "same")], reviewer="ann") == 2
    record_reviews(lineage, [label(1, "h1", "not the same")], reviewer="bob")  # relabelled: replaced
    record_reviews(lineage, [label(1, "h1b", "same")], reviewer="bob")  # a regenerated rewrite of the row: its own label
    found = {(r["row_index"], r["content_hash"]): (r["label"], r["reviewer"]) for r in reviews(Lineage(target), FP)}
    assert found == {(0, "h0"): ("same", "ann"), (1, "h1"): ("not the same", "bob"), (1, "h1b"): ("same", "bob")}
    assert reviews(lineage, "cd" * 32) == []
