"""What a lineage target names (a local DuckDB file, or a DuckLake URL) and the DuckLake settings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from synth_assets.core.root import LINEAGE_URL_PREFIX as PREFIX


def is_ducklake_url(target: str) -> bool:
    return str(target).startswith(PREFIX)


def dsn(url: str) -> str:
    """The libpq connection string of a `ducklake:postgres:` URL (its Postgres catalog)."""
    return url[len(PREFIX):]


def redact(url: str) -> str:
    """The URL with any ``password=...`` hidden (for messages and logs)."""
    return re.sub(r"(password\s*=\s*)('[^']*'|\S+)", r"\1***", url)


@dataclass(frozen=True)
class DuckLakeSettings:
    inline_rows: int = 1000          # inserts of at most this many rows go to the catalog, not Parquet
    flush_every: int = 1000          # snapshots between flushes of inlined append-only rows (0: never)
    compact_every: int = 10_000      # snapshots between merges of small files + expiry (0: never)
    retention: timedelta = timedelta(days=7)  # snapshots (time travel) kept by the expiry
