"""Value conventions shared by the backends: naive UTC timestamps, rows as dicts."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import duckdb


def utc(dt: datetime | None = None) -> datetime:
    """Naive UTC datetime; ``None`` means now, naive input is assumed UTC."""
    if dt is None:
        return datetime.now(timezone.utc).replace(tzinfo=None)
    if dt.tzinfo is not None:
        return dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt


def rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def experiment_rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    found = rows(cur)
    for row in found:
        row["params"] = json.loads(row["params"]) if row["params"] else {}
    return found
