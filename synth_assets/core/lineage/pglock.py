"""A PostgreSQL advisory lock: one lineage writer at a time across every machine.

DuckLake has no primary keys, and two transactions that insert the same key both commit (inserts
never conflict). The writers therefore take this session-level lock on the catalog database
before they read-then-write; PostgreSQL drops it when a holder's connection dies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
from psycopg2 import errors

KEY = int.from_bytes(hashlib.sha256(b"synth_assets.lineage.writer").digest()[:8], "big", signed=True)


class AdvisoryLock:
    """``pg_advisory_lock`` on its own connection to the catalog database (reopened when it broke)."""

    def __init__(self, dsn: str, timeout_s: float, describe: str):
        self.dsn = dsn
        self.timeout_s = timeout_s
        self.describe = describe
        self._conn = None

    def _execute(self, sql: str, params: list | None = None):
        for attempt in range(2):
            if self._conn is None or self._conn.closed:
                try:
                    self._conn = psycopg2.connect(self.dsn, application_name="synth-lineage", connect_timeout=30)
                except psycopg2.OperationalError as exc:
                    raise RuntimeError(f"cannot reach the lineage catalog {self.describe}: {exc}".strip()) from None
                self._conn.autocommit = True
                with self._conn.cursor() as cur:
                    cur.execute("SET lock_timeout = %s", [f"{int(self.timeout_s * 1000)}ms"])
            try:
                with self._conn.cursor() as cur:
                    cur.execute(sql, params)
                    return cur.fetchone() if cur.description else None
            except (psycopg2.OperationalError, psycopg2.InterfaceError):
                self.close()
                if attempt:
                    raise

    @contextmanager
    def hold(self) -> Iterator[None]:
        try:
            self._execute("SELECT pg_advisory_lock(%s)", [KEY])
        except errors.LockNotAvailable:
            raise TimeoutError(f"lineage writer lock on {self.describe} not acquired within "
                               f"{self.timeout_s:g} s (another writer holds it)") from None
        try:
            yield
        finally:
            self._execute("SELECT pg_advisory_unlock(%s)", [KEY])

    def snapshot_id(self) -> int:
        """The lake's latest DuckLake snapshot id (a cheap query on the catalog's primary key)."""
        return self._execute("SELECT coalesce(max(snapshot_id), -1) FROM ducklake_snapshot")[0]

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
