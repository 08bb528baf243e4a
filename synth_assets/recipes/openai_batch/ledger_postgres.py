"""The Batch API ledger in the shared lineage's PostgreSQL database (schema `synth_batch_api`), so that
every machine sees every submission: `open_ledger` picks it whenever `$SYNTH_LINEAGE` names a
DuckLake on PostgreSQL (its password from `PGPASSWORD` or `~/.pgpass`, as for the lineage).

Writers are serialized by a transaction-level advisory lock (what SQLite's `BEGIN IMMEDIATE` does for
the local ledger); `lock(key)` is a session-level advisory lock on its own connection, held while a
file is uploaded and its batch created, and released by the server if the holder dies.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from synth_assets.core.lineage.target import dsn, redact
from synth_assets.core.root import lineage_url
from synth_assets.recipes.openai_batch.ledger import _SCHEMA, Ledger

SCHEMA_NAME = "synth_batch_api"
WRITER = int.from_bytes(hashlib.sha256(b"synth_assets.batch_api.ledger").digest()[:8], "big", signed=True)


def _lock_id(key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"synth_assets.batch_api.submit:{key}".encode()).digest()[:8], "big", signed=True)


class _Cursor:
    """sqlite3's `con.execute(sql, params)` over psycopg2: `?` placeholders, rows by column name."""

    def __init__(self, con: Any):
        from psycopg2.extras import RealDictCursor

        self.cur = con.cursor(cursor_factory=RealDictCursor)

    def execute(self, sql: str, params: Any = ()) -> Any:
        self.cur.execute(sql.replace("?", "%s"), list(params))
        return self.cur


class PostgresLedger(Ledger):
    """The ledger every machine shares, in the PostgreSQL database of a libpq connection string."""

    shared = True

    def __init__(self, dsn: str):
        self.dsn = dsn
        self.path = f"PostgreSQL {redact(dsn)} (schema {SCHEMA_NAME})"  # where messages say the ledger is
        self._con, self._pid = None, None
        with self._tx() as con:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA_NAME}")
            con.execute(_SCHEMA)

    def _connection(self) -> Any:
        import psycopg2

        if self._con is None or self._con.closed or self._pid != os.getpid():  # never a connection of the parent process
            try:
                self._con = psycopg2.connect(self.dsn, application_name="synth-batch-ledger", connect_timeout=30,
                                             options=f"-c search_path={SCHEMA_NAME}")
            except psycopg2.OperationalError as exc:
                raise RuntimeError(f"cannot reach the Batch API ledger at {self.path}: {exc}".strip()) from None
            self._pid = os.getpid()
        return self._con

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        import psycopg2

        con = self._connection()
        try:
            with con:  # one transaction: committed on success, rolled back on any error
                cursor = _Cursor(con)
                cursor.execute("SELECT pg_advisory_xact_lock(?)", [WRITER])
                yield cursor
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            con.close()  # reconnect on the next transaction
            raise

    @contextmanager
    def lock(self, key: str) -> Iterator[None]:
        import psycopg2

        con = psycopg2.connect(self.dsn, application_name="synth-batch-submit", connect_timeout=30)
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute("SET lock_timeout = '600s'")
                cur.execute("SELECT pg_advisory_lock(%s)", [_lock_id(key)])
            yield
        finally:
            con.close()  # closing the session releases its lock


def open_ledger(folder: str | Path) -> Ledger:
    """The shared ledger where the lineage is shared (`$SYNTH_LINEAGE`), else the SQLite ledger in `folder`."""
    url = lineage_url()
    return PostgresLedger(dsn(url)) if url else Ledger(folder)
