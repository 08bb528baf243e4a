"""The config of the experiment recipes over catalog datasets (rephrase, stories): their generation, validation,
decontamination and evaluation sections on top of what core's `ExperimentConfig` holds for every experiment.

Both recipes read this one model (stories: generation.k_shot/allow_truncated, validation.max_words/min_pass_rate;
rephrase: all of it), so configs and stored registrations of either keep loading with the same keys.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from synth_assets.core.catalog import FieldPathText
from synth_assets.core.config import Experiment, ExperimentConfig, FailureRate, Sampling, Section
from synth_assets.evaluation.spec import EvaluatorSpec, check_evaluators, check_unique_names
from synth_assets.quality.profile import Combine
from synth_assets.quality.validators.specs import ValidatorSpec
from synth_assets.recipes.registry import get


class GenerationSection(Sampling):
    fields: list[FieldPathText] | None = None  # field paths to rewrite (default: the catalog's rewrite_fields)
    k_shot: int = Field(default=2, ge=0)
    n: int = Field(default=1, ge=1, le=16, description="candidates per rewritten field (best-of-n rejection sampling)")
    allow_truncated: bool = False  # keep completions cut at max_tokens (rejected by default)
    max_failure_rate: float = FailureRate


class CalibrationCheck(Section):
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


class DecontaminationSection(Section):
    """Published training rows are checked against the dataset's evaluation splits and reference files; rows whose
    rewrite introduced overlap are dropped and listed, and the `decontamination` check fails (blocking) when there
    were any. Overlap already in the source record is kept and counted (`source_overlap: drop` drops and blocks)."""

    references: list[str] = Field(default_factory=list, description="extra JSONL files, relative to the config file")
    # = quality.decontamination.DEFAULT_NGRAM (chosen by benchmarks/decontamination.py; not imported: no pyarrow here)
    ngram: int = Field(default=10, ge=2, le=32)
    blocking: bool = True
    source_overlap: Literal["keep", "drop"] = "keep"


class DatasetExperimentConfig(ExperimentConfig):
    generation: GenerationSection = Field(default_factory=GenerationSection)
    validation: ValidationSection | None = None
    decontamination: DecontaminationSection | None = None
    evaluation: list[EvaluatorSpec] | None = None  # the training effect of the data (synth_assets/evaluation); not fingerprinted

    _check_evaluators = field_validator("evaluation")(lambda v: v if v is None else check_unique_names(v))

    def name_suffix(self) -> str:
        """`_n4` with 4 candidates per field."""
        return f"_n{self.generation.n}" if self.generation.n > 1 else ""


def rewrite_fields(exp: Experiment) -> list[str]:
    return exp.config.generation.fields or exp.entry.rewrite_fields


def validation_prompt(exp: Experiment) -> str:
    v = exp.config.validation
    return (v.prompt if v and v.prompt else None) or exp.entry.prompts.validation or ""


def validation_examples(exp: Experiment) -> list[dict[str, str]]:
    v = exp.config.validation
    return v.examples if v and v.examples is not None else exp.entry.prompts.validation_examples


def check_evaluation(exp: Experiment, path: str, lines: dict) -> None:
    """The `evaluation:` section's evaluators can run on this dataset (ConfigError naming file and line otherwise)."""
    check_evaluators(exp.config.evaluation, exp.entry, exp.config.dataset.split, path, lines, evaluated=get(exp.recipe).evaluated)
