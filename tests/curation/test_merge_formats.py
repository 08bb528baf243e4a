"""Merge + exact dedup, and the unified SFT / CoT / preference formats."""

from __future__ import annotations

import json

import pytest

from synth_assets.recipes.curation.source_config import SourceConfig
from synth_assets.recipes.curation.formats import format_row, helpsteer3_pair
from synth_assets.recipes.curation.merge import exact_dedup, merge_sources
from synth_assets.recipes.curation.sources import load_source


def test_exact_dedup_keeps_first_occurrence():
    keys = ["What is  AI?", "b", "What is AI? ", "b", "c", "what is ai?"]
    assert exact_dedup(keys).tolist() == [True, True, False, False, True, True]
    assert exact_dedup(keys, casefold=True).tolist() == [True, True, False, False, True, False]
    # every separator str.split() knows counts as whitespace, ASCII control separators included
    assert exact_dedup(["a b", "a\x1fb", "a\x0bb", "a\tb"]).tolist() == [True, False, False, False]


def _src(path, name, **fields):
    return load_source(SourceConfig.model_validate({"name": name, "path": str(path), "fields": fields}))


def test_merge_records_ids_and_counts(write_jsonl):
    a = write_jsonl([{"q": "same prompt", "a": "1"}, {"q": "only in a", "a": "2"}], "a.jsonl")
    b = write_jsonl([{"q": "other", "a": "3"}, {"q": "same   prompt", "a": "4"}], "b.jsonl")
    result = merge_sources([_src(a, "a", prompt="q", answer="a"), _src(b, "b", prompt="q", answer="a")])
    assert [r["source_prompt_id"] for r in result.rows] == ["0_a", "1_a", "0_b"]
    assert [r["all_prompt_id"] for r in result.rows] == [0, 1, 2]
    assert json.loads(result.rows[0]["metadata"]) == {"q": "same prompt", "a": "1"}
    assert result.per_source["b"] == {"rows_read": 2, "malformed": 0, "usable": 2, "after_exact": 1, "exact_duplicates": 1}


def test_dedup_by_prompt_plus_solution(write_jsonl):
    a = write_jsonl([{"q": "p", "a": "1"}, {"q": "p", "a": "2"}, {"q": "p", "a": "1"}])
    by_prompt = merge_sources([_src(a, "a", prompt="q", answer="a")], by="prompt")
    by_both = merge_sources([_src(a, "a", prompt="q", answer="a")], by="prompt+solution")
    assert len(by_prompt.rows) == 1 and len(by_both.rows) == 2


@pytest.mark.parametrize("score,chosen,rejected,winner", [
    (-3, "R1", "R2", "response1"), (-2, "R1", "R2", "response1"), (-1, "R1", "R2", "response1"),
    (0, "", "", "tie"),
    (1, "R2", "R1", "response2"), (2, "R2", "R1", "response2"), (3, "R2", "R1", "response2"),
])
def test_helpsteer3_scores(score, chosen, rejected, winner):
    assert helpsteer3_pair(score, "R1", "R2") == (chosen, rejected, winner)
    row = {"all_prompt_id": 0, "source_prompt_id": "0_h", "source": "h", "prompt": [{"role": "user", "content": "hi"}],
           "metadata": "{}", "_fields": {"response1": "R1", "response2": "R2", "scores": str(score)}}
    out = format_row(row, "preference", "helpsteer3")
    assert (out["chosen"], out["rejected"]) == (chosen, rejected)
    assert out["prompt"] == [{"role": "user", "content": "hi"}]  # multi-turn kept as a list
    assert out["metadata"]["preference"] == ("tie" if score == 0 else "pair")


def _row(fields):
    return {"all_prompt_id": 1, "source_prompt_id": "1_s", "source": "s", "prompt": "p", "metadata": json.dumps({"x": 1}), "_fields": fields}


def test_arena_and_openr1_preferences():
    conv_a = [{"role": "assistant", "content": "A"}]
    assert format_row(_row({"response1": conv_a, "response2": "B", "winner": "model_a"}), "preference", "arena")["chosen"] == conv_a
    assert format_row(_row({"response1": "A", "response2": "B", "winner": "model_b"}), "preference", "arena")["rejected"] == "A"
    tie = format_row(_row({"response1": "A", "response2": "B", "winner": "tie (bothbad)"}), "preference", "arena")
    assert (tie["chosen"], tie["rejected"], tie["metadata"]["preference"]) == ("", "", "tie")
    pair = format_row(_row({"traces": ["bad", "good", "good2"], "correct": [False, True, True]}), "preference", "openr1")
    assert (pair["chosen"], pair["rejected"]) == ("good", "bad")
    undecided = format_row(_row({"traces": ["g1", "g2"], "correct": [True, True]}), "preference", "openr1")
    assert (undecided["chosen"], undecided["rejected"]) == ("", "")
    assert undecided["metadata"]["preference"] == "undecidable" and undecided["metadata"]["reason"] == "all traces correct"


def test_cot_and_sft():
    split = format_row(_row({"traces": ["<think>2+2 is 4</think>4"], "correct": [True]}), "cot", "openr1")
    assert (split["thinking"], split["answer"], split["metadata"]["cot_split"]) == ("2+2 is 4", "4", "think_tags")
    mixed = format_row(_row({"answer": "Because of X, the answer is 4."}), "cot", "plain")
    assert mixed["thinking"] == "Because of X, the answer is 4." and mixed["answer"] == ""
    assert mixed["metadata"]["cot_split"] == "unseparated"
    fields = format_row(_row({"thinking": "reason", "answer": "ans"}), "cot", "plain")
    assert (fields["thinking"], fields["answer"]) == ("reason", "ans")
    sft = format_row(_row({"answer": "ans"}), "sft", "plain")
    assert list(sft) == ["all_prompt_id", "source_prompt_id", "prompt", "answer", "metadata"]
    assert sft["metadata"] == {"source": "s", "original": {"x": 1}}
