"""Dagster resource handing out the process-safe lineage store of a data root."""

from __future__ import annotations

import os
from pathlib import Path

from dagster import ConfigurableResource
from pydantic import PrivateAttr

from synth_assets.core.lineage import Lineage


class LineageResource(ConfigurableResource):
    """Lineage DuckDB at ``{root}/lineage.duckdb``; root defaults to $SYNTH_ROOT or ./data."""

    root: str | None = None

    _lineage: Lineage | None = PrivateAttr(default=None)

    @property
    def db_path(self) -> Path:
        root = self.root or os.environ.get("SYNTH_ROOT", "./data")
        return Path(root).absolute() / "lineage.duckdb"

    def get(self) -> Lineage:
        """The (cached) :class:`Lineage` for this root."""
        if self._lineage is None:
            self._lineage = Lineage(self.db_path)
        return self._lineage
