"""Durable request cache: a SQLite file (WAL mode) per machine, or objects in the shared store.

`SYNTH_LLM_CACHE` chooses: `sqlite` (the default for local store roots: `.cache/llm_cache.sqlite`
in the store's state dir) or `store` (the default for `s3://` roots: `.synth/llm_cache/` in the
store itself, seen by every worker; `store_cache.StoreResponseCache`).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from synth_assets.core.root import default_root, state_dir

if TYPE_CHECKING:
    from synth_assets.llm.store_cache import StoreResponseCache

_SCHEMA = "CREATE TABLE IF NOT EXISTS responses (key TEXT PRIMARY KEY, value TEXT NOT NULL, created REAL NOT NULL)"
_CHUNK = 500  # stays under SQLite's host-parameter limit
CACHE_ENV = "SYNTH_LLM_CACHE"
KINDS = ("sqlite", "store")


def default_cache_path(root: str | os.PathLike[str] | None = None) -> Path:
    """`.cache/llm_cache.sqlite` in the local state dir of the store `root` (default `$SYNTH_ROOT`, else `./data`)."""
    return state_dir(root or default_root()) / ".cache" / "llm_cache.sqlite"


def cache_kind(root: str | os.PathLike[str]) -> str:
    """`$SYNTH_LLM_CACHE` (sqlite | store), else `store` for an `s3://` root and `sqlite` for a local one."""
    kind = os.environ.get(CACHE_ENV, "").strip().lower()
    if not kind:
        return "store" if str(root).startswith("s3://") else "sqlite"
    if kind not in KINDS:
        raise ValueError(f"{CACHE_ENV}={kind!r}: expected one of {', '.join(KINDS)}")
    return kind


def cache_options(root: str) -> dict[str, str]:
    """The `LLMClient` cache arguments for the store `root`: the store itself or its SQLite file (`cache_kind`)."""
    return {"cache_root": root} if cache_kind(root) == "store" else {"cache_path": str(default_cache_path(root))}


def open_cache(path: str | os.PathLike[str] | None = None, root: str | None = None) -> "ResponseCache | StoreResponseCache":
    """The store cache of `root` when given, else the SQLite file `path`; with neither, what the
    default store root (`$SYNTH_ROOT`) selects (`cache_kind`)."""
    if root is None and path is None:
        if cache_kind(default_root()) == "store":
            root = default_root()
    if root is not None:
        from synth_assets.llm.store_cache import StoreResponseCache  # loads the store (and S3 client) only when used

        return StoreResponseCache(root)
    return ResponseCache(path or default_cache_path())


def cache_key(backend: str, model: str, params: dict[str, Any], messages: list[dict[str, str]], sample_index: int) -> str:
    """sha256 of the canonical JSON of everything that determines a sample (never endpoint or credentials)."""
    payload = {"backend": backend, "model": model, "params": params, "messages": messages, "sample_index": sample_index}
    blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


class ResponseCache:
    """Key -> response dict. Each `put` commits at once, so a killed run keeps what it already received."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=60, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA busy_timeout=60000")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = list(dict.fromkeys(keys))
        found: dict[str, dict[str, Any]] = {}
        for i in range(0, len(keys), _CHUNK):
            chunk = keys[i : i + _CHUNK]
            marks = ",".join("?" * len(chunk))
            for key, value in self._db.execute(f"SELECT key, value FROM responses WHERE key IN ({marks})", chunk):
                found[key] = json.loads(value)
        return found

    def put(self, key: str, value: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO responses (key, value, created) VALUES (?, ?, ?)",
            (key, json.dumps(value, ensure_ascii=False), time.time()),
        )

    def close(self) -> None:
        self._db.close()
