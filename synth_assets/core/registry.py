"""Registering experiments: fingerprint, name, batch membership, reuse."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import yaml

from synth_assets.core.catalog import find_entry
from synth_assets.core.config import Experiment, ExperimentConfig
from synth_assets.core.fingerprint import SCHEME, Fingerprints, fingerprint, semantic_name, short
from synth_assets.core.lineage import Lineage
from synth_assets.core.store import Store


@dataclass(frozen=True)
class RecordRegistration:
    """What registering a stored thing (an experiment, a judge drop) in a batch found."""

    record: dict[str, Any]
    batch_id: str
    complete: bool
    origin_batch: str
    created_at: str
    view_uri: str | None

    @property
    def fingerprint(self) -> str:
        return self.record["fingerprint"]

    @property
    def name(self) -> str:
        return self.record["semantic_name"]

    @property
    def recipe(self) -> str:
        return self.record["recipe"]

    @property
    def partition_key(self) -> dict[str, str]:
        return {"dataset": self.record["dataset"], "fingerprint": short(self.fingerprint)}

    @property
    def reused(self) -> bool:
        """The data is (or will be) made by another batch."""
        return self.origin_batch != self.batch_id

    def report(self) -> str:
        if self.complete and self.reused:
            return f"reused — origin batch {self.origin_batch}, created at {self.created_at}"
        if self.complete:
            return "complete — made by this batch"
        return "new — to generate" if not self.reused else f"pending — registered first by {self.origin_batch}"


@dataclass(frozen=True)
class Registration(RecordRegistration):
    """An experiment's registration, with the experiment and its stage fingerprints."""

    experiment: Experiment | None = None
    fingerprints: Fingerprints | None = None


def config_yaml(exp: Experiment, batch_id: str) -> str:
    """The resolved config as YAML (defaults applied; never a secret: configs hold none)."""
    data = exp.config.model_dump(mode="json")
    data["experiment"]["batch_id"] = batch_id
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def register_record(
    draft: dict[str, Any], preferred_name: str, store: Store, lineage: Lineage, *, batch_id: str,
    purpose: str | None = None, description: str | None = None,
) -> RecordRegistration:
    """Save a registration (first one wins), reserve its name, record batch membership in lineage,
    and link the batch view when the data is already complete."""
    fingerprint_ = draft["fingerprint"]
    new = False
    try:
        record = store.registration(fingerprint_)
    except KeyError:
        name = store.reserve_name(draft["dataset"], preferred_name, fingerprint_)
        mine = {**draft, "semantic_name": name, "origin_batch": batch_id,
                "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        record = store.save_registration(mine)
        new = record is mine  # another process may have registered it first
    dataset, name = record["dataset"], record["semantic_name"]
    lineage.record_batch(batch_id, purpose=purpose, description=description)
    lineage.record_experiment(
        fingerprint=fingerprint_,
        scheme=record["scheme"],
        dataset=dataset,
        semantic_name=name,
        shared_path=store.experiment_uri(dataset, name),
        params=record["params"],
        config_yaml=record["config_yaml"],
        origin_batch=record["origin_batch"],
    )
    origin = lineage.origin(fingerprint_) or {}
    origin_batch = origin.get("batch_id") or record["origin_batch"]
    # membership before the completeness check: a run publishing meanwhile then links this view itself
    lineage.record_membership(
        batch_id=batch_id, dataset=dataset, fingerprint=fingerprint_,
        view_path=store.view_uri(batch_id, dataset, name), reused=origin_batch != batch_id,
    )
    complete = not new and store.is_complete(dataset, name, fingerprint_)
    view = store.uri(store.link(batch_id, dataset, name)) if complete else None
    created = origin.get("created_at")
    created_at = created.strftime("%Y-%m-%d %H:%M:%S") if isinstance(created, dt.datetime) else str(created or record["created_at"])
    return RecordRegistration(record, batch_id, complete, origin_batch, created_at, view)


def register(exp: Experiment, store: Store, lineage: Lineage, *, today: dt.date | None = None) -> Registration:
    """Register an experiment in its batch; link the batch view when the data already exists."""
    fps = fingerprint(exp)
    batch_id = exp.config.resolved_batch_id(today)
    draft = {
        "fingerprint": fps.experiment,
        "scheme": SCHEME,
        "dataset": exp.dataset,
        "recipe": exp.recipe,
        "stages": fps.stages,
        "params": fps.params,
        "config": exp.config.model_dump(mode="json"),
        "config_yaml": config_yaml(exp, batch_id),
        "source_file": exp.source_file,
    }
    reg = register_record(draft, semantic_name(exp), store, lineage, batch_id=batch_id,
                          purpose=exp.config.experiment.purpose, description=exp.config.experiment.description)
    return Registration(reg.record, batch_id, reg.complete, reg.origin_batch, reg.created_at, reg.view_uri, exp, fps)


def load_registered(store: Store, fingerprint_or_prefix: str) -> tuple[Experiment, dict[str, Any]]:
    """Rebuild a registered experiment and check its source data has not changed since."""
    record = store.registration(fingerprint_or_prefix)
    config = ExperimentConfig.model_validate(record["config"])
    exp = Experiment(config=config, entry=find_entry(record["dataset"], store.root_uri), source_file=record.get("source_file", ""))
    current = fingerprint(exp)
    if current.experiment != record["fingerprint"]:
        raise RuntimeError(
            f"experiment {short(record['fingerprint'])} ({record['dataset']}/{record['semantic_name']}) no longer matches "
            f"its inputs (now {short(current.experiment)}): a source file or catalog prompt changed since it was registered; "
            "register the config again to get a new fingerprint"
        )
    return exp, record
