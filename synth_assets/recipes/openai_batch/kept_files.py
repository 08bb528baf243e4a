"""Where the Batch API pipeline keeps the input files it submits (and the slice metadata of a set).

Content-addressed copies, so that resubmissions of missing lines are cut from exactly what was sent,
in the local state dir (`{state}/.synth/batch_api/{inputs|meta}/{digest}.jsonl`, the location the
ledger records). When the ledger is shared, every copy also goes into the store under the same
relative key (`{root}/.synth/batch_api/...`, e.g. on S3), and a machine that lacks a copy another
machine recorded reads it from there.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synth_assets.core.store import Store
from synth_assets.core.stores import open_store
from synth_assets.recipes.openai_batch.build import InputFile, read_meta, validate_input
from synth_assets.recipes.openai_batch.util import atomic_write_bytes

PREFIX = ".synth/batch_api"


class KeptFiles:
    def __init__(self, root: str, folder: Path, shared: bool):
        self.root, self.folder, self.shared = root, folder, shared
        self._store: Store | None = None

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = open_store(self.root)
        return self._store

    def keep(self, relative: str, data: bytes) -> Path:
        """Keep `data` once as `relative` (content-addressed: an existing copy is the same); its local path."""
        path = self.folder / relative
        if not path.is_file():
            atomic_write_bytes(path, data)
        if self.shared:
            self.store.create_exclusive(f"{PREFIX}/{relative}", data)
        return path

    def _read(self, location: str | Path) -> bytes | None:
        """A kept file: this machine's copy, else (shared ledger) the store's; None when neither exists."""
        path = Path(location)
        if path.is_file():
            return path.read_bytes()
        if not self.shared:
            return None
        try:
            return self.store.read_bytes(f"{PREFIX}/{path.parent.name}/{path.name}")
        except FileNotFoundError:
            return None

    def read_input(self, location: str | Path) -> InputFile:
        """A kept (or the user's own) input file, validated; an InputError names it when it is nowhere."""
        data = self._read(location)
        return validate_input(location, data) if data is not None else validate_input(location)

    def read_meta(self, location: str | Path | None) -> dict[str, dict[str, Any]]:
        """custom_id -> slice fields of a kept `meta.jsonl` (empty when there is none)."""
        data = self._read(location) if location else None
        if data is None:
            return read_meta(location)
        return {row["custom_id"]: row for row in map(json.loads, filter(str.strip, data.decode("utf-8").splitlines()))}
