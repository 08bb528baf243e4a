"""Experiment configs: the YAML users write, validated with pydantic, sweeps expanded."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from synth_assets.core.batch_ids import MAX_PURPOSE_BYTES, check_batch_id, default_batch_id
from synth_assets.core.catalog import CatalogEntry, FieldPathText, find_entry
from synth_assets.core.models import DEFAULT_BACKEND, Backend, default_model
from synth_assets.core.names import check_safe_name
from synth_assets.core.numbers import NoBoolNumbers
from synth_assets.core.path_lengths import experiment_keys, key_problem
from synth_assets.core.yaml_lines import ConfigError, field_error, line_for, load_yaml_with_lines, validate_model
from synth_assets.evaluation.spec import EvaluatorSpec, check_evaluators, check_unique_names
from synth_assets.quality.profile import Combine
from synth_assets.quality.validators.specs import ValidatorSpec
from synth_assets.recipes.base import get as get_recipe
SWEEPABLE = {"model", "temperature", "top_p", "max_tokens", "frequency_penalty", "presence_penalty", "seed"}


class _Section(NoBoolNumbers):
    model_config = ConfigDict(extra="forbid")


class ExperimentSection(_Section):
    batch_id: str | None = None
    purpose: str = "experiment"
    description: str = ""

    _check_batch = field_validator("batch_id")(lambda v: v if v is None else check_batch_id(v))
    _check_purpose = field_validator("purpose")(
        lambda v: check_safe_name(v, "purpose", max_bytes=MAX_PURPOSE_BYTES))


class DatasetSection(_Section):
    dataset_name: str
    split: str = "train"
    limit: int | None = Field(default=None, gt=0)
    sample: Literal["head", "random"] = "head"
    seed: int = 0

    _check_name = field_validator("dataset_name")(lambda v: check_safe_name(v, "dataset name"))


class Sampling(_Section):
    backend: Backend = DEFAULT_BACKEND
    model: str | None = None
    temperature: float = Field(default=0.7, ge=0.0, le=2.0)
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    max_tokens: int = Field(default=256, gt=0)
    frequency_penalty: float = Field(default=0.0, ge=-2.0, le=2.0)
    presence_penalty: float = Field(default=0.0, ge=-2.0, le=2.0)
    seed: int = 0
    prompt: str | None = None
    system_prompt: str | None = None

    @model_validator(mode="after")
    def _default_model(self) -> "Sampling":
        if self.model is None:
            self.model = default_model(self.backend)
            if self.model is None:  # named at the backend's line: that is what needs a model
                raise field_error("backend", f"backend {self.backend!r} needs a model: set model in this section")
        return self


FailureRate = Field(default=0.0, ge=0.0, le=1.0, description="share of failed LLM requests a stage tolerates (not fingerprinted)")


class GenerationSection(Sampling):
    fields: list[FieldPathText] | None = None  # field paths to rewrite (default: the catalog's rewrite_fields)
    k_shot: int = Field(default=2, ge=0)
    n: int = Field(default=1, ge=1, le=16, description="candidates per rewritten field (best-of-n rejection sampling)")
    allow_truncated: bool = False  # keep completions cut at max_tokens (rejected by default)
    max_failure_rate: float = FailureRate


class CalibrationCheck(_Section):
    """A blocking check on the validated stage: the validators' accuracy on labelled pairs."""

    pairs: str  # JSONL of {original, rephrased, label: same | not the same, kind?}; relative to the config file
    min_accuracy: float = Field(default=0.85, ge=0.0, le=1.0)


class ValidationSection(Sampling):
    """`validators` (all must accept) judge every candidate; without them (configs stored before validators
    existed) the section's own sampling parameters, prompt and examples drive the free-text judge of scheme synth/1."""

    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(default=8, gt=0)
    examples: list[dict[str, str]] | None = None
    min_pass_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    max_words: int | None = Field(default=None, gt=0)
    validators: list[ValidatorSpec] | None = None
    profile: str | None = None  # a validation profile file (synth calibrate --fit): its validators and combination
    combine: Combine | None = None  # filled from the profile (configs name the profile, not this)
    select: Literal["first_accepted", "best_score"] = "first_accepted"
    max_failure_rate: float = FailureRate
    calibration: CalibrationCheck | None = None


class DecontaminationSection(_Section):
    """Published training rows are checked against the dataset's evaluation splits and reference files; rows whose
    rewrite introduced overlap are dropped and listed, and the `decontamination` check fails (blocking) when there
    were any. Overlap already in the source record is kept and counted (`source_overlap: drop` drops and blocks)."""

    references: list[str] = Field(default_factory=list, description="extra JSONL files, relative to the config file")
    # = quality.decontamination.DEFAULT_NGRAM (chosen by benchmarks/decontamination.py; not imported: no pyarrow here)
    ngram: int = Field(default=10, ge=2, le=32)
    blocking: bool = True
    source_overlap: Literal["keep", "drop"] = "keep"


class ExperimentConfig(_Section):
    experiment: ExperimentSection = Field(default_factory=ExperimentSection)
    dataset: DatasetSection
    generation: GenerationSection = Field(default_factory=GenerationSection)
    validation: ValidationSection | None = None
    decontamination: DecontaminationSection | None = None
    evaluation: list[EvaluatorSpec] | None = None  # the training effect of the data (synth_assets/evaluation); not fingerprinted

    _check_evaluators = field_validator("evaluation")(lambda v: v if v is None else check_unique_names(v))

    def resolved_batch_id(self, today: dt.date | None = None) -> str:
        return self.experiment.batch_id or default_batch_id(self.experiment.purpose, today)


class Experiment(BaseModel):
    """One experiment: a validated config bound to its catalog entry and source file."""

    model_config = ConfigDict(arbitrary_types_allowed=True)
    config: ExperimentConfig
    entry: CatalogEntry
    source_file: str = ""

    @property
    def recipe(self) -> str:
        return self.entry.recipe

    @property
    def dataset(self) -> str:
        return self.entry.name

    def generation_prompt(self) -> str:
        return self.config.generation.prompt or self.entry.prompts.generation or ""

    def system_prompt(self) -> str | None:
        return self.config.generation.system_prompt or self.entry.prompts.system

    def rewrite_fields(self) -> list[str]:
        return self.config.generation.fields or self.entry.rewrite_fields

    def validation_prompt(self) -> str:
        v = self.config.validation
        return (v.prompt if v and v.prompt else None) or self.entry.prompts.validation or ""

    def validation_examples(self) -> list[dict[str, str]]:
        v = self.config.validation
        return v.examples if v and v.examples is not None else self.entry.prompts.validation_examples


def _expand_sweeps(raw: dict[str, Any], path: str, lines: dict) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Lists under generation/validation sampling keys expand into a cartesian product."""
    axes = [
        (section, key, values)
        for section in ("generation", "validation")
        if isinstance(raw.get(section), dict)
        for key, values in raw[section].items()
        if key in SWEEPABLE and isinstance(values, list)
    ]
    for section, key, values in axes:
        if not values:
            raise ConfigError(path, "an empty sweep list makes no experiment: give at least one value",
                              line=line_for(lines, (section, key)), field=f"{section}.{key}")
    if not axes:
        return [(raw, {})]
    out = []
    for combo in itertools.product(*(values for _, _, values in axes)):
        expanded = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
        point = {}
        for (section, key, _), value in zip(axes, combo):
            expanded[section][key] = value
            point[f"{section}.{key}"] = value
        out.append((expanded, point))
    return out


def parse_experiments(raw: Any, path: str, lines: dict, root: str | Path | None = None) -> list[tuple[Experiment, dict]]:
    """Validate one parsed config (maybe a sweep) into experiments with their sweep points."""
    if not isinstance(raw, dict):
        raise ConfigError(path, "a config must be a mapping with experiment/dataset/generation sections", line=1)
    experiments = []
    for expanded, point in _expand_sweeps(raw, path, lines):
        config = validate_model(ExperimentConfig, expanded, path, lines)
        try:
            entry = find_entry(config.dataset.dataset_name, root)
        except KeyError as exc:
            raise ConfigError(path, exc.args[0], line=line_for(lines, ("dataset", "dataset_name")), field="dataset.dataset_name") from None
        entry.content_hash  # fail now, with the file named, if a data file is missing
        recipe = get_recipe(entry.recipe)
        config = validate_model(ExperimentConfig, recipe.complete_config(expanded, entry, Path(path).parent), path, lines)
        exp = Experiment(config=config, entry=entry, source_file=path)
        _check_paths(exp, path, lines, root)
        recipe.check_experiment(exp, path, lines)
        check_evaluators(config.evaluation, entry, config.dataset.split, path, lines)
        experiments.append((exp, point))
    return experiments


def _check_paths(exp: Experiment, path: str, lines: dict, root: str | Path | None) -> None:
    """Every store key the experiment will write fits the store (whole S3 keys, local components and paths)."""
    from synth_assets.core.experiments import semantic_name

    batch_id = exp.config.resolved_batch_id()
    problem = key_problem(root, experiment_keys(batch_id, exp.dataset, semantic_name(exp), list(exp.entry.splits)))
    if problem is None:
        return
    blamed = max([("experiment", "batch_id" if exp.config.experiment.batch_id else "purpose", batch_id),
                  ("dataset", "dataset_name", exp.dataset)], key=lambda b: len(b[2].encode()))[:2]
    raise ConfigError(path, f"{problem}: use a shorter {blamed[1].replace('_', ' ')}", line=line_for(lines, blamed),
                      field=".".join(blamed))


def load_experiments(path: str | Path, root: str | Path | None = None, text: str | bytes | None = None) -> list[Experiment]:
    """Load an experiment YAML (one experiment or a sweep; `text`: its content when it is not a local file)."""
    raw, lines = load_yaml_with_lines(path, text)
    return [exp for exp, _ in parse_experiments(raw, str(path), lines, root)]
