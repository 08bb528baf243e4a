"""Rephrase: rewrite fields of a dataset's records, keep meaning and label; validators accept or reject.

Stages: `source` (the split's records, limited for pilots) -> `generated` (asset `rephrased`: one LLM
request per record and rewritten field) -> `validated` (the judge; a rejected field goes back to its
original text) -> `published` (`{Dataset}/{dataset}_train.jsonl`, evaluation splits copied).

Fingerprinted per stage: source = recipe, dataset, sha256 of the split files, split, limit, sample
mode and seed; generated = sampling parameters, prompts, rewritten fields; validated = the
validation section (sampling, prompt, examples, pass-rate floor); published = nothing more.
"""

from __future__ import annotations

import string

from synth_assets.core.catalog import CatalogEntry
from synth_assets.core.config import Experiment
from synth_assets.core.experiments import experiment_fingerprints, load_registered, sampling_params
from synth_assets.core.fingerprint import Fingerprints
from synth_assets.core.store import DirWriter
from synth_assets.core.yaml_lines import ConfigError, line_for
from synth_assets.recipes.base import META, Published, Recipe, Rows, Stage, StageRun, register
from synth_assets.recipes.experiments import (
    PASS_RATE,
    experiment_readme_lines,
    publish_train_split,
    validated_metadata,
)
from synth_assets.recipes.rephrase import rewrite


def check_entry(entry: CatalogEntry) -> None:
    if "train" not in entry.splits:
        raise ValueError("a rephrase dataset needs splits.train")
    if not entry.rewrite_fields:
        raise ValueError("a rephrase dataset needs rewrite_fields")
    unknown = [f for f in entry.rewrite_fields if entry.fields and f not in entry.fields]
    if unknown:
        raise ValueError(f"rewrite_fields {unknown} are not in fields {entry.fields}")


def check_experiment(exp: Experiment, path: str, lines: dict) -> None:
    """The split exists and prompts only reference fields the dataset has (plus the recipe's own names)."""
    entry = exp.entry
    if exp.config.dataset.split not in entry.splits:
        raise ConfigError(path, f"dataset {entry.name} has no split {exp.config.dataset.split!r}",
                          line=line_for(lines, ("dataset", "split")), field="dataset.split")
    checks = [
        (("generation", "prompt"), exp.generation_prompt(), set(entry.fields) | {"text", "field_name"}),
        (("validation", "prompt"), exp.validation_prompt(), {"original", "rephrased", "field_name"}),
    ]
    for loc, template, allowed in checks:
        if loc[0] == "validation" and exp.config.validation is None:
            continue
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
        except ValueError as exc:
            raise ConfigError(path, f"bad prompt template: {exc}", line=line_for(lines, loc), field=".".join(loc)) from None
        unknown = sorted(n for n in names if n.split(".")[0].split("[")[0] not in allowed)
        if unknown:
            raise ConfigError(path, f"prompt references {unknown}, which dataset {entry.name} lacks (it has: {sorted(allowed)})",
                              line=line_for(lines, loc), field=".".join(loc))
    unknown_fields = [f for f in exp.rewrite_fields() if f not in entry.fields]
    if unknown_fields:
        raise ConfigError(path, f"dataset {entry.name} has no field {unknown_fields}", line=line_for(lines, ("generation", "fields")),
                          field="generation.fields")


def fingerprints(exp: Experiment) -> Fingerprints:
    cfg = exp.config
    validation = None
    if cfg.validation is not None:
        validation = {**sampling_params(cfg.validation), "prompt": exp.validation_prompt(), "examples": exp.validation_examples()}
    source = {"data_sha256": exp.entry.content_hash, "split": cfg.dataset.split, "limit": cfg.dataset.limit,
              "sample": cfg.dataset.sample, "sample_seed": cfg.dataset.seed}
    return experiment_fingerprints(exp, source=source, generation={"rewrite_fields": exp.rewrite_fields()}, validation=validation)


def _generate(run: StageRun) -> Rows:
    exp = run.job
    jobs = rewrite.generation_requests(exp, run.upstream)
    return rewrite.apply_generations(run.upstream, jobs, run.chat(exp.config.generation, [r for _, _, r in jobs]))


def _validate(run: StageRun) -> Rows:
    exp, rows = run.job, run.upstream
    if exp.config.validation is None:
        return [{**r, META: {**r[META], "accepted": not r[META]["errors"]}} for r in rows]
    jobs = rewrite.validation_requests(exp, rows)
    return rewrite.apply_validation(rows, jobs, run.chat(exp.config.validation, [r for _, _, r in jobs]))


def _publish(run: StageRun, rows: Rows, files: DirWriter) -> Published:
    return publish_train_split(run.job, [rewrite.training_row(r) for r in rows], files, rows)


def _required(exp: Experiment) -> list[str]:
    return [f for f in exp.entry.fields if f in exp.rewrite_fields() or f == exp.entry.label_field]


RECIPE = register(Recipe(
    name="rephrase",
    description="Rewrite fields of a dataset's records with an LLM, keeping meaning and label; a judge accepts or rejects each rewrite.",
    stages=(
        Stage("source", "source", "The split's records (limited and sampled for pilot runs).", lambda run: rewrite.select_records(run.job),
              reads_upstream=False, required_fields=_required),
        Stage("generated", "rephrased", "One LLM rewrite per record and rewritten field.", _generate, resources=("llm",),
              required_fields=_required),
        Stage("validated", "validated", "The judge's verdict per rewrite; rejected rewrites go back to the original text.",
              _validate, resources=("llm",), required_fields=_required, checks=(PASS_RATE,), metadata=validated_metadata),
        Stage("published", "published", "Training-ready files in _shared/{dataset}/{name}/ (train split + evaluation splits).",
              lambda run: run.upstream, required_fields=_required),
    ),
    load=load_registered,
    publish=_publish,
    readme_lines=experiment_readme_lines,
    check_entry=check_entry,
    check_experiment=check_experiment,
    fingerprints=fingerprints,
))
