"""Stories: template + k-shot bedtime stories for 3-year-olds, checked by rules.

Stages: `source` (asset `prompts`: story prompts from the template, vocabulary and features) ->
`generated` (asset `stories`: one LLM story per prompt) -> `validated` (rules: required words,
length, sentence shape) -> `published` (the accepted stories as `{Dataset}/{dataset}_train.jsonl`).

Fingerprinted per stage: source = recipe, dataset, sha256 of the template/vocabulary/features/
examples files, count (limit) and seed; generated = sampling parameters, prompts, k_shot, max_words;
validated = the rule set version and max_words; published = nothing more.
"""

from __future__ import annotations

import time
from typing import Any

from synth_assets.core.catalog import CatalogEntry
from synth_assets.core.config import Experiment
from synth_assets.core.fingerprint import Fingerprints
from synth_assets.core.records import META, training_row
from synth_assets.core.store import DirWriter
from synth_assets.recipes.base import Published, Recipe, Rows, Stage, StageRun
from synth_assets.recipes.dataset_experiment_config import DatasetExperimentConfig, check_evaluation
from synth_assets.recipes.dataset_experiment_stages import (PASS_RATE, chat_request, experiment_fingerprints, experiment_readme_lines,
                                                            publish_train_split, registered_loader, validated_metadata)
from synth_assets.recipes.stories import blocks

RULES_VERSION = "stories/2"  # 2: stories cut at max_tokens or ending mid-sentence are rejected
STORY_FIELDS = ["story_id", "prompt_id", "content", "word_count", "metadata"]


def check_entry(entry: CatalogEntry) -> None:
    missing = {"template", "vocabulary", "features", "examples"} - set(entry.files)
    if missing:
        raise ValueError(f"a stories dataset needs files: {sorted(missing)}")


def max_words(exp: Experiment) -> int:
    """Story length limit: validation.max_words, else the catalog entry's."""
    v = exp.config.validation
    return (v.max_words if v and v.max_words else None) or exp.entry.max_words or 120


def fingerprints(exp: Experiment) -> Fingerprints:
    cfg = exp.config
    validation = {"rules": RULES_VERSION, "max_words": max_words(exp)} if cfg.validation is not None else None
    source = {"data_sha256": exp.entry.content_hash, "split": cfg.dataset.split, "limit": cfg.dataset.limit,
              "sample": cfg.dataset.sample, "sample_seed": cfg.dataset.seed}
    generation = {"k_shot": cfg.generation.k_shot, "max_words": max_words(exp)}
    if cfg.generation.allow_truncated:
        generation["allow_truncated"] = True
    return experiment_fingerprints(exp, source=source, generation=generation, validation=validation)


def _files(exp: Experiment) -> dict[str, Any]:
    entry = exp.entry
    return {
        "template": blocks.load_template(entry.file(entry.files["template"])),
        "vocabulary": blocks.load_vocabulary(entry.file(entry.files["vocabulary"])),
        "features": blocks.load_features(entry.file(entry.files["features"])),
        "examples": blocks.parse_example_conversation(entry.file(entry.files["examples"])),
    }


def _prompts(run: StageRun) -> Rows:
    exp = run.job
    files = _files(exp)
    return blocks.build_story_prompts(template=files["template"], vocabulary=files["vocabulary"], features=files["features"],
                                      count=exp.config.dataset.limit or 10, seed=exp.config.dataset.seed, max_words=max_words(exp))


def _generate(run: StageRun) -> Rows:
    exp, prompts = run.job, run.upstream
    k_shot = _files(exp)["examples"][: 2 * exp.config.generation.k_shot]
    g = exp.config.generation
    requests = [chat_request(g, blocks.story_messages(p["prompt"], k_shot, exp.system_prompt())) for p in prompts]
    started = time.monotonic()
    responses = run.chat(g, requests)
    elapsed = time.monotonic() - started
    records = []
    for index, (prompt, response) in enumerate(zip(prompts, responses)):
        # cached answers report no latency; fall back to the batch's mean wall time per story
        seconds = response.latency_s or elapsed / max(len(prompts), 1)
        record = blocks.story_record(
            index=index, prompt=prompt, content=(response.text or "").strip() if response.ok else "",
            generation_time=round(seconds, 4), tokens_generated=response.completion_tokens, k_shot_count=len(k_shot) // 2,
        )
        record["prompt"] = prompt["prompt"]
        record[META] = {"finish_reason": response.finish_reason}
        if not response.ok:
            record["error"] = response.error
        records.append(record)
    return records


def _validate(run: StageRun) -> Rows:
    limit = max_words(run.job)
    allow_truncated = run.job.config.generation.allow_truncated
    out = []
    for record in run.upstream:
        truncated = record.get(META, {}).get("finish_reason") == "length" and not allow_truncated
        check = blocks.validate_story(record["content"], selected_words=record["metadata"]["selected_words"], max_words=limit,
                                      truncated=truncated)
        out.append({**record, "validation": check, META: {**record.get(META, {}), "accepted": check["passed"]}})
    return out


def _publish(run: StageRun, rows: Rows, files: DirWriter) -> Published:
    train = [training_row(r) for r in rows if r[META]["accepted"]]
    return publish_train_split(run.job, train, files, rows)


RECIPE = Recipe(
    name="stories",
    description="Bedtime stories from a template, a vocabulary and k-shot examples; rules accept or reject each story.",
    stages=(
        Stage("source", "prompts", "Story prompts rendered from the template, vocabulary and features.", _prompts,
              reads_upstream=False, required_fields=lambda exp: ["prompt_id", "prompt"]),
        Stage("generated", "stories", "One LLM story per prompt.", _generate, resources=("llm",),
              required_fields=lambda exp: STORY_FIELDS),
        Stage("validated", "validated", "Rule checks per story: required words, length, sentences.", _validate,
              required_fields=lambda exp: STORY_FIELDS, checks=(PASS_RATE,), metadata=validated_metadata),
        Stage("published", "published", "Accepted stories in _shared/{dataset}/{name}/.", lambda run: run.upstream,
              required_fields=lambda exp: STORY_FIELDS),
    ),
    load=registered_loader(fingerprints),
    publish=_publish,
    readme_lines=experiment_readme_lines,
    check_entry=check_entry,
    check_experiment=check_evaluation,
    fingerprints=fingerprints,
    config_model=DatasetExperimentConfig,
)
