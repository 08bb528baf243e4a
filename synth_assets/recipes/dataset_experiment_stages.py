"""What the experiment recipes over catalog datasets (rephrase, stories) share in their stages: the stage
fingerprints of scheme synth/1, loading a registration back, their LLM requests, publishing the train split beside
the dataset's own evaluation splits, and the pass-rate check of the validated stage."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synth_assets.core.config import Experiment, Sampling, sampling_params
from synth_assets.core.experiment_registration import load_registered
from synth_assets.core.fingerprint import SCHEME, Fingerprints, canonical, stage_fingerprints
from synth_assets.core.records import META
from synth_assets.core.store import DirWriter, Store, jsonl_bytes
from synth_assets.llm.types import ChatRequest
from synth_assets.recipes.base import Check, CheckResult, Published, Rows, StageRun
from synth_assets.recipes.dataset_experiment_config import DatasetExperimentConfig


def experiment_fingerprints(exp: Experiment, *, source: dict[str, Any], generation: dict[str, Any],
                            validation: dict[str, Any] | None, published: dict[str, Any] | None = None) -> Fingerprints:
    """source -> generated -> validated -> published, over the parameters a recipe chose for each."""
    source = {"recipe": exp.recipe, "dataset": exp.dataset, **source}
    generation = {**sampling_params(exp.config.generation), "prompt": exp.generation_prompt(),
                  "system_prompt": exp.system_prompt(), **generation}
    if validation is not None:
        validation = {**validation, "min_pass_rate": exp.config.validation.min_pass_rate}
    stages = stage_fingerprints(SCHEME, {"source": source, "generated": generation, "validated": {"validation": validation},
                                         "published": published or {}})
    params = {"source": {"scheme": SCHEME, "stage": "source", **source}, "generation": generation, "validation": validation,
              **(published or {})}
    return Fingerprints(SCHEME, stages, canonical(params))


def registered_loader(fingerprints: Callable[[Experiment], Fingerprints]) -> Callable[[dict[str, Any], Store], Experiment]:
    """`Recipe.load` of an experiment recipe: the registration's config back as an experiment, checked against its fingerprint."""
    return lambda record, store: load_registered(record, store, DatasetExperimentConfig, fingerprints)


def chat_request(sampling: Sampling, messages: list[dict[str, str]], n: int = 1) -> ChatRequest:
    """One LLM request with every sampling parameter of a `generation` or judge section."""
    return ChatRequest(messages=messages, model=sampling.model, temperature=sampling.temperature, top_p=sampling.top_p,
                       max_tokens=sampling.max_tokens, frequency_penalty=sampling.frequency_penalty,
                       presence_penalty=sampling.presence_penalty, seed=sampling.seed, n=n)


def accepted(row: dict) -> bool:
    return bool(row.get(META, {}).get("accepted"))


def pass_rate(rows: Rows) -> float:
    return round(sum(1 for r in rows if accepted(r)) / len(rows), 4) if rows else 0.0


def _pass_rate_check(run: StageRun, rows: Rows) -> CheckResult:
    floor = run.job.config.validation.min_pass_rate if run.job.config.validation else 0.0
    rate = pass_rate(rows)
    return CheckResult(rate >= floor, {"pass_rate": rate, "floor": floor})


PASS_RATE = Check("pass_rate", "Share of rows the validators accepted, at least validation.min_pass_rate.", _pass_rate_check)


def validated_metadata(run: StageRun, rows: Rows) -> dict:
    return {"pass_rate": pass_rate(rows)}


def publish_train_split(exp: Experiment, train_rows: Rows, files: DirWriter, upstream_rows: Rows) -> Published:
    """`{Dataset}/{dataset}_train.jsonl` from the experiment's rows, the dataset's other splits copied as they are."""
    dataset = exp.dataset
    prefix = f"{dataset}/{dataset.lower()}"
    files.write_bytes(f"{prefix}_train.jsonl", jsonl_bytes(train_rows))
    rows = {"train": len(train_rows)}
    for split in ("validation", "test"):
        if split in exp.entry.splits and split != exp.config.dataset.split:
            content = exp.entry.split_path(split).read_bytes()
            files.write_bytes(f"{prefix}_{split}.jsonl", content)
            rows[split] = sum(1 for line in content.splitlines() if line.strip())
    return Published(f"{prefix}_train.jsonl", rows, {"pass_rate": pass_rate(upstream_rows)})


def experiment_readme_lines(record: dict, summary: dict) -> list[str]:
    gen = record["params"]["generation"]
    return [f"- backend {gen['backend']}, model {gen['model']}; temperature {gen['temperature']}, top_p {gen['top_p']}, "
            f"max_tokens {gen['max_tokens']}",
            f"- validation pass rate: {summary.get('pass_rate', 'n/a')}"]
