"""Opening the store of a root: `S3Store` for `s3://bucket/prefix`, else `LocalStore` (a folder)."""

from __future__ import annotations

from pathlib import Path

from synth_assets.core.store import Store
from synth_assets.core.store_local import LocalStore
from synth_assets.core.store_s3 import S3Store


def open_store(root: str | Path) -> Store:
    return S3Store(str(root)) if str(root).startswith("s3://") else LocalStore(root)
