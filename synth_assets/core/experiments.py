"""Experiments (an experiment config over a catalog dataset): fingerprints, names, registration.

The recipe named by the dataset's catalog entry decides what goes into each stage's fingerprint
(`Recipe.fingerprints`); this module only assembles the shared parts and registers.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import yaml

from synth_assets.core.catalog import find_entry
from synth_assets.core.config import Experiment, ExperimentConfig, Sampling
from synth_assets.core.fingerprint import SCHEME, Fingerprints, canonical, model_slug, number_slug, short, stage_fingerprints
from synth_assets.core.lineage import Lineage
from synth_assets.core.registry import Registration, draft_record, register_record
from synth_assets.core.store import Store

SAMPLING_KEYS = ("backend", "model", "temperature", "top_p", "max_tokens", "frequency_penalty", "presence_penalty", "seed")


def sampling_params(section: Sampling) -> dict[str, Any]:
    """The sampling parameters of a generation/validation section (those that change the data)."""
    return section.model_dump(include=set(SAMPLING_KEYS))


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


def fingerprint(exp: Experiment) -> Fingerprints:
    """Every stage fingerprint of an experiment, as its recipe defines them."""
    from synth_assets.recipes.base import get

    return get(exp.recipe).fingerprints(exp)


def semantic_name(exp: Experiment) -> str:
    """`temp07_topp10_gpt4o`: temperature, top_p and model of the generation stage (`_n4` with 4 candidates per field)."""
    g = exp.config.generation
    best_of = f"_n{g.n}" if g.n > 1 else ""
    return f"temp{number_slug(g.temperature)}_topp{number_slug(g.top_p)}{best_of}_{model_slug(g.model or '')}"


def config_yaml(exp: Experiment, batch_id: str) -> str:
    """The resolved config as YAML (defaults applied; never a secret: configs hold none)."""
    data = exp.config.model_dump(mode="json")
    data["experiment"]["batch_id"] = batch_id
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def register(exp: Experiment, store: Store, lineage: Lineage, *, today: dt.date | None = None) -> Registration:
    """Register an experiment in its batch; link the batch view when the data already exists."""
    fps = fingerprint(exp)
    batch_id = exp.config.resolved_batch_id(today)
    draft = draft_record(fps, dataset=exp.dataset, recipe=exp.recipe, config=exp.config.model_dump(mode="json"),
                         config_yaml=config_yaml(exp, batch_id), source_file=exp.source_file)
    registration = register_record(draft, semantic_name(exp), store, lineage, batch_id=batch_id, purpose=exp.config.experiment.purpose,
                                   description=exp.config.experiment.description, job=exp, fingerprints=fps)
    if exp.config.evaluation:
        from synth_assets.evaluation.stored import save_specs

        save_specs(store, registration.fingerprint, exp.config.evaluation)
    return registration


def load_registered(record: dict[str, Any], store: Store) -> Experiment:
    """Rebuild a registered experiment and check its source data has not changed since."""
    config = ExperimentConfig.model_validate(record["config"])
    exp = Experiment(config=config, entry=find_entry(record["dataset"], store.root_uri), source_file=record.get("source_file", ""))
    current = fingerprint(exp)
    if current.experiment != record["fingerprint"]:
        raise RuntimeError(
            f"experiment {short(record['fingerprint'])} ({record['dataset']}/{record['semantic_name']}) no longer matches "
            f"its inputs (now {short(current.experiment)}): a source file or catalog prompt changed since it was registered; "
            "register the config again to get a new fingerprint"
        )
    return exp
