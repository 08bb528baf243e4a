"""The stage functions of each recipe, behind one shape the asset factory understands."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from resources.llm import ChatRequest, ChatResponse
from synth_assets.core.config import Experiment, Sampling
from synth_assets.recipes.rephrase import rewrite as rephrase
from synth_assets.recipes.stories import blocks as stories

Chat = Callable[[Sampling, list[ChatRequest]], list[ChatResponse]]
Rows = list[dict[str, Any]]


@dataclass(frozen=True)
class RecipeStages:
    """How one recipe makes its source, generated, validated and published rows."""

    name: str
    asset_names: dict[str, str]
    source: Callable[[Experiment], Rows]
    generate: Callable[[Experiment, Rows, Chat], Rows]
    validate: Callable[[Experiment, Rows, Chat], Rows]
    train_rows: Callable[[Experiment, Rows], Rows]
    required_fields: Callable[[Experiment], list[str]]


def _rephrase_generate(exp: Experiment, records: Rows, chat: Chat) -> Rows:
    jobs = rephrase.generation_requests(exp, records)
    return rephrase.apply_generations(records, jobs, chat(exp.config.generation, [r for _, _, r in jobs]))


def _rephrase_validate(exp: Experiment, rows: Rows, chat: Chat) -> Rows:
    if exp.config.validation is None:
        return [{**r, rephrase.META: {**r[rephrase.META], "accepted": not r[rephrase.META]["errors"]}} for r in rows]
    jobs = rephrase.validation_requests(exp, rows)
    return rephrase.apply_validation(rows, jobs, chat(exp.config.validation, [r for _, _, r in jobs]))


REPHRASE = RecipeStages(
    name="rephrase",
    asset_names={"source": "source", "generated": "rephrased", "validated": "validated", "published": "published"},
    source=rephrase.select_records,
    generate=_rephrase_generate,
    validate=_rephrase_validate,
    train_rows=lambda exp, rows: [rephrase.training_row(r) for r in rows],
    required_fields=lambda exp: [f for f in exp.entry.fields if f in exp.rewrite_fields() or f == exp.entry.label_field],
)


def _story_files(exp: Experiment) -> dict[str, Any]:
    entry = exp.entry
    return {
        "template": stories.load_template(entry.file(entry.files["template"])),
        "vocabulary": stories.load_vocabulary(entry.file(entry.files["vocabulary"])),
        "features": stories.load_features(entry.file(entry.files["features"])),
        "examples": stories.parse_example_conversation(entry.file(entry.files["examples"])),
    }


def _story_prompts(exp: Experiment) -> Rows:
    files = _story_files(exp)
    return stories.build_story_prompts(
        template=files["template"],
        vocabulary=files["vocabulary"],
        features=files["features"],
        count=exp.config.dataset.limit or 10,
        seed=exp.config.dataset.seed,
        max_words=exp.max_words(),
    )


def _story_generate(exp: Experiment, prompts: Rows, chat: Chat) -> Rows:
    k_shot = _story_files(exp)["examples"][: 2 * exp.config.generation.k_shot]
    g = exp.config.generation
    requests = [
        ChatRequest(
            messages=stories.story_messages(p["prompt"], k_shot, exp.system_prompt()),
            model=g.model, temperature=g.temperature, top_p=g.top_p, max_tokens=g.max_tokens,
            frequency_penalty=g.frequency_penalty, presence_penalty=g.presence_penalty, seed=g.seed,
        )
        for p in prompts
    ]
    started = time.monotonic()
    responses = chat(g, requests)
    elapsed = time.monotonic() - started
    records = []
    for index, (prompt, response) in enumerate(zip(prompts, responses)):
        # cached answers report no latency; fall back to the batch's mean wall time per story
        seconds = response.latency_s or elapsed / max(len(prompts), 1)
        record = stories.story_record(
            index=index, prompt=prompt, content=(response.text or "").strip() if response.ok else "",
            generation_time=round(seconds, 4), tokens_generated=response.completion_tokens, k_shot_count=len(k_shot) // 2,
        )
        record["prompt"] = prompt["prompt"]
        if not response.ok:
            record["error"] = response.error
        records.append(record)
    return records


def _story_validate(exp: Experiment, records: Rows, chat: Chat) -> Rows:
    max_words = exp.max_words()
    out = []
    for record in records:
        check = stories.validate_story(record["content"], selected_words=record["metadata"]["selected_words"], max_words=max_words)
        out.append({**record, "validation": check, "_synth": {"accepted": check["passed"]}})
    return out


STORIES = RecipeStages(
    name="stories",
    asset_names={"source": "prompts", "generated": "stories", "validated": "validated", "published": "published"},
    source=_story_prompts,
    generate=_story_generate,
    validate=_story_validate,
    train_rows=lambda exp, rows: [{k: v for k, v in r.items() if k != "_synth"} for r in rows if r["_synth"]["accepted"]],
    required_fields=lambda exp: ["story_id", "prompt_id", "content", "word_count", "metadata"],
)

RECIPES = {r.name: r for r in (REPHRASE, STORIES)}
