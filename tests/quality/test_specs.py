"""Validator specs: shorthand, discriminated union, errors naming the entry and field, resolved dumps."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from synth_assets.quality.validators import (
    AllOf, JudgeSpec, RulesValidator, SpecDefaults, ValidatorSpec, ValidatorSpecError, build_validators, parse_specs,
)
from synth_assets.quality.validators.specs import DEFAULT_JUDGE_PROMPT, DEFAULT_JUDGE_SYSTEM


def test_shorthand_and_dicts_resolve_every_default():
    rules, similarity, judge = parse_specs(["rules", {"kind": "similarity", "min": 0.5, "model": None}, "judge"])
    assert rules.model_dump() == {
        "name": "rules", "kind": "rules", "identical": True, "truncation": True, "length_ratio": (0.5, 2.0),
        "negation": True, "numbers": True, "names": True, "word_order": True, "required_words_field": None, "max_words": None,
    }
    assert similarity.model_dump() == {"name": "similarity", "kind": "similarity", "min": 0.5, "max": 0.99,
                                       "model": "all-MiniLM-L6-v2", "backend": "sentence-transformers"}
    dumped = judge.model_dump()
    assert dumped["prompt"] == DEFAULT_JUDGE_PROMPT and dumped["system"] == DEFAULT_JUDGE_SYSTEM
    assert dumped["examples"] == [] and dumped["model"] == "smollm2-135m-instruct-q4_1"
    assert (dumped["temperature"], dumped["max_tokens"], dumped["max_json_retries"], dumped["logprobs"]) == (0.0, 96, 2, False)
    assert None not in (v for k, v in dumped.items())


def test_judge_takes_catalog_defaults_unless_set():
    defaults = SpecDefaults(prompt="Same? {original} / {rephrased}", examples=[{"original": "a", "rephrased": "b", "answer": "same"}])
    [from_catalog, own] = parse_specs([{"kind": "judge"}, {"kind": "judge", "name": "strict", "prompt": "P {original} {rephrased}",
                                       "examples": []}], defaults=defaults)
    assert from_catalog.prompt == "Same? {original} / {rephrased}"
    assert [e.model_dump(exclude_none=True) for e in from_catalog.examples] == [{"original": "a", "rephrased": "b", "answer": "same"}]
    assert own.prompt == "P {original} {rephrased}" and own.examples == []


@pytest.mark.parametrize(("raw", "message"), [
    (["rulez"], "validators[0]: unknown validator 'rulez'; choose one of rules, similarity, judge"),
    (["rules", {"kind": "similarity", "mni": 0.3}], "validators[1].mni: unknown key"),
    ([{"kind": "similarity", "min": 0.9, "max": 0.5}], "validators[0]: min (0.9) must not exceed max (0.5)"),
    ([{"kind": "similarity", "min": 1.5}], "validators[0].min: Input should be less than or equal to 1"),
    ([{"kind": "judge", "backend": "openai"}], "validators[0]: model is required for backend 'openai'"),
    ([{"kind": "judge", "examples": [{"original": "a", "rephrased": "b", "answer": "yes"}]}], "validators[0].examples.0.answer"),
    ([{"kind": "rules", "length_ratio": [2, 1]}], "length_ratio must be [low, high] with 0 < low <= high"),
    ([{"kind": "bleu"}], "validators[0]"),
    (["rules", "rules"], "names must be unique, ['rules'] repeated"),
    ("rules", "expected a list of validators"),
])
def test_bad_specs_name_entry_and_field(raw, message):
    with pytest.raises(ValidatorSpecError) as err:
        parse_specs(raw)
    assert message in str(err.value)


def test_spec_type_works_inside_a_config_model():
    class Validation(BaseModel):
        validators: list[ValidatorSpec]

    parsed = Validation.model_validate({"validators": ["rules", {"kind": "judge", "max_json_retries": 1}]})
    assert isinstance(parsed.validators[1], JudgeSpec) and parsed.validators[1].max_json_retries == 1
    with pytest.raises(ValidationError) as err:
        Validation.model_validate({"validators": [{"kind": "rules", "negaton": False}]})
    assert err.value.errors()[0]["loc"] == ("validators", 0, "rules", "negaton")


def test_build_validators_in_order_and_judge_needs_chat():
    validators = build_validators(["rules", {"kind": "rules", "name": "loose", "numbers": False}])
    assert [v.name for v in validators] == ["rules", "loose"] and all(isinstance(v, RulesValidator) for v in validators)
    assert AllOf(validators).name == "rules+loose"
    with pytest.raises(ValidatorSpecError, match="'judge' \\(judge\\) needs a chat callable"):
        build_validators(["rules", "judge"])
