"""Translation-judge recipe: parsing Bedrock batch output, quarantine, balancing, split, duration."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from synth_assets.recipes.translation_judge.parse import JudgeExample, parse_drop, read_drop, to_training_record
from synth_assets.recipes.translation_judge.split import expected_duration, stratified_split
from synth_assets.recipes.translation_judge.synthesis import minority_deficits, parse_synthetic, synthesis_requests
from synth_assets.testing.judge_drops import make_sample_drop

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "examples" / "translation_judge" / "drop" / "judge_batch_0001.jsonl.out"


def bedrock_line(text_out: str, *, record_id: str = "r1", prompt: str | None = None, plain: bool = False) -> str:
    prompt = prompt or (
        "Judge this translation.\n<model>mt-x</model>\n<source>Hello world.</source>\n"
        "<translation>Hallo Welt.</translation>"
    )
    content = prompt if plain else [{"type": "text", "text": prompt}]
    return json.dumps(
        {
            "recordId": record_id,
            "modelInput": {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 300, "messages": [{"role": "user", "content": content}]},
            "modelOutput": {
                "content": [{"type": "text", "text": text_out}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 50, "output_tokens": 10},
            },
        }
    )


def one(text_out: str, **kw) -> tuple[list[JudgeExample], list[dict]]:
    label_map = kw.pop("label_map", None)
    r = parse_drop([bedrock_line(text_out, **kw)], file="f.jsonl.out", label_map=label_map)
    return r.examples, r.quarantine


# --- parsing -----------------------------------------------------------------------------------


def test_200_lines_3_corrupt() -> None:
    lines = make_sample_drop(200, corrupt_lines=[10, 99, 200], seed=7)
    r = parse_drop(lines, file="judge_batch_0007.jsonl.out")
    assert len(r.examples) == 197
    assert [(q["line"], q["file"]) for q in r.quarantine] == [(n, "judge_batch_0007.jsonl.out") for n in (10, 99, 200)]
    reasons = [q["reason"] for q in r.quarantine]
    assert reasons[0].startswith("invalid JSON")
    assert reasons[1] == "missing modelOutput"
    assert reasons[2] == "unknown label 'mediocre'"
    assert r.quarantine[0]["raw"] == lines[9]
    assert {e.line for e in r.examples}.isdisjoint({10, 99, 200})
    assert sum(r.counts.values()) == 197
    # imbalanced like the default 40/15/5 distribution
    assert r.counts["good"] > r.counts["acceptable"] > r.counts["bad"] > 0
    assert {e.model for e in r.examples} == {"mt-large-v2", "mt-small-v1", "mt-legacy"}


def test_counts_per_class_exact() -> None:
    lines = make_sample_drop(60, corrupt_lines=[], seed=0, distribution={"good": 30, "acceptable": 20, "bad": 10})
    r = parse_drop(lines, file="f")
    assert r.counts == {"bad": 10, "acceptable": 20, "good": 30}
    assert list(r.counts) == ["bad", "acceptable", "good"]
    # classes with no example still appear
    only_good = parse_drop(make_sample_drop(5, seed=0, distribution={"good": 1}), file="f")
    assert only_good.counts == {"bad": 0, "acceptable": 0, "good": 5}


def test_sample_drop_in_examples() -> None:
    r = read_drop(SAMPLE)
    assert len(SAMPLE.read_text().splitlines()) == 60
    assert [q["line"] for q in r.quarantine] == [7, 23, 41]
    assert [q["reason"] for q in r.quarantine][1:] == ["missing modelOutput", "unknown label 'mediocre'"]
    assert r.counts == {"bad": 5, "acceptable": 14, "good": 38}
    assert SAMPLE.read_text() == "\n".join(make_sample_drop(60, corrupt_lines=[7, 23, 41], seed=1)) + "\n"


def test_score_and_verdict_formats() -> None:
    ex, q = one("<reasoning>Fine.</reasoning><score>4</score>")
    assert q == [] and (ex[0].label, ex[0].score, ex[0].reasoning) == ("good", 4, "Fine.")
    assert (ex[0].source, ex[0].translation, ex[0].model) == ("Hello world.", "Hallo Welt.", "mt-x")
    for text, label in [
        ("Reads well.\nVerdict: GOOD", "good"),
        ("Reads well.\n**Verdict:** Acceptable.", "acceptable"),
        ("<verdict>bad</verdict>", "bad"),
        ("Some analysis.\nScore: 2/5", "bad"),
        ("<score>3</score>\nVerdict: acceptable", "acceptable"),
    ]:
        ex, q = one(text)
        assert q == [] and ex[0].label == label, text
    ex, _ = one("Reads well.\nVerdict: good")
    assert ex[0].score is None and ex[0].reasoning == "Reads well."
    ex, q = one("<score>5</score>", plain=True)
    assert q == [] and ex[0].source == "Hello world."


def test_unknown_label_and_other_quarantine_reasons() -> None:
    _, q = one("Hmm.\nVerdict: Mediocre")
    assert [x["reason"] for x in q] == ["unknown label 'Mediocre'"]  # as the judge wrote it
    assert q[0]["line"] == 1 and q[0]["file"] == "f.jsonl.out"
    assert one("no judgement at all")[1][0]["reason"] == "no score or verdict in modelOutput"
    assert "not in label map" in one("<score>9</score>")[1][0]["reason"]
    assert "disagrees" in one("<score>5</score>\nVerdict: bad")[1][0]["reason"]
    _, q = one("<score>4</score>", prompt="<source>only source</source>")
    assert q[0]["reason"] == "no <translation> section in modelInput"
    _, q = one("<score>4</score>", prompt="no tags here <translation>x</translation>")
    assert q[0]["reason"] == "no <source> section in modelInput"

    good = bedrock_line("<score>4</score>")
    obj = json.loads(good)
    no_input = json.dumps({k: v for k, v in obj.items() if k != "modelInput"})
    no_id = json.dumps({k: v for k, v in obj.items() if k != "recordId"})
    errored = json.dumps({"recordId": "e", "modelInput": obj["modelInput"], "error": {"errorCode": 400, "errorMessage": "throttled"}})
    r = parse_drop([good, no_input, "", no_id, errored, good, "[1, 2]"], file="f")
    assert [(x["line"], x["reason"]) for x in r.quarantine] == [
        (2, "missing modelInput"),
        (4, "missing recordId"),
        (5, "judge error 400: throttled"),
        (6, "duplicate recordId 'r1' (first on line 1)"),
        (7, "not a JSON object (list)"),
    ]
    assert len(r.examples) == 1


def test_instruction_mentioning_tags_does_not_confuse_parser() -> None:
    prompt = (
        "The text to translate is in <source> tags and the candidate in <translation> tags.\n"
        "<source>Good morning.</source>\n<translation>Guten Morgen.</translation>"
    )
    ex, q = one("<score>5</score>", prompt=prompt)
    assert q == [] and (ex[0].source, ex[0].translation, ex[0].model) == ("Good morning.", "Guten Morgen.", None)


def test_custom_label_map() -> None:
    label_map = {"1-3": "reject", "4-5": "accept", "excellent": "accept", "poor": "reject"}
    r = parse_drop(
        [bedrock_line("<score>3</score>", record_id="a"), bedrock_line("Verdict: Excellent", record_id="b"),
         bedrock_line("Verdict: poor", record_id="c"), bedrock_line("Verdict: good", record_id="d")],
        file="f",
        label_map=label_map,
    )
    assert [e.label for e in r.examples] == ["reject", "accept", "reject"]
    assert r.counts == {"reject": 2, "accept": 1}
    assert r.quarantine[0]["reason"] == "unknown label 'good'"


def test_empty_and_unknown_format() -> None:
    with pytest.raises(ValueError, match="empty.jsonl.out is empty"):
        parse_drop([], file="empty.jsonl.out")
    with pytest.raises(ValueError, match="is empty"):
        parse_drop(["", "  \n"], file="blank.jsonl.out")
    with pytest.raises(ValueError, match=r"other\.jsonl\.out.*unknown format"):
        parse_drop([json.dumps({"prompt": "p", "completion": "c"})] * 3, file="other.jsonl.out")
    with pytest.raises(ValueError, match="unknown format"):
        parse_drop(["a,b,c", "1,2,3"], file="data.csv")


# --- balancing -------------------------------------------------------------------------------


def test_minority_deficits() -> None:
    assert minority_deficits({"good": 400, "acceptable": 60, "bad": 0}, min_samples=100) == {"acceptable": 40, "bad": 100}
    assert minority_deficits({"good": 5}, min_samples=5) == {}
    assert minority_deficits({"bad": 3}) == {"bad": 97}
    with pytest.raises(ValueError):
        minority_deficits({"bad": 1}, min_samples=-1)


def test_synthesis_requests_draw_from_target_class_only_and_are_deterministic() -> None:
    examples = parse_drop(make_sample_drop(200, seed=2), file="f").examples
    by_text = {(e.source, e.translation): e.label for e in examples}
    reqs = synthesis_requests(examples, label="bad", count=8, k_shot=3, seed=5, model="m", max_tokens=400)
    assert len(reqs) == 8
    assert reqs == synthesis_requests(examples, label="bad", count=8, k_shot=3, seed=5, model="m", max_tokens=400)
    assert reqs != synthesis_requests(examples, label="bad", count=8, k_shot=3, seed=6, model="m", max_tokens=400)
    assert [r["seed"] for r in reqs] == [5 * 100003 + i for i in range(8)]
    for r in reqs:
        assert set(r) == {"messages", "model", "temperature", "max_tokens", "seed"}
        assert (r["model"], r["temperature"], r["max_tokens"]) == ("m", 0.8, 400)
        prompt = r["messages"][-1]["content"]
        shots = [s.split("</example>")[0] for s in prompt.split("<example index=")[1:]]
        assert len(shots) == 3
        for shot in shots:
            src = shot.split("<source>")[1].split("</source>")[0]
            tr = shot.split("<translation>")[1].split("</translation>")[0]
            assert by_text[(src, tr)] == "bad"
        assert "1 or 2" in prompt
    # prompts differ across requests (different shots)
    assert len({r["messages"][-1]["content"] for r in reqs}) > 1
    # the LLM layer accepts the dicts as they are
    from synth_assets.llm.types import ChatRequest

    ChatRequest(**reqs[0])
    with pytest.raises(ValueError):
        synthesis_requests(examples, label="nope", count=1)
    # no example of the class: zero-shot requests
    zero = synthesis_requests([e for e in examples if e.label != "bad"], label="bad", count=2)
    assert "<example" not in zero[0]["messages"][-1]["content"]


WELL_FORMED = json.dumps({"source": "The library opens at nine.", "translation": "Die Bibliothek isst um neun.", "model": "mt-legacy",
                          "reasoning": '"isst" (eats) replaces "öffnet" and changes the meaning.', "score": 1})


def test_parse_synthetic() -> None:
    ex = parse_synthetic(WELL_FORMED, label="bad", index=3)
    assert ex is not None
    assert (ex.record_id, ex.label, ex.score, ex.synthetic, ex.model) == ("synthetic-bad-3", "bad", 1, True, "mt-legacy")
    assert ex.source == "The library opens at nine." and ex.translation.startswith("Die Bibliothek")
    # wrong class for the score
    assert parse_synthetic(WELL_FORMED, label="good", index=0) is None
    assert parse_synthetic(WELL_FORMED.replace('"score": 1', '"score": 5'), label="bad", index=0) is None
    # malformed
    assert parse_synthetic("", label="bad", index=0) is None
    assert parse_synthetic("Sure! Here is an example: The library opens at nine.", label="bad", index=0) is None
    assert parse_synthetic(WELL_FORMED.replace(', "score": 1', ""), label="bad", index=0) is None
    assert parse_synthetic(WELL_FORMED.replace('"score": 1', '"score": "one"'), label="bad", index=0) is None
    assert parse_synthetic(WELL_FORMED[:-10], label="bad", index=0) is None
    assert parse_synthetic(WELL_FORMED.replace("mt-legacy", ""), label="bad", index=0) is None
    assert parse_synthetic(WELL_FORMED.replace("The library opens at nine.", "..."), label="bad", index=0) is None


# --- split, duration, records ---------------------------------------------------------------


def _examples() -> list[JudgeExample]:
    return parse_drop(make_sample_drop(300, seed=4), file="f").examples


def test_stratified_split() -> None:
    examples = _examples()
    counts = Counter(e.label for e in examples)
    train, test = stratified_split(examples, test_ratio=0.1, seed=1)
    assert len(train) + len(test) == len(examples)
    assert {id(e) for e in train}.isdisjoint(id(e) for e in test)
    again = stratified_split(examples, test_ratio=0.1, seed=1)
    assert [e.record_id for e in again[1]] == [e.record_id for e in test]
    other = stratified_split(examples, test_ratio=0.1, seed=2)
    assert [e.record_id for e in other[1]] != [e.record_id for e in test]
    test_counts = Counter(e.label for e in test)
    assert set(test_counts) == set(counts) == set(Counter(e.label for e in train))
    for label, n in counts.items():
        assert abs(test_counts[label] - 0.1 * n) <= 1, label
    assert abs(len(test) - 0.1 * len(examples)) <= len(counts)


def test_stratified_split_small_classes_and_bounds() -> None:
    ex = [JudgeExample(f"r{i}", "s", "t", "m", label, 4, "r") for i, label in enumerate(["good"] * 20 + ["bad"] * 2 + ["acceptable"])]
    train, test = stratified_split(ex, test_ratio=0.05, seed=0)
    test_counts = Counter(e.label for e in test)
    assert test_counts == {"good": 1, "bad": 1}  # 2-example class still gets 1; 1-example class stays in train
    assert stratified_split(ex, test_ratio=0.0, seed=0) == (ex, [])
    for bad_ratio in (1.0, -0.1, 1.5):
        with pytest.raises(ValueError):
            stratified_split(ex, test_ratio=bad_ratio)


def test_expected_duration() -> None:
    seconds, text = expected_duration(481109, 150)
    assert 53 * 3600 < seconds < 54 * 3600
    assert text == "53h 27m"
    assert expected_duration(150, 150) == (60.0, "1m 0s")
    assert expected_duration(0, 10) == (0.0, "0s")
    for rpm in (0, -5):
        with pytest.raises(ValueError):
            expected_duration(10, rpm)


def test_to_training_record() -> None:
    ex = parse_synthetic(WELL_FORMED, label="bad", index=0)
    assert ex is not None
    rec = to_training_record(ex)
    assert list(rec) == ["record_id", "source", "translation", "model", "label", "score", "reasoning", "synthetic"]
    assert rec["synthetic"] is True and rec["label"] == "bad"
    json.dumps(rec)
    real = parse_drop(make_sample_drop(3, seed=0), file="f").examples[0]
    assert to_training_record(real)["synthetic"] is False and "line" not in to_training_record(real)
