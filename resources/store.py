"""Dagster resource for the shared store of a data root."""

from __future__ import annotations

from dagster import ConfigurableResource

from synth_assets.core.lineage import Lineage
from synth_assets.core.root import default_root, lineage_path
from synth_assets.core.store import Store


class StoreResource(ConfigurableResource):
    """The shared store (local path or `s3://bucket/prefix`; default `$SYNTH_ROOT` or `./data`) and its lineage."""

    root: str | None = None

    @property
    def store(self) -> Store:
        return Store(self.root or default_root())

    @property
    def lineage(self) -> Lineage:
        return Lineage(lineage_path(self.root or default_root()))
