"""The judge's structured output and JSON re-asks, against a scripted OpenAI-compatible server."""

from __future__ import annotations

import json

import pytest

from synth_assets.quality.validators import Candidate, JudgeValidator, ResourceChat, SpecDefaults, build_validators

VALID = json.dumps({"verdict": "same", "score": 5, "reason": "same meaning"})
REJECT = json.dumps({"verdict": "not the same", "score": 1, "reason": "roles swapped"})
PROMPT = "Field {field_name} of a row whose label is {label}.\n1: {original}\n2: {rephrased}"
CANDIDATE = Candidate(original="The skunk sprayed the dog.", rewrite="The dog was sprayed by the skunk.", field="premise",
                      row={"premise": "The skunk sprayed the dog.", "label": 1})
QUESTION = "Field premise of a row whose label is 1.\n1: The skunk sprayed the dog.\n2: The dog was sprayed by the skunk."


def judge(llm, **spec) -> JudgeValidator:
    defaults = SpecDefaults(prompt=PROMPT, examples=[{"original": "a b", "rephrased": "b a", "answer": "not the same", "label": 0}])
    return build_validators([{"kind": "judge", "backend": "openai", "model": "gpt-4o-mini", **spec}],
                            chat=ResourceChat(llm), defaults=defaults)[0]


def test_invalid_json_is_asked_again_with_another_seed_then_accepted(scripted, fake_llm):
    scripted.script({QUESTION: {"replies": ["verdict: same", VALID]}})
    validator = judge(fake_llm)
    [verdict] = validator.validate([CANDIDATE])
    assert verdict.accepted and verdict.score == 5.0 and not verdict.failed
    assert verdict.reason == "same (5/5): same meaning"
    assert scripted.received(QUESTION) == 2
    assert (validator.requests_sent, validator.json_retries, validator.failed_requests) == (2, 1, 0)
    first, second = scripted.requests()
    assert (first["seed"], second["seed"]) == (0, 1)
    assert (first["temperature"], second["temperature"]) == (0.0, 0.7)
    fmt = first["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"]["properties"]["verdict"]["enum"] == ["same", "not the same"]
    assert fmt["json_schema"]["schema"]["properties"]["reason"]["maxLength"] == 160
    roles = [m["role"] for m in first["messages"]]
    assert roles == ["system", "user", "assistant", "user"]  # the example is a prior turn
    assert first["messages"][1]["content"] == "Field  of a row whose label is 0.\n1: a b\n2: b a"
    assert json.loads(first["messages"][2]["content"])["verdict"] == "not the same"

    # a rerun answers both attempts from the LLM cache: the bad seed-0 answer is not final
    again = judge(fake_llm)
    assert again.validate([CANDIDATE])[0].accepted
    assert scripted.received(QUESTION) == 2 and again.requests_sent == 2


def test_json_never_valid_is_a_failed_request_after_the_bounded_retries(scripted, fake_llm):
    scripted.script({QUESTION: {"replies": ['{"verdict": "same", "score": 9, "reason": ""}']}})
    validator = judge(fake_llm, max_json_retries=2)
    [verdict] = validator.validate([CANDIDATE])
    assert not verdict.accepted and verdict.failed and verdict.score is None
    assert verdict.reason == "judge failed: invalid JSON"
    assert scripted.received(QUESTION) == 3
    assert (validator.requests_sent, validator.json_retries, validator.failed_requests) == (3, 2, 1)
    assert [r["seed"] for r in scripted.requests()] == [0, 1, 2]


def test_truncated_answer_is_named_and_zero_retries_means_one_request(scripted, fake_llm):
    scripted.script({QUESTION: {"replies": ['{"verdict": "same", "sco'], "finish_reason": "length"}})
    validator = judge(fake_llm, max_json_retries=0)
    [verdict] = validator.validate([CANDIDATE])
    assert verdict.failed and verdict.reason == "judge failed: invalid JSON (cut off at max_tokens)"
    assert scripted.received(QUESTION) == 1 and validator.failed_requests == 1


def test_http_error_is_not_re_asked_as_bad_json(scripted, fake_llm):
    scripted.script({QUESTION: {"status": 400}})
    validator = judge(fake_llm)
    [verdict] = validator.validate([CANDIDATE])
    assert verdict.failed and verdict.reason.startswith("judge failed: request failed: HTTP 400")
    assert scripted.received(QUESTION) == 1 and validator.failed_requests == 1


def test_batch_keeps_order_and_only_re_asks_the_bad_answers(scripted, fake_llm):
    other = Candidate(original="The dog barked.", rewrite="The cat meowed.", field="premise", row={"label": 0})
    other_question = "Field premise of a row whose label is 0.\n1: The dog barked.\n2: The cat meowed."
    scripted.script({QUESTION: {"replies": ["oops", VALID]}, other_question: {"replies": [REJECT]}})
    validator = judge(fake_llm)
    first, second = validator.validate([CANDIDATE, other])
    assert first.accepted and not second.accepted and second.reason == "not the same (1/5): roles swapped"
    assert scripted.received(QUESTION) == 2 and scripted.received(other_question) == 1
    assert validator.requests_sent == 3 and validator.failed_requests == 0


def test_prompt_placeholder_missing_from_the_row_is_named(fake_llm):
    validator = judge(fake_llm)
    with pytest.raises(ValueError, match=r"placeholder \{label\} is not available in the row of field 'premise'"):
        validator.validate([Candidate(original="a", rewrite="b", field="premise", row={})])


def test_logprobs_verdict_uses_the_probability_of_the_verdict_token():
    from synth_assets.quality.validators.judge import JudgeAnswer, same_probability

    tokens = [("{\"", -0.1), ("verdict", -0.1), ("\":", -0.1), (" \"", -0.1), ("same", -0.2231), ("\",", -0.1)]
    logprobs = [{"token": t, "logprob": lp} for t, lp in tokens]
    same = JudgeAnswer(verdict="same", score=4, reason="")
    assert same_probability(same, logprobs) == pytest.approx(0.8, abs=1e-4)
    tokens[4] = ("not", -0.2231)
    differ = JudgeAnswer(verdict="not the same", score=2, reason="")
    assert same_probability(differ, [{"token": t, "logprob": lp} for t, lp in tokens]) == pytest.approx(0.2, abs=1e-4)
    assert same_probability(same, None) is None
