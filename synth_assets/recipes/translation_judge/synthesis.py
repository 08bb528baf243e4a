"""Synthesis of minority-class examples: k-shot requests whose answers are held to a JSON schema.

`minority_deficits` says how many examples each under-represented class lacks; `synthesis_requests`
asks an LLM for new examples of one class (few-shot examples drawn from that class only) with
`answer_format` as the response format; `parse_synthetic` turns one answer into an example, or None.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from synth_assets.recipes.translation_judge.labels import resolve_label_map
from synth_assets.recipes.translation_judge.parse import JudgeExample

ANSWER_KEYS = ("source", "translation", "model", "reasoning", "score")


def minority_deficits(counts: Mapping[str, int], min_samples: int = 100) -> dict[str, int]:
    """Class -> how many examples to synthesize so that it reaches `min_samples` (classes already
    at or above it are left out)."""
    if min_samples < 0:
        raise ValueError(f"min_samples must be >= 0, got {min_samples}")
    return {label: min_samples - n for label, n in counts.items() if n < min_samples}


SYNTHESIS_SYSTEM = (
    "You write evaluation data for a machine-translation quality judge. "
    "You follow the requested output format exactly and write nothing else."
)


def _format_example(ex: JudgeExample) -> str:
    score = ex.score if ex.score is not None else ""
    return (
        f"<source>{ex.source}</source>\n"
        f"<translation>{ex.translation}</translation>\n"
        f"<model>{ex.model or 'unknown'}</model>\n"
        f"<reasoning>{ex.reasoning}</reasoning>\n"
        f"<score>{score}</score>"
    )


def _score_phrase(scores: list[int]) -> str:
    if not scores:
        return ""
    if len(scores) == 1:
        return str(scores[0])
    return ", ".join(str(s) for s in scores[:-1]) + f" or {scores[-1]}"


def synthesis_prompt(label: str, shots: list[JudgeExample], *, scores: list[int], models: list[str]) -> str:
    allowed = _score_phrase(scores)
    lines = [f'You will write one new example of a machine translation that a careful judge rates as "{label}".']
    if shots:
        lines.append(
            f'Here are {len(shots)} real examples of the "{label}" class, each with the source text, the machine '
            "translation, the translation system that produced it, the judge's reasoning and the judge's score:"
        )
        for i, ex in enumerate(shots, start=1):
            lines.append(f'<example index="{i}">\n{_format_example(ex)}\n</example>')
    else:
        lines.append(f'No examples of the "{label}" class are available.')
    lines.append(
        "Write a NEW example of the same class: a different source text (same source and target languages "
        f'as the examples, similar length and domain), a translation whose quality truly deserves "{label}", '
        f"the judge's reasoning, and a score of {allowed}. Do not copy or lightly edit the examples."
    )
    if models:
        lines.append(f"Attribute the translation to one of these translation systems: {', '.join(models)}.")
    lines.append(
        "Answer with one JSON object and nothing else, with these keys: "
        '"source" (the source text), "translation" (the machine translation), "model" (the translation system), '
        f'"reasoning" (the judge\'s reasoning, one to three sentences) and "score" ({allowed}).'
    )
    return "\n\n".join(lines)


def synthesis_requests(
    examples: Iterable[JudgeExample],
    *,
    label: str,
    count: int,
    k_shot: int = 3,
    seed: int = 0,
    model: str | None = None,
    temperature: float = 0.8,
    max_tokens: int = 256,
    label_map: Mapping[Any, str] | None = None,
) -> list[dict[str, Any]]:
    """`count` chat requests (plain dicts: messages, model, temperature, max_tokens, seed - the
    keyword arguments of the LLM layer's ChatRequest) asking for new examples of `label`. Each draws
    its `k_shot` few-shot examples from that class only, deterministically from seed*100003+i."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if k_shot < 0:
        raise ValueError(f"k_shot must be >= 0, got {k_shot}")
    labels = resolve_label_map(label_map)
    if label not in labels.classes:
        raise ValueError(f"unknown class {label!r}; classes: {labels.classes}")
    # that class only, one copy per (source, translation), scored examples preferred as shots
    pool = list({(ex.source, ex.translation): ex for ex in reversed(list(examples)) if ex.label == label}.values())[::-1]
    models = sorted({ex.model for ex in pool if ex.model})
    pool = [ex for ex in pool if ex.score is not None] or pool
    scores = labels.scores_of(label)
    requests = []
    for i in range(count):
        request_seed = seed * 100003 + i
        rng = random.Random(request_seed)
        shots = rng.sample(pool, min(k_shot, len(pool)))
        if scores:  # a verdict-only shot is shown with its class's middle score
            shots = [ex if ex.score is not None else replace(ex, score=scores[len(scores) // 2]) for ex in shots]
        prompt = synthesis_prompt(label, shots, scores=scores, models=models)
        requests.append(
            {
                "messages": [{"role": "system", "content": SYNTHESIS_SYSTEM}, {"role": "user", "content": prompt}],
                "model": model,
                "temperature": temperature,
                "max_tokens": max_tokens,
                "seed": request_seed,
            }
        )
    return requests


def answer_format(scores: list[int]) -> dict[str, Any]:
    """The JSON schema every answer is held to (llama.cpp grammars, OpenAI structured outputs, vLLM guided decoding)."""
    text = {"type": "string", "minLength": 1, "maxLength": 200}  # bounded so that an answer fits in max_tokens
    properties = {"source": text, "translation": text, "model": {"type": "string", "minLength": 1, "maxLength": 40},
                  "reasoning": text, "score": {"type": "integer", "enum": scores}}
    return {"type": "json_schema", "json_schema": {"name": "judge_example", "strict": True, "schema": {
        "type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}}}


_PLACEHOLDERS = {"...", "…", "the source text", "the machine translation", "the translation system", "n"}


def parse_synthetic(answer: str, *, label: str, index: int, label_map: Mapping[Any, str] | None = None) -> JudgeExample | None:
    """A synthetic example from one JSON answer, or None when it is not a JSON object, a field is missing, empty or a
    placeholder, the score is not an integer, or the score maps to another class than `label`."""
    try:
        data = json.loads(answer or "")
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    fields = {key: data.get(key) for key in ANSWER_KEYS}
    texts = [fields[k] for k in ANSWER_KEYS if k != "score"]
    if any(not isinstance(v, str) or not v.strip() or v.strip().lower() in _PLACEHOLDERS for v in texts):
        return None
    score = fields["score"]
    if isinstance(score, bool) or not isinstance(score, int):
        return None
    labels = resolve_label_map(label_map)
    if labels.scores.get(score) != label:
        return None
    source, translation = fields["source"].strip(), fields["translation"].strip()
    if source == translation and label != labels.classes[0]:
        return None  # an untranslated copy is not a credible non-bad example
    return JudgeExample(record_id=f"synthetic-{label}-{index}", source=source, translation=translation,
                        model=fields["model"].strip(), label=label, score=score, reasoning=fields["reasoning"].strip(),
                        synthetic=True, line=None)
