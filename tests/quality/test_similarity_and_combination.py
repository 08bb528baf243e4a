"""The `similarity` validator on the real offline MiniLM, and the all-must-accept combinator."""

from __future__ import annotations

import pytest

from synth_assets.llm import embeddings
from synth_assets.quality.validators import AllOf, Candidate, RulesSpec, RulesValidator, SimilaritySpec, SimilarityValidator

PARAPHRASE = Candidate("The man signed the document.", "The man put his signature on the document.", "premise")
UNRELATED = Candidate("The man signed the document.", "Penguins live in the southern hemisphere.", "premise")
COPY = Candidate("The man signed the document.", "the man signed the document", "premise")


def test_similarity_bounds_reject_drift_and_near_copies_with_reasons():
    validator = SimilarityValidator(SimilaritySpec(min=0.6, max=0.97))
    paraphrase, unrelated, copy = validator.validate([PARAPHRASE, UNRELATED, COPY])
    assert paraphrase.accepted and 0.6 <= paraphrase.score <= 0.97
    assert paraphrase.reason == f"similarity {paraphrase.score:.2f} within [0.6, 0.97]"
    assert not unrelated.accepted and unrelated.score < 0.6 and unrelated.reason.startswith("meaning drifted: similarity")
    assert not copy.accepted and copy.score > 0.97 and copy.reason.startswith("near-copy, not a rewrite: similarity")


def test_model_is_loaded_once_and_each_distinct_text_encoded_once():
    first = SimilarityValidator()
    first.validate([PARAPHRASE, UNRELATED])
    loaded = dict(embeddings._LOADED)
    second = SimilarityValidator(batch_size=2)
    second.validate([PARAPHRASE, UNRELATED, PARAPHRASE])
    assert embeddings._LOADED == loaded  # same model object, not loaded again
    assert second.encoder.texts_encoded == 3  # one original + two distinct rewrites


def test_missing_model_path_is_an_error_not_a_download(tmp_path):
    with pytest.raises(ValueError, match="no such path"):
        SimilarityValidator(SimilaritySpec(model=str(tmp_path / "nope")))


def test_all_of_short_circuits_and_keeps_every_verdict_that_ran():
    strict = RulesValidator()
    lenient = RulesValidator(RulesSpec(name="lenient", negation=False, identical=False))
    negated = Candidate("The politician lost the election.", "The politician did not lose the election.", "premise")
    good = Candidate("The girl received a trophy.", "The girl was given a trophy.", "premise")
    combined = AllOf([lenient, strict])
    ok, bad = combined.judge([good, negated])
    assert ok.accepted and [v.validator for v in ok.verdicts] == ["lenient", "rules"] and ok.skipped == []
    assert not bad.accepted and [v.accepted for v in bad.verdicts] == [True, False]
    assert bad.verdicts[1].reason == "negation added: 'not'"
    # short-circuit: a validator after a rejection is skipped, and named as skipped
    first_strict = AllOf([strict, lenient]).judge([negated])[0]
    assert [v.validator for v in first_strict.verdicts] == ["rules"] and first_strict.skipped == ["lenient"]
    assert [v.validator for v in AllOf([strict, lenient], short_circuit=False).judge([negated])[0].verdicts] == ["rules", "lenient"]
    assert [v.accepted for v in combined.validate([good, negated])] == [True, False]
    assert combined.validate([negated])[0].reason == "negation added: 'not'"
    with pytest.raises(ValueError, match="validator names must be unique"):
        AllOf([strict, RulesValidator()])
