"""Quality metrics from known rows."""

from __future__ import annotations

import pytest

from synth_assets.quality.metrics import distinct_n, metrics_markdown, quality_metrics, quality_row, reason_key, self_bleu
from synth_assets.quality.validators import AllOf, Candidate, RulesValidator


def slot(original, rewrite, accepted, verdicts=(), finish_reason="stop"):
    return {"original": original, "rewrite": rewrite, "accepted": accepted, "finish_reason": finish_reason,
            "verdicts": list(verdicts)}


def v(name, accepted, score=None, reason="ok"):
    return {"validator": name, "accepted": accepted, "score": score, "reason": reason, "failed": False}


ROWS = [
    {"fields": {"premise": slot("the cat sat", "a cat sat down", True, [v("rules", True), v("similarity", True, 0.8)])},
     "label_before": 0, "label_after": 0},
    {"fields": {"premise": slot("the dog ran", "the dog ran", False, [v("rules", False, reason="identical to the original")])},
     "label_before": 1, "label_after": 1},
    {"fields": {"premise": slot("a bird flew", "a bird flew away", True, [v("rules", True), v("similarity", True, 0.9)])},
     "label_before": 1, "label_after": 1},
    {"fields": {"premise": slot("it rained", "it was", False, [v("rules", False, reason="truncated: finish_reason=length")],
                                finish_reason="length")}, "label_before": 0, "label_after": 0},
    {"fields": {"premise": slot("it snowed", None, False)}, "label_before": 1, "label_after": 1},
]


def test_known_rows_give_known_metrics():
    m = quality_metrics(ROWS, decontamination_hits=[object(), object()])
    assert (m["rows"], m["slots"], m["candidates"], m["judged"], m["accepted"]) == (5, 5, 4, 4, 2)
    assert m["rewrite_rate"] == pytest.approx(2 / 5) and m["acceptance_rate"] == pytest.approx(2 / 4)
    assert m["truncation_rate"] == pytest.approx(1 / 4)
    assert m["similarity_mean"] == pytest.approx(0.85)
    assert m["similarity_p10"] == pytest.approx(0.81) and m["similarity_p90"] == pytest.approx(0.89)
    # accepted rewrites: "a cat sat down" + "a bird flew away": 8 unigrams, 7 distinct ("a" twice); 6 bigrams, all distinct
    assert m["distinct_1"] == pytest.approx(7 / 8) and m["distinct_2"] == pytest.approx(1.0)
    assert m["length_ratio_mean"] == pytest.approx(4 / 3)
    assert m["decontamination_hits"] == 2
    assert m["rejections.rules"] == 2 and m["rejections.rules.truncated"] == 1
    assert m["rejections.rules.identical to the original"] == 1
    assert reason_key("not the same (P(same)=0.20, 2/5): roles swapped") == "not the same"
    assert reason_key("negation dropped: 'not'") == "negation dropped"
    assert (m["label_before.0"], m["label_before.1"], m["label_after.1"]) == (2, 3, 3)
    assert 0 <= m["self_bleu"] <= 100


def test_distinct_and_self_bleu_extremes():
    assert distinct_n(["a a a a"], 1) == 0.25 and distinct_n(["a b", "c d"], 2) == 1.0 and distinct_n([], 2) == 0.0
    assert self_bleu(["the same sentence here"] * 3) == pytest.approx(100.0)
    assert self_bleu(["alpha beta gamma delta", "one two three four"]) < 5
    assert self_bleu(["only one"]) is None


def test_empty_run_and_markdown():
    m = quality_metrics([])
    assert m["rows"] == 0 and m["rewrite_rate"] == 0.0 and m["similarity_mean"] is None and m["self_bleu"] is None
    table = metrics_markdown({"rows": 3, "rewrite_rate": 2 / 3, "similarity_mean": None})
    assert table == "| Quality | value |\n|---|---|\n| rows | 3 |\n| rewrite_rate | 0.6667 |\n| similarity_mean | n/a |\n"


def test_quality_row_from_candidates_and_outcomes():
    candidate = Candidate("The cat purred.", "The cat purred.", "premise")
    [outcome] = AllOf([RulesValidator()]).judge([candidate])
    row = quality_row({"premise": (candidate, outcome)}, label_before=1, label_after=1)
    assert row["fields"]["premise"]["accepted"] is False
    assert row["fields"]["premise"]["verdicts"][0]["reason"] == "identical to the original after normalisation"
    assert quality_metrics([row])["rejections.rules.identical to the original after normalisation"] == 1
