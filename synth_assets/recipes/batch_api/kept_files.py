"""Where the Batch API pipeline keeps the input files it submits (and the slice metadata of a set).

Content-addressed copies, so that resubmissions of missing lines are cut from exactly what was sent:
in the local state dir (`{state}/.synth/batch_api/`) for a machine's own ledger; in the store
(`{root}/.synth/batch_api/`, e.g. on S3) when the ledger is shared, so that every machine can read
what another one submitted. Locations are local paths or `s3://` URLs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synth_assets.core.store import Store
from synth_assets.core.store_s3 import read_url
from synth_assets.recipes.batch_api.build import InputFile, read_meta, validate_input
from synth_assets.recipes.batch_api.util import atomic_write_bytes

PREFIX = ".synth/batch_api"


class KeptFiles:
    def __init__(self, root: str, folder: Path, shared: bool):
        self.root, self.folder, self.shared = root, folder, shared
        self._store: Store | None = None

    def keep(self, relative: str, data: bytes) -> str:
        """Keep `data` once under `relative` (content-addressed: an existing copy is the same); its location."""
        if not self.shared:
            path = self.folder / relative
            if not path.is_file():
                atomic_write_bytes(path, data)
            return str(path)
        if self._store is None:
            self._store = Store(self.root)
        key = f"{PREFIX}/{relative}"
        self._store.create_exclusive(key, data)
        return self._store.uri(key)


def read_input(location: str | Path) -> InputFile:
    """A kept (or the user's) input file, validated."""
    if str(location).startswith("s3://"):
        try:
            return validate_input(location, read_url(str(location)))
        except FileNotFoundError:
            return validate_input(location)  # the InputError that names it
    return validate_input(location)


def read_kept_meta(location: str | Path | None) -> dict[str, dict[str, Any]]:
    """custom_id -> slice fields of a kept `meta.jsonl` (empty when there is none)."""
    if location is None or not str(location).startswith("s3://"):
        return read_meta(location)
    try:
        lines = read_url(str(location)).decode("utf-8").splitlines()
    except FileNotFoundError:
        return {}
    return {row["custom_id"]: row for row in map(json.loads, filter(str.strip, lines))}
