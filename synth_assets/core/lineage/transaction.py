"""One open lineage transaction: its connection, and the writes made in it (for a replay)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import duckdb

T = TypeVar("T")
Write = Callable[[duckdb.DuckDBPyConnection], object]


class Transaction:
    """A connection inside BEGIN; `write` runs and remembers each write so a backend can replay them.

    Writes are idempotent upserts and appends, so replaying them in a fresh transaction after a
    commit conflict records the same facts (reads made in the first attempt are not repeated).
    """

    def __init__(self, con: duckdb.DuckDBPyConnection):
        self.con = con
        self.writes: list[Write] = []

    def write(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        result = fn(self.con)
        self.writes.append(fn)
        return result

    def read(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        return fn(self.con)
