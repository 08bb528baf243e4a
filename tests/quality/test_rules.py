"""The `rules` validator: each check, its reason, and its switch."""

from __future__ import annotations

import pytest

from synth_assets.quality.validators import Candidate, RulesSpec, RulesValidator


def judge(original: str, rewrite: str, finish_reason: str | None = None, row: dict | None = None, **spec):
    [verdict] = RulesValidator(RulesSpec(**spec)).validate([Candidate(original, rewrite, "premise", row or {}, finish_reason)])
    return verdict


@pytest.mark.parametrize(("original", "rewrite", "reason", "switch"), [
    ("The cat purred.", "the  cat PURRED", "identical to the original after normalisation", {"identical": False}),
    ("The man went home.", "The man walked to his", "truncated: ends mid-sentence", {"truncation": False}),
    ("The woman won the lottery.", "The lady won a big lottery prize in the city draw last night at home.",
     "length ratio 3.00 outside [0.5, 2.0]", {"length_ratio": None}),
    ("The politician lost the election.", "The politician did not lose the election.", "negation added: 'not'", {"negation": False}),
    ("The bird couldn't fly.", "The bird could fly.", "negation dropped: 'n't'", {"negation": False}),
    ("Nobody came to the party.", "Everyone came to the party.", "negation dropped: 'nobody'", {"negation": False}),
    ("is vaping illegal if you are under 18", "is vaping against the law if you are under 21", "number changed: '18' -> '21'", {"numbers": False}),
    ("I drank a cup of coffee.", "I drank three cups of coffee.", "number added: '3'", {"numbers": False}),
    ("I stood on one foot.", "I stood on a single leg, not moving.", "negation added: 'not'", {"negation": False}),
    ("the contract went to Lockheed", "the contract went to Boeing", "name dropped: 'Lockheed'", {"names": False}),
    ("the contract went to the company", "the contract went to Boeing", "name added: 'Boeing'", {"names": False}),
    ("The skunk sprayed the dog.", "The dog sprayed the skunk.", "roles may be swapped: same words in another order ('skunk' moved)",
     {"word_order": False}),
])
def test_each_check_rejects_with_a_specific_reason_and_can_be_switched_off(original, rewrite, reason, switch):
    verdict = judge(original, rewrite)
    assert not verdict.accepted and verdict.reason == reason and verdict.validator == "rules"
    assert judge(original, rewrite, **switch).reason != reason


@pytest.mark.parametrize(("original", "rewrite"), [
    ("The bird couldn't fly.", "The bird was unable to fly."),  # same polarity through other words
    ("Marie's mother was only forty-two", "Marie's mother was just 42"),  # number words = digits
    ("will there be a season 4 of da vinci's demons", "is da vinci's demons getting a fourth season"),
    ("Miss Lavant was in love with Dr Greenslade", "Miss Lavant loved Dr Greenslade"),
    ("others hated Paula", "Paula was hated by others"),  # passive, not a role swap
    ("The pond froze over for the winter.", "For the winter, the pond froze over."),  # a phrase moved to the front
    ("is sanskrit the first language of the world", "was sanskrit the world's first language"),  # genitive
])
def test_meaning_preserving_rewrites_pass(original, rewrite):
    verdict = judge(original, rewrite)
    assert verdict.accepted, verdict.reason
    assert verdict.reason == "passed all rules"


def test_truncation_by_finish_reason_and_score_is_the_length_ratio():
    assert judge("The cat purred.", "The cat was purring.", finish_reason="length").reason == "truncated: finish_reason=length"
    assert judge("The cat purred.", "The cat was purring.").score == pytest.approx(4 / 3, abs=1e-4)
    # an original without terminal punctuation may be rewritten without it
    assert judge("the girl had a point", "the girl was making a valid point").accepted


def test_story_options_required_words_and_max_words():
    row = {"selected_words": ["dragon", "bake"], "text": "..."}
    spec = {"required_words_field": "selected_words", "max_words": 8, "length_ratio": None}
    ok = judge("A story.", "The dragon was baking bread.", row=row, **spec)
    assert ok.accepted, ok.reason
    assert judge("A story.", "The knight was baking bread.", row=row, **spec).reason == "required word missing: 'dragon'"
    assert judge("A story.", "The dragon liked baking bread in the big old oven.", row=row, **spec).reason == \
        "too long: 10 words > max_words 8"
    assert judge("A story.", "The knight sings.", row={"selected_words": "knight, sing"}, **spec).accepted  # comma-separated
    with pytest.raises(KeyError, match="required_words_field 'selected_words' is not a field of the row"):
        judge("A story.", "The dragon baked.", row={}, **spec)
