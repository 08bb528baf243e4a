"""Registering what a recipe will make: one registration type for every recipe.

A registration is a JSON record in the store (`.synth/experiments/{fingerprint}.json`, first one
saved wins) plus its name marker, its batch membership in lineage and, when the data is complete
already, the batch view. Recipes build the draft (fingerprints, params, config) and call
`register_record`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from synth_assets.core.fingerprint import Fingerprints
from synth_assets.core.lineage import Lineage
from synth_assets.core.store import Store


@dataclass(frozen=True)
class Registration:
    """What registering a recipe's job (an experiment, a drop, a collection) in a batch found."""

    record: dict[str, Any]
    batch_id: str
    complete: bool
    origin_batch: str
    created_at: str
    view_uri: str | None
    job: Any = None  # the recipe's job (Experiment, Collection, ...) when the caller built it
    fingerprints: Fingerprints | None = None

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
    def dataset(self) -> str:
        return self.record["dataset"]

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

    @classmethod
    def of_record(cls, record: dict[str, Any], complete: bool = False) -> "Registration":
        """A registration seen from its origin batch (backfills, regenerate)."""
        return cls(record, record["origin_batch"], complete, record["origin_batch"], record["created_at"], None)


def draft_record(fps: Fingerprints, *, dataset: str, recipe: str, config: dict[str, Any], config_yaml: str,
                 source_file: str, **extra: Any) -> dict[str, Any]:
    """The registration record of a job, before it has a name and an origin batch."""
    return {"fingerprint": fps.experiment, "scheme": fps.scheme, "dataset": dataset, "recipe": recipe, "stages": fps.stages,
            "params": fps.params, "config": config, "config_yaml": config_yaml, "source_file": source_file, **extra}


def _drop_failed_holder(store: Store, lineage: Lineage, dataset: str, name: str) -> None:
    """A corrected config gets the name of the failed registration it replaces: that one is dropped (it holds no data)."""
    holder = store.failed_holder(dataset, name)
    if holder is None:
        return
    store.remove_registration(holder)
    store.clear_failure(holder)
    store.release_name(dataset, name)
    lineage.remove_experiment(holder)


def register_record(
    draft: dict[str, Any], preferred_name: str, store: Store, lineage: Lineage, *, batch_id: str,
    purpose: str | None = None, description: str | None = None, job: Any = None, fingerprints: Fingerprints | None = None,
) -> Registration:
    """Save a registration (first one wins), reserve its name, record batch membership in lineage,
    and link the batch view when the data is already complete."""
    fingerprint = draft["fingerprint"]
    new = False
    try:
        record = store.registration(fingerprint)
    except KeyError:
        _drop_failed_holder(store, lineage, draft["dataset"], preferred_name)
        name = store.reserve_name(draft["dataset"], preferred_name, fingerprint)
        mine = {**draft, "semantic_name": name, "origin_batch": batch_id,
                "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        record = store.save_registration(mine)
        new = record is mine  # another process may have registered it first
    dataset, name = record["dataset"], record["semantic_name"]
    lineage.record_batch(batch_id, purpose=purpose, description=description)
    lineage.record_experiment(
        fingerprint=fingerprint, scheme=record["scheme"], dataset=dataset, semantic_name=name,
        shared_path=store.experiment_uri(dataset, name), params=record["params"], config_yaml=record["config_yaml"],
        origin_batch=record["origin_batch"],
    )
    origin = lineage.origin(fingerprint) or {}
    origin_batch = origin.get("batch_id") or record["origin_batch"]
    # membership before the completeness check: a run publishing meanwhile then links this view itself
    lineage.record_membership(
        batch_id=batch_id, dataset=dataset, fingerprint=fingerprint,
        view_path=store.view_uri(batch_id, dataset, name), reused=origin_batch != batch_id,
    )
    complete = not new and store.is_complete(dataset, name, fingerprint)
    view = store.uri(store.link(batch_id, dataset, name)) if complete else None
    created = origin.get("created_at")
    created_at = created.strftime("%Y-%m-%d %H:%M:%S") if isinstance(created, dt.datetime) else str(created or record["created_at"])
    return Registration(record, batch_id, complete, origin_batch, created_at, view, job, fingerprints)
