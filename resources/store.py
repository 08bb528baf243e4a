"""Dagster resource for the shared store of a data root."""

from __future__ import annotations

from dagster import ConfigurableResource
from pydantic import PrivateAttr

from synth_assets.core.lineage import Lineage
from synth_assets.core.root import default_root, lineage_path
from synth_assets.core.store import Store


class StoreResource(ConfigurableResource):
    """The shared store (local path or `s3://bucket/prefix`; default `$SYNTH_ROOT` or `./data`) and its lineage."""

    root: str | None = None
    _opened: dict[str, tuple[Store, Lineage]] = PrivateAttr(default_factory=dict)

    def _open(self) -> tuple[Store, Lineage]:
        """One store and lineage per resolved root (an S3 store checks its bucket when opened)."""
        root = self.root or default_root()
        if root not in self._opened:
            self._opened[root] = (Store(root), Lineage(lineage_path(root)))
        return self._opened[root]

    @property
    def store(self) -> Store:
        return self._open()[0]

    @property
    def lineage(self) -> Lineage:
        return self._open()[1]
