"""Decontamination against evaluation splits: copies, n-gram overlap, short texts, bad files."""

from __future__ import annotations

import json

import pytest

from synth_assets.core.yaml_lines import ConfigError
from synth_assets.quality.decontamination import DecontaminationIndex, Hit, Reference, references_from_jsonl

TEST_SPLIT = [
    {"premise": "The man lost his balance on the ladder.", "choice1": "He fell off the ladder.", "idx": 0},
    {"premise": "I ducked.", "choice1": "A ball flew at my head.", "idx": 1},
    {"premise": "The committee reviewed every application submitted before the deadline last spring.", "idx": 2},
]


@pytest.fixture
def index(tmp_path) -> DecontaminationIndex:
    path = tmp_path / "copa_test.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in TEST_SPLIT), encoding="utf-8")
    return DecontaminationIndex(references_from_jsonl(path))


def test_train_row_copying_a_test_sentence_is_detected(index):
    rows = [
        {"premise": "My body cast a shadow over the grass."},
        {"premise": "the man lost his BALANCE on the ladder"},  # the test premise, other case and punctuation
        {"premise": "The sun rose.", "choice1": "I ducked!"},  # a short test sentence copied into another field
        {"premise": "Some said the committee reviewed every application submitted before the deadline."},  # 8-gram overlap
    ]
    hits = index.check(rows, ["premise", "choice1"])
    assert [(h.row, h.field, h.kind, h.reference) for h in hits] == [
        (1, "premise", "sentence", "copa_test.jsonl:1:premise"),
        (2, "choice1", "sentence", "copa_test.jsonl:2:premise"),
        (3, "premise", "ngram", "copa_test.jsonl:3:premise"),
    ]
    assert hits[2].ngrams == 2 and hits[2].matched == TEST_SPLIT[2]["premise"]
    assert isinstance(hits[0], Hit) and hits[0].to_dict()["kind"] == "sentence"


def test_n_is_configurable_and_unrelated_text_is_clean():
    refs = [Reference("the quick brown fox jumps over the lazy dog", "ref:1")]
    assert DecontaminationIndex(refs, n=4).check([{"t": "a quick brown fox jumps high"}], ["t"])[0].ngrams == 1
    assert DecontaminationIndex(refs, n=8).check([{"t": "a quick brown fox jumps high"}], ["t"]) == []
    assert DecontaminationIndex(refs).check([{"t": "nothing in common here"}, {"t": None}, {}], ["t"]) == []
    with pytest.raises(ValueError, match="n must be >= 1"):
        DecontaminationIndex(refs, n=0)


def test_sizes_and_one_word_sentences_are_not_matched():
    index = DecontaminationIndex([Reference("Yes. The cat purred loudly.", "r:1")])
    assert index.sizes == {"references": 1, "ngrams": 0, "sentences": 1}  # "yes" is below min_sentence_words
    assert index.check([{"t": "Yes."}], ["t"]) == []
    assert index.check([{"t": "Well. The cat purred loudly!"}], ["t"])[0].kind == "sentence"


def test_bad_reference_line_names_file_and_line(tmp_path):
    path = tmp_path / "bench.jsonl"
    path.write_text('{"q": "fine"}\n\n{"q": oops}\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bench.jsonl:3: invalid JSON"):
        references_from_jsonl(path)
