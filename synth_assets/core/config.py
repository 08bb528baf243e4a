"""Experiment configs: the YAML users write, validated with pydantic, sweeps expanded.

This module holds what every experiment config shares (header, dataset selection, sampling, sweeps, the
checks of store keys); the recipe named by the dataset's catalog entry brings its own model of the rest
(`Recipe.config_model`, a subclass of `ExperimentConfig`), its defaults and its checks."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from synth_assets.core.batch_ids import MAX_PURPOSE_BYTES, check_batch_id, default_batch_id
from synth_assets.core.catalog import CatalogEntry, find_entry
from synth_assets.core.fingerprint import model_slug, number_slug
from synth_assets.core.models import DEFAULT_BACKEND, Backend, default_model
from synth_assets.core.names import check_safe_name
from synth_assets.core.numbers import NoBoolNumbers
from synth_assets.core.path_lengths import experiment_keys, key_problem
from synth_assets.core.yaml_lines import ConfigError, field_error, line_for, load_yaml_with_lines, validate_model

SWEEPABLE = {"model", "temperature", "top_p", "max_tokens", "frequency_penalty", "presence_penalty", "seed"}


class Section(NoBoolNumbers):
    """A config section: unknown keys and booleans for numbers are refused."""

    model_config = ConfigDict(extra="forbid")


class ExperimentSection(Section):
    batch_id: str | None = None
    purpose: str = "experiment"
    description: str = ""

    _check_batch = field_validator("batch_id")(lambda v: v if v is None else check_batch_id(v))
    _check_purpose = field_validator("purpose")(
        lambda v: check_safe_name(v, "purpose", max_bytes=MAX_PURPOSE_BYTES))


class DatasetSection(Section):
    dataset_name: str
    split: str = "train"
    limit: int | None = Field(default=None, gt=0)
    sample: Literal["head", "random"] = "head"
    seed: int = 0

    _check_name = field_validator("dataset_name")(lambda v: check_safe_name(v, "dataset name"))


class Sampling(Section):
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
SAMPLING_KEYS = ("backend", "model", "temperature", "top_p", "max_tokens", "frequency_penalty", "presence_penalty", "seed")


def sampling_params(section: Sampling) -> dict[str, Any]:
    """The sampling parameters of a generation/validation section (those that change the data)."""
    return section.model_dump(include=set(SAMPLING_KEYS))


class ExperimentConfig(Section):
    """What every experiment config has: its header, the dataset it reads and how the generation stage samples.
    A recipe's config model (`Recipe.config_model`) subclasses it with the recipe's own sections."""

    experiment: ExperimentSection = Field(default_factory=ExperimentSection)
    dataset: DatasetSection
    generation: Sampling = Field(default_factory=Sampling)

    def resolved_batch_id(self, today: dt.date | None = None) -> str:
        return self.experiment.batch_id or default_batch_id(self.experiment.purpose, today)

    def semantic_name(self) -> str:
        """`temp07_topp10_gpt4o`: temperature, top_p and model of the generation stage."""
        g = self.generation
        return f"temp{number_slug(g.temperature)}_topp{number_slug(g.top_p)}{self.name_suffix()}_{model_slug(g.model or '')}"

    def name_suffix(self) -> str:
        """What a recipe adds to the semantic name before the model (e.g. `_n4`)."""
        return ""


class ExperimentRecipe(Protocol):
    """What the config parser needs of the recipe a dataset's catalog entry names (`synth_assets.recipes.base.Recipe`)."""

    config_model: type[ExperimentConfig]

    def complete_config(self, raw: dict, entry: CatalogEntry, folder: Path) -> dict: ...

    def check_experiment(self, exp: "Experiment", path: str, lines: dict) -> None: ...


RecipeFor = Callable[[CatalogEntry], ExperimentRecipe]  # the recipe of a catalog entry (raises ConfigError if it has none)


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

    def semantic_name(self) -> str:
        return self.config.semantic_name()


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


class _Header(Section):
    """The sections read before the recipe is known (the dataset names it); the rest waits for the recipe's model."""

    model_config = ConfigDict(extra="ignore")
    experiment: ExperimentSection = Field(default_factory=ExperimentSection)
    dataset: DatasetSection


def parse_experiments(raw: Any, path: str, lines: dict, root: str | Path | None,
                      recipe_for: RecipeFor) -> list[tuple[Experiment, dict]]:
    """Validate one parsed config (maybe a sweep) into experiments with their sweep points; `recipe_for` gives the
    recipe of the dataset's catalog entry (its config model, defaults and checks)."""
    if not isinstance(raw, dict):
        raise ConfigError(path, "a config must be a mapping with experiment/dataset/generation sections", line=1)
    experiments = []
    for expanded, point in _expand_sweeps(raw, path, lines):
        header = validate_model(_Header, expanded, path, lines)
        try:
            entry = find_entry(header.dataset.dataset_name, root)
        except KeyError as exc:
            raise ConfigError(path, exc.args[0], line=line_for(lines, ("dataset", "dataset_name")), field="dataset.dataset_name") from None
        recipe = recipe_for(entry)
        validate_model(recipe.config_model, expanded, path, lines)  # what the user wrote, before the recipe's defaults
        entry.content_hash  # fail now, with the file named, if a data file is missing
        config = validate_model(recipe.config_model, recipe.complete_config(expanded, entry, Path(path).parent), path, lines)
        exp = Experiment(config=config, entry=entry, source_file=path)
        _check_paths(exp, path, lines, root)
        recipe.check_experiment(exp, path, lines)
        experiments.append((exp, point))
    return experiments


def _check_paths(exp: Experiment, path: str, lines: dict, root: str | Path | None) -> None:
    """Every store key the experiment will write fits the store (whole S3 keys, local components and paths)."""
    batch_id = exp.config.resolved_batch_id()
    problem = key_problem(root, experiment_keys(batch_id, exp.dataset, exp.semantic_name(), list(exp.entry.splits)))
    if problem is None:
        return
    blamed = max([("experiment", "batch_id" if exp.config.experiment.batch_id else "purpose", batch_id),
                  ("dataset", "dataset_name", exp.dataset)], key=lambda b: len(b[2].encode()))[:2]
    raise ConfigError(path, f"{problem}: use a shorter {blamed[1].replace('_', ' ')}", line=line_for(lines, blamed),
                      field=".".join(blamed))


def load_experiments(path: str | Path, root: str | Path | None, recipe_for: RecipeFor,
                     text: str | bytes | None = None) -> list[Experiment]:
    """Load an experiment YAML (one experiment or a sweep; `text`: its content when it is not a local file);
    `synth_assets.recipes.registry.load_experiments` passes the installed recipes."""
    raw, lines = load_yaml_with_lines(path, text)
    return [exp for exp, _ in parse_experiments(raw, str(path), lines, root, recipe_for)]
