"""Lineage in a local DuckDB file, one short transaction at a time under an inter-process file lock.

A DuckDB file admits one writing process at a time, and while a writer holds it no other process
can even read it. Dagster's multiprocess executor and the CLI touch the file concurrently, so
every access opens a short-lived connection inside a file lock (``{db}.lock``), runs one
transaction and closes. Processes that bypass our lock (a ``duckdb`` shell, say) are handled by
retrying the open with backoff.

A store the user may not write (mounted read-only, another user's files) is still readable: where the
lock file cannot be created, reads open the file read-only without the lock (no writer can be
running through this mount) and writes fail with `LineageReadOnly`, one line naming the file.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import duckdb
from filelock import FileLock

from synth_assets.core.lineage.schema import SCHEMA_VERSION, ddl
from synth_assets.core.lineage.transaction import Transaction
from synth_assets.core.lineage.values import utc

T = TypeVar("T")


def _is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


class LineageReadOnly(PermissionError):
    """Lineage cannot be written here: the store is read-only for this user."""


def writable(db_path: str) -> bool:
    """This process may create the lock file and change the database (a read-only mount or missing permission: not)."""
    folder = os.path.dirname(os.path.abspath(db_path))
    while not os.path.exists(folder):  # a new lineage: the nearest existing folder decides
        folder = os.path.dirname(folder)
    if not os.access(folder, os.W_OK):
        return False
    return not os.path.exists(db_path) or os.access(db_path, os.W_OK)


class LocalBackend:
    """Short-lived connections to ``db_path`` under ``{db_path}.lock``; one open transaction per object."""

    constraints = True  # primary keys and a sequence

    def __init__(self, db_path: str, lock_timeout_s: float, retries: int, retry_backoff_s: float):
        self.db_path = db_path
        self.lock_timeout_s = lock_timeout_s
        self.retries = retries
        self.retry_backoff_s = retry_backoff_s
        self._schema_ready = False
        self._writable = writable(db_path)
        self._open: Transaction | None = None
        self._open_lock = threading.Lock()  # the open transaction's connection, one thread at a time

    def describe(self) -> str:
        return self.db_path

    @contextmanager
    def _connection(self, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        """Hold the file lock and an open connection; retry foreign DuckDB locks. A read-only store is read without the lock."""
        if not self._writable:
            if not read_only:
                raise self.read_only_error()
            with self._open_connection(read_only=True) as con:
                yield con
            return
        with FileLock(self.db_path + ".lock", timeout=self.lock_timeout_s).acquire(poll_interval=0.005):
            with self._open_connection(read_only) as con:
                yield con

    def read_only_error(self) -> LineageReadOnly:
        return LineageReadOnly(f"lineage {self.db_path} is read-only for this user (a read-only store): "
                               "commands that only read work, this one writes")

    @contextmanager
    def _open_connection(self, read_only: bool) -> Iterator[duckdb.DuckDBPyConnection]:
        for attempt in range(self.retries + 1):
            try:
                con = duckdb.connect(self.db_path, read_only=read_only)
                break
            except duckdb.IOException as exc:
                if not _is_lock_error(exc) or attempt == self.retries:
                    raise
                time.sleep(self.retry_backoff_s * 2 ** attempt)
        try:
            yield con
        finally:
            con.close()

    def ensure_schema(self) -> None:
        if self._schema_ready:
            return
        if not self._writable:  # read as it is: no schema to create, only the version to check
            if not Path(self.db_path).exists():
                raise FileNotFoundError(f"lineage {self.db_path} does not exist and the store is read-only for this user")
            with self._connection(read_only=True) as con:
                check_version(con, self.db_path, stamp=False)
            self._schema_ready = True
            return
        Path(self.db_path).parent.mkdir(parents=True, exist_ok=True)
        with self._connection(read_only=False) as con:
            for statement in ddl(constraints=self.constraints):
                con.execute(statement)
            check_version(con, self.db_path)
        self._schema_ready = True

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """One lock, connection and transaction; committed when the block ends, rolled back if it raises."""
        if self._open is not None:
            yield self._open
            return
        with self._connection(read_only=False) as con:
            con.begin()
            self._open = Transaction(con)
            try:
                yield self._open
                con.commit()
            except BaseException:
                con.rollback()
                raise
            finally:
                self._open = None

    def write(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        if self._open is not None:
            with self._open_lock:
                return self._open.write(fn)
        with self.transaction() as tx:
            return tx.write(fn)

    def read(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn`` in the open transaction, else on a read-only connection."""
        if self._open is not None:
            with self._open_lock:
                return self._open.read(fn)
        with self._connection(read_only=True) as con:
            return fn(con)

    def read_only(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn`` (ad-hoc SQL) where writes fail: a read-only connection."""
        with self._connection(read_only=True) as con:
            return fn(con)

    @contextmanager
    def locked(self) -> Iterator[None]:
        """No writer of this file runs while the block does (a migration reads the file in it)."""
        if not self._writable:
            raise self.read_only_error()
        with FileLock(self.db_path + ".lock", timeout=self.lock_timeout_s).acquire(poll_interval=0.005):
            yield


def check_version(con: duckdb.DuckDBPyConnection, where: str, stamp: bool = True) -> None:
    """Stamp a new lineage with `SCHEMA_VERSION` (`stamp`); refuse one written by newer code."""
    found = con.execute("SELECT max(version) FROM schema_version").fetchone()[0]
    if found is None and stamp:
        con.execute("INSERT INTO schema_version VALUES (?, ?)", [SCHEMA_VERSION, utc()])
    elif found > SCHEMA_VERSION:
        raise RuntimeError(f"{where} has schema v{found}; this code knows v{SCHEMA_VERSION}")
