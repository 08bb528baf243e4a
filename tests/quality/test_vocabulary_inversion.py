"""`vocabulary` (added words must be real English words) and `inversion` (antonym and negation flips)."""

from __future__ import annotations

import pytest

from synth_assets.quality.validators import Candidate, InversionSpec, InversionValidator, VocabularyValidator, build_validators


def judge(validator, original: str, rewrite: str):
    return validator.validate([Candidate(original=original, rewrite=rewrite, field="premise")])[0]


@pytest.mark.parametrize("original,rewrite", [
    ("The physician misdiagnosed the patient.", "The physician mismapped the patient."),
    ("The woman tolerated her friend's difficult behavior.", "The woman forgaved her friend's difficult behavior."),
    ("The runner wore shorts.", "The runner wore a shortsuit."),
])
def test_vocabulary_rejects_words_that_are_not_english(original, rewrite):
    verdict = judge(VocabularyValidator(), original, rewrite)
    assert not verdict.accepted and "not a known word" in verdict.reason


@pytest.mark.parametrize("original,rewrite", [
    ("The car was being driven back up the hill towards Putna", "someone drove the car back up the hill towards Putna"),
    ("The woman tolerated her friend's difficult behavior.", "The woman put up with her friend's hard-to-handle behavior."),
    ("It got dark outside.", "Outside, it became dark."),
])
def test_vocabulary_accepts_real_words_and_anything_copied_from_the_original(original, rewrite):
    assert judge(VocabularyValidator(), original, rewrite).accepted


def test_vocabulary_threshold_is_the_zipf_frequency():
    [strict] = build_validators([{"kind": "vocabulary", "min_zipf": 4.0}])
    assert not judge(strict, "The cook stirred.", "The cook agitated the bouillabaisse.").accepted
    assert judge(VocabularyValidator(), "The cook stirred.", "The cook agitated the bouillabaisse.").accepted


@pytest.mark.parametrize("original,rewrite,flip", [
    ("The man hated his new haircut.", "The man loved his new haircut.", "'hated' -> 'loved'"),
    ("The pond froze over for the winter.", "The pond thawed for the winter.", "'froze' -> 'thawed'"),
    ("Maelmuire is important", "Maelmuire is unimportant", "'important' -> 'unimportant'"),
    ("Which planet is closest to the Sun?", "Which planet is farthest from the Sun?", "antonym"),
    ("The offender violated parole.", "The offender did not violate parole.", "negation added"),
    # a negative-prefixed word that is also a negation marker is one flip, not two that cancel out
    ("He was able to go.", "He was unable to go.", "'able' -> 'unable'"),
    ("It was possible to win.", "It was impossible to win.", "'possible' -> 'impossible'"),
    ("She was unwilling to help.", "She was willing to help.", "'unwilling' -> 'willing'"),
])
def test_inversion_rejects_antonyms_and_negations(original, rewrite, flip):
    verdict = judge(InversionValidator(), original, rewrite)
    assert not verdict.accepted and flip in verdict.reason


@pytest.mark.parametrize("original,rewrite", [
    ("The shop was closed.", "The store was not open."),  # antonym + negation cancel out
    ("The bird couldn't fly.", "The bird was unable to fly."),
    ("The woman gave the man her phone number.", "The man was given the woman's phone number."),  # converses are not antonyms
    ("The politician lost the election.", "The politician was defeated in the election."),
])
def test_inversion_accepts_kept_polarity(original, rewrite):
    assert judge(InversionValidator(), original, rewrite).accepted


def test_inversion_checks_can_be_switched_off():
    only_antonyms = InversionValidator(InversionSpec(negation=False))
    assert judge(only_antonyms, "The offender violated parole.", "The offender did not violate parole.").accepted
    assert not judge(only_antonyms, "The man hated his new haircut.", "The man loved his new haircut.").accepted
