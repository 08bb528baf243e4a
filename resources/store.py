"""Dagster resource for the shared store of a data root."""

from __future__ import annotations

from dagster import ConfigurableResource

from synth_assets.core.lineage import Lineage
from synth_assets.core.root import default_root
from synth_assets.core.store import Store


class StoreResource(ConfigurableResource):
    """The shared store and its lineage database under `root` (default `$SYNTH_ROOT` or `./data`)."""

    root: str | None = None

    @property
    def store(self) -> Store:
        return Store(self.root or default_root())

    @property
    def lineage(self) -> Lineage:
        return Lineage(self.store.root / "lineage.duckdb")
