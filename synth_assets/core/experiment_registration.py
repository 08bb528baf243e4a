"""Registering an experiment (a config over a catalog dataset) and loading it back.

The recipe named by the dataset's catalog entry decides what goes into each stage's fingerprint and brings
its config model; the layer above (`synth_assets.recipes.registry`) passes them in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import yaml

from synth_assets.core.catalog import find_entry
from synth_assets.core.config import Experiment, ExperimentConfig
from synth_assets.core.fingerprint import Fingerprints, short
from synth_assets.core.lineage import Lineage
from synth_assets.core.registry import Registration, draft_record, register_record
from synth_assets.core.store import Store


def semantic_name(exp: Experiment) -> str:
    """`temp07_topp10_gpt4o`: temperature, top_p and model of the generation stage (and what the recipe adds, e.g. `_n4`)."""
    return exp.semantic_name()


def config_yaml(exp: Experiment, batch_id: str) -> str:
    """The resolved config as YAML (defaults applied; never a secret: configs hold none)."""
    data = exp.config.model_dump(mode="json")
    data["experiment"]["batch_id"] = batch_id
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def register_experiment(exp: Experiment, fps: Fingerprints, store: Store, lineage: Lineage, *,
                        today: dt.date | None = None) -> Registration:
    """Register an experiment with its fingerprints in its batch; link the batch view when the data already exists."""
    batch_id = exp.config.resolved_batch_id(today)
    draft = draft_record(fps, dataset=exp.dataset, recipe=exp.recipe, config=exp.config.model_dump(mode="json"),
                         config_yaml=config_yaml(exp, batch_id), source_file=exp.source_file)
    return register_record(draft, semantic_name(exp), store, lineage, batch_id=batch_id, purpose=exp.config.experiment.purpose,
                           description=exp.config.experiment.description, job=exp, fingerprints=fps)


def load_registered(record: dict[str, Any], store: Store, config_model: type[ExperimentConfig],
                    fingerprints: Callable[[Experiment], Fingerprints]) -> Experiment:
    """Rebuild a registered experiment and check its source data has not changed since."""
    config = config_model.model_validate(record["config"])
    exp = Experiment(config=config, entry=find_entry(record["dataset"], store.root_uri), source_file=record.get("source_file", ""))
    current = fingerprints(exp)
    if current.experiment != record["fingerprint"]:
        raise RuntimeError(
            f"experiment {short(record['fingerprint'])} ({record['dataset']}/{record['semantic_name']}) no longer matches "
            f"its inputs (now {short(current.experiment)}): a source file or catalog prompt changed since it was registered; "
            "register the config again to get a new fingerprint"
        )
    return exp
