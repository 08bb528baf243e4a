"""Small local-file helpers: atomic writes of the files a machine keeps for itself (its state dir)."""

from __future__ import annotations

from pathlib import Path

from synth_assets.core.root import lineage_path, state_dir
from synth_assets.core.store_local import atomic_write_bytes as _atomic_write_bytes

__all__ = ["atomic_write_bytes", "atomic_write_text", "lineage_db", "state_dir"]


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write a file so that readers see the old content or the new, never a part."""
    _atomic_write_bytes(Path(path), data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def lineage_db(root: str | Path) -> Path:
    return lineage_path(root)
