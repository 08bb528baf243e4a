"""Decontamination against evaluation splits: copies, n-gram overlap, short texts, bad files."""

from __future__ import annotations

import json

import pytest

from synth_assets.core.yaml_lines import ConfigError
from synth_assets.quality.decontamination import DEFAULT_NGRAM, DecontaminationIndex, Hit, Reference, references_from_jsonl
from synth_assets.recipes.dataset_experiment_config import DecontaminationSection

TEST_SPLIT = [
    {"premise": "The man lost his balance on the ladder.", "choice1": "He fell off the ladder.", "idx": 0},
    {"premise": "I ducked.", "choice1": "A ball flew at my head.", "idx": 1},
    {"premise": "The committee reviewed every application submitted before the deadline last spring.", "idx": 2},
    {"question": "Which of the following statements best explains why the days are shorter in winter?", "idx": 3},
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
        {"premise": "Some said the committee reviewed every application submitted before the deadline last spring, too."},  # 10-grams
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


STOCK = "Which of the following statements best explains why the days are longer in summer?"  # 11 words shared with idx 3


def test_overlap_the_original_already_had_is_not_introduced(index):
    """A train question sharing ARC's stock phrase with a test question: kept as is, reworded, or with the overlap
    reworded away, the rewrite introduced nothing; a rewrite that copies test text its original lacked did."""
    rows = [{"question": STOCK},
            {"question": "Which of the following statements best explains why the days are longer in the summer months?"},
            {"question": "Why are summer days longer?"},
            {"question": "Which of the following statements best explains why the days are shorter in winter?"},
            {"question": STOCK + " The committee reviewed every application submitted before the deadline last spring."}]
    hits = index.check(rows, ["question"], [{"question": STOCK}] * len(rows))
    assert [(h.row, h.origin, h.introduced) for h in hits] == [(0, "source", 0), (1, "source", 0), (3, "introduced", 4), (4, "introduced", 3)]
    # a verbatim copy of the test question: its 3 ten-grams past the stock phrase and the sentence are new
    assert hits[2].kind == "sentence" and hits[2].reference == "copa_test.jsonl:4:question"
    assert hits[3].reference == "copa_test.jsonl:3:premise" and hits[3].ngrams == 4  # the introduced match is the one shown
    assert hits[0].to_dict()["origin"] == "source" and hits[0].ngrams == 2
    without = index.check(rows[:1], ["question"])  # no originals: every match counts as introduced
    assert [(h.origin, h.introduced) for h in without] == [("introduced", 2)]


def test_originals_are_matched_per_row_not_across_rows(index):
    """An n-gram that another row's original has is still introduced in this row."""
    rows = [{"question": "Nothing to see here at all."}, {"question": STOCK}]
    hits = index.check(rows, ["question"], [{"question": STOCK}, {"question": "Why are summer days longer?"}])
    assert [(h.row, h.origin) for h in hits] == [(1, "introduced")]


def test_the_configured_default_is_the_index_default():
    assert DecontaminationSection().ngram == DEFAULT_NGRAM == 10
