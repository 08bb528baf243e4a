"""What a stage asset hands to the IO manager for one partition (built by `stage_assets.py`, stored by
`io_managers/shared_store.py`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from synth_assets.core.store import Store


@dataclass
class StageOutput:
    """What a stage asset hands to the IO manager for one partition."""

    stage: str
    dataset: str
    record: dict[str, Any]
    rows: list[dict[str, Any]] | None
    reused: bool
    started_at: dt.datetime
    key: str | None = None  # the data file's key in the store
    content_hash: str | None = None
    llm_usage: dict[str, Any] | None = None
    llm_model: tuple[str, str] | None = None
    upstream: list[dict[str, str]] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    preview_rows: list[dict[str, Any]] | None = None  # rows carrying the recipe's provenance, when the output's own rows lack it

    @property
    def stage_fingerprint(self) -> str:
        return self.record["stages"][self.stage]

    def read_rows(self, store: Store) -> list[dict[str, Any]]:
        """The output's rows; read from the store (once) when the stage was reused."""
        if self.rows is None:
            self.rows = store.read_jsonl(self.key)
        return self.rows
