"""Dagster resource for the shared store of a data root, its lineage, and the registrations runs resolve."""

from __future__ import annotations

from typing import Any

from dagster import ConfigurableResource
from pydantic import Field, PrivateAttr

from synth_assets.core.lineage import Lineage
from synth_assets.core.root import lineage_path
from synth_assets.core.store import Store
from synth_assets.core.stores import open_store


class StoreResource(ConfigurableResource):
    """The shared store (a local path or `s3://bucket/prefix`) and its lineage, opened once per process."""

    root: str = Field(description="Store root: a local path or s3://bucket/prefix ($SYNTH_ROOT, default ./data)")
    _store: Store | None = PrivateAttr(default=None)
    _lineage: Lineage | None = PrivateAttr(default=None)
    _records: dict[tuple[str, str], dict[str, Any]] = PrivateAttr(default_factory=dict)
    _jobs: dict[str, Any] = PrivateAttr(default_factory=dict)

    @property
    def store(self) -> Store:
        if self._store is None:  # an S3 store checks its bucket when opened
            self._store = open_store(self.root)
        return self._store

    @property
    def lineage(self) -> Lineage:
        if self._lineage is None:
            self._lineage = Lineage(lineage_path(self.root))
        return self._lineage

    def record(self, dataset: str, name: str | None, fingerprint_prefix: str) -> dict[str, Any]:
        """The registration of a partition, resolved once per process: by its name marker (no listing)
        or, for keys of older instances, by fingerprint prefix."""
        cache_key = (dataset, f"{name}/{fingerprint_prefix}")
        if cache_key not in self._records:
            record = self.store.record_by_name(dataset, name) if name else self.store.registration(fingerprint_prefix)
            if record is None or not record["fingerprint"].startswith(fingerprint_prefix) or record["dataset"] != dataset:
                raise KeyError(f"no registered experiment {name or ''} {fingerprint_prefix} of {dataset} under {self.store.root_uri}")
            self._records[cache_key] = record
        return self._records[cache_key]

    def job(self, recipe: Any, record: dict[str, Any]) -> Any:
        """The recipe's job for a registration (built and checked once per process)."""
        if record["fingerprint"] not in self._jobs:
            self._jobs[record["fingerprint"]] = recipe.load(record, self.store)
        return self._jobs[record["fingerprint"]]
