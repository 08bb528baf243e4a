"""Metadata as the UI shows it: the story of each rewrite in a preview, numbers rounded."""

from __future__ import annotations

import pytest

from io_managers.previews import preview_markdown
from synth_assets.recipes.rephrase.previews import verdict
from synth_assets.core.display import cell, rounded, usd


def field(candidates, outcomes=None, chosen=None, original="The cat sat."):
    return {"original": original, "candidates": [{"text": t, "finish_reason": "stop", "error": e} for t, e in candidates],
            "outcomes": outcomes, "chosen": chosen}


def rejected(validator: str, reason: str) -> dict:
    return {"accepted": False, "verdicts": [{"validator": validator, "accepted": False, "score": None, "reason": reason}]}


def test_an_accepted_rewrite_names_its_candidate_and_score():
    info = field([("A cat sat.", None), ("The cat was sitting.", None)],
                 outcomes=[rejected("rules", "negation dropped: 'not'"), {"accepted": True, "verdicts": [], "score": 0.8125}],
                 chosen=1)
    assert verdict(info) == ("The cat was sitting.", "accepted (candidate 2 of 2, score 0.81)")


def test_a_rejected_field_shows_the_last_judged_candidate_and_why():
    info = field([("A cat sat.", None), ("Cats.", None)],
                 outcomes=[rejected("rules", "negation dropped: 'not'"), rejected("similarity", "similarity 0.41 < 0.6")])
    assert verdict(info) == ("Cats.", "rejected (all 2), original kept: similarity: similarity 0.41 < 0.6")


def test_failed_requests_and_unvalidated_candidates_say_so():
    assert verdict(field([(None, "HTTP 500: boom")], outcomes=[None])) == ("", "no rewrite: HTTP 500: boom")
    assert verdict(field([("A cat sat.", None)])) == ("A cat sat.", "not validated yet")


def test_rows_with_provenance_preview_original_rewrite_and_verdict_others_their_columns():
    rows = [{"premise": "A cat sat.", "label": 0, "_synth": {"row": 7, "fields": {"premise": field(
        [("A cat sat | down.", None)], outcomes=[{"accepted": True, "verdicts": []}], chosen=0)}}}]
    assert preview_markdown(rows).splitlines() == [
        "| row | field | original | rewrite | verdict |", "|---|---|---|---|---|",
        "| 7 | premise | The cat sat. | A cat sat \\| down. | accepted (candidate 1) |"]
    assert preview_markdown([{"n": 1, "_synth": {"row": 0}}]).splitlines() == ["| n |", "|---|", "| 1 |"]


@pytest.mark.parametrize(("value", "shown"), [(0.007308305000009341, 0.007308), (0.6666666666666666, 0.6667), (123.456789, 123.46),
                                              (1e-05 / 3, 3.333e-06), (3, 3), (None, None), ("text", "text")])
def test_numbers_are_rounded(value, shown):
    assert rounded(value) == shown


def test_dollars_and_cells():
    assert (usd(0.007308305), usd(12.5), usd(0.0)) == ("0.007308", "12.5", "0")
    assert cell("a\nb|c" + "x" * 80) == "a b\\|c" + "x" * 53 + "…"
