"""Lineage in DuckLake: a PostgreSQL catalog and Parquet data on S3 or a shared folder.

DuckDB stays the query engine; many processes on many machines write at once. Writers take a
PostgreSQL advisory lock (`pglock.py`) so that read-then-write upserts and ``max(id) + 1`` ids
stay correct without primary keys or sequences; readers take no lock (snapshot isolation). A
commit that still conflicts (a writer outside this code, say) is replayed in a new transaction
with bounded, growing back-off.

Small writes are inlined into the catalog (``DATA_INLINING_ROW_LIMIT``) instead of each making a
Parquet file, and rows are replaced by delete + insert (an ``UPDATE`` writes Parquet). Every
``flush_every`` snapshots the append-only tables' inlined rows are flushed into one Parquet file
each; every ``compact_every`` snapshots small files are merged and snapshots older than
``retention`` expire (their unreferenced files are deleted). The mutable tables stay inlined.
"""

from __future__ import annotations

import logging
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TypeVar

import duckdb

from synth_assets.core.lineage.extensions import connect_offline, s3_secret_sql, sql_literal
from synth_assets.core.lineage.local import check_version
from synth_assets.core.lineage.pglock import AdvisoryLock
from synth_assets.core.lineage.schema import APPEND_ONLY, TABLES, ddl
from synth_assets.core.lineage.target import PREFIX, DuckLakeSettings, dsn, is_ducklake_url, redact
from synth_assets.core.lineage.transaction import Transaction

T = TypeVar("T")
log = logging.getLogger(__name__)

CATALOG = "lake"


def _is_conflict(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.TransactionException) and "conflict" in str(exc).lower()


class DuckLakeBackend:
    """One DuckDB connection with the lake attached, per process (see `backend_for`)."""

    constraints = False  # no keys, no sequences in a lake: ids are max + 1 under the writer lock

    def __init__(self, url: str, data_path: str | None, settings: DuckLakeSettings,
                 lock_timeout_s: float, retries: int, retry_backoff_s: float):
        if not is_ducklake_url(url):
            raise ValueError(f"lineage URL {redact(url)!r} must start with {PREFIX!r}")
        self.url, self.dsn = url, dsn(url)
        self.data_path = _folder(data_path) if data_path else None
        self.settings = settings
        self.retries, self.retry_backoff_s = retries, retry_backoff_s
        self.pid = os.getpid()
        self._lock = AdvisoryLock(self.dsn, lock_timeout_s, redact(url))
        self._mutex = threading.RLock()  # the connection, one thread (and one transaction) at a time
        self._con: duckdb.DuckDBPyConnection | None = None
        self._read_only_con: duckdb.DuckDBPyConnection | None = None
        self._open: Transaction | None = None
        self._schema_ready = False

    def describe(self) -> str:
        return redact(self.url)

    # ------------------------------------------------------------------ connection

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            con = connect_offline()
            # DuckLake 0.3 (duckdb-ext-ducklake 1.4.4) drops rows when a filter is pushed into a scan of
            # more than 2,048 inlined rows (a point lookup misses later rows): filter after the scan.
            con.execute("SET GLOBAL disabled_optimizers = 'filter_pushdown'")
            secret = s3_secret_sql()
            if secret:
                con.execute(secret)
            options = [f"DATA_INLINING_ROW_LIMIT {int(self.settings.inline_rows)}"]
            if self.data_path:
                options.append(f"DATA_PATH {sql_literal(self.data_path)}")
            try:
                con.execute(f"ATTACH {sql_literal(self.url)} AS {CATALOG} ({', '.join(options)})")
            except duckdb.Error as exc:
                con.close()
                hint = (" (set SYNTH_LINEAGE_DATA to an s3:// prefix or a shared folder to create a new lake)"
                        if "data_path" in str(exc).lower() else "")
                raise RuntimeError(f"cannot open lineage lake {self.describe()}: {exc}{hint}") from None
            con.execute(f"USE {CATALOG}")
            self._con = con
        return self._con

    def ensure_schema(self) -> None:
        if self._schema_ready:
            return
        with self._mutex, self._lock.hold():
            con = self._connection()
            con.begin()
            try:
                for statement in ddl(constraints=self.constraints):
                    con.execute(statement)
                check_version(con, self.describe())
                con.commit()
            except BaseException:
                with suppress(duckdb.Error):
                    con.rollback()
                raise
        self._schema_ready = True

    # ---------------------------------------------------------------- transactions

    @contextmanager
    def transaction(self) -> Iterator[Transaction]:
        """Writer lock + one transaction; a conflicting commit is replayed (bounded retries)."""
        self.ensure_schema()
        with self._mutex:
            if self._open is not None:  # this thread is inside a transaction already: join it
                yield self._open
                return
            with self._lock.hold():
                before = self._lock.snapshot_id()
                con = self._connection()
                con.begin()
                self._open = Transaction(con)
                try:
                    yield self._open
                except BaseException:
                    with suppress(duckdb.Error):
                        con.rollback()
                    raise
                else:
                    self._commit(self._open)
                finally:
                    tx, self._open = self._open, None
                if tx.writes:
                    self._maintain_after(before, self._lock.snapshot_id())

    def _commit(self, tx: Transaction) -> None:
        for attempt in range(self.retries + 1):
            try:
                if attempt:
                    tx.con.begin()
                    for fn in tx.writes:
                        fn(tx.con)
                tx.con.commit()
                return
            except duckdb.Error as exc:
                with suppress(duckdb.Error):
                    tx.con.rollback()
                if not _is_conflict(exc):
                    raise
                if attempt == self.retries:
                    raise RuntimeError(f"lineage commit to {self.describe()} still conflicted after "
                                       f"{self.retries} retries: {exc}") from exc
                log.info("lineage commit to %s conflicted; replaying %d write(s), retry %d of %d",
                         self.describe(), len(tx.writes), attempt + 1, self.retries)
                time.sleep(self.retry_backoff_s * 2 ** attempt * random.uniform(1.0, 1.5))

    def write(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        with self.transaction() as tx:
            return tx.write(fn)

    def read(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn`` in this thread's open transaction, else in a read transaction (one snapshot)."""
        self.ensure_schema()
        with self._mutex:
            if self._open is not None:
                return self._open.read(fn)
            con = self._connection()
            con.begin()
            try:
                return fn(con)
            finally:
                with suppress(duckdb.Error):
                    con.rollback()

    def read_only(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn`` (ad-hoc SQL) against a READ_ONLY attachment of the lake: writes fail."""
        self.ensure_schema()
        with self._mutex:
            if self._read_only_con is None:
                self._connection().execute(f"ATTACH IF NOT EXISTS {sql_literal(self.url)} AS {CATALOG}_ro "
                                           f"(READ_ONLY)")
                self._read_only_con = self._connection().cursor()
                self._read_only_con.execute(f"USE {CATALOG}_ro")
            return fn(self._read_only_con)

    @contextmanager
    def attached_file(self, path: str, alias: str) -> Iterator[None]:
        """A local DuckDB file attached read-only to the lake's connection for the block."""
        self.ensure_schema()
        with self._mutex:
            self._connection().execute(f"ATTACH {sql_literal(path)} AS {alias} (READ_ONLY)")
            try:
                yield
            finally:
                self._connection().execute(f"DETACH {alias}")

    @contextmanager
    def locked(self) -> Iterator[None]:
        """No writer of this lake runs while the block does."""
        with self._mutex, self._lock.hold():
            yield

    # ----------------------------------------------------------------- maintenance

    def _maintain_after(self, before: int, after: int) -> None:
        """Flush / compact when this commit's snapshots crossed a multiple of the settings' periods."""
        def crossed(every: int) -> bool:
            return every > 0 and after // every > before // every
        full, flush = crossed(self.settings.compact_every), crossed(self.settings.flush_every)
        if full or flush:
            try:
                self.maintain(compact=full)
            except duckdb.Error as exc:  # the write itself is committed; the next period tries again
                log.warning("lineage maintenance of %s failed: %s", self.describe(), exc)

    def maintain(self, compact: bool = True) -> dict[str, int]:
        """Flush inlined append-only rows to Parquet; with ``compact``, merge small files, expire
        snapshots older than the retention and delete the files no snapshot references.

        Returns the live data files per table afterwards.
        """
        self.ensure_schema()
        with self.locked():
            con = self._connection()
            for table in APPEND_ONLY:
                con.execute(f"CALL ducklake_flush_inlined_data('{CATALOG}', table_name => '{table}')")
            if compact:
                cutoff = f"now() - INTERVAL {int(self.settings.retention.total_seconds())} SECOND"
                con.execute(f"CALL ducklake_merge_adjacent_files('{CATALOG}')")
                con.execute(f"CALL ducklake_expire_snapshots('{CATALOG}', older_than => {cutoff})")
                con.execute(f"CALL ducklake_cleanup_old_files('{CATALOG}', older_than => {cutoff})")
            return {t.name: con.execute(f"SELECT count(*) FROM ducklake_list_files('{CATALOG}', '{t.name}')")
                    .fetchone()[0] for t in TABLES}

    def close(self) -> None:
        with self._mutex:
            for con in (self._read_only_con, self._con):
                if con is not None:
                    con.close()
            self._con = self._read_only_con = None
            self._lock.close()
            self._schema_ready = False


def _folder(path: str) -> str:
    """A data path ending in ``/``; a local one is made absolute and created."""
    if "://" in path:
        return path.rstrip("/") + "/"
    folder = Path(path).expanduser().resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder) + "/"


_BACKENDS: dict[tuple, DuckLakeBackend] = {}
_BACKENDS_LOCK = threading.Lock()


def backend_for(url: str, data_path: str | None, settings: DuckLakeSettings, lock_timeout_s: float,
                retries: int, retry_backoff_s: float) -> DuckLakeBackend:
    """The process's backend for a lake (attaching costs ~1 s, so `Lineage` objects share it)."""
    key = (url, data_path, settings, lock_timeout_s, retries, retry_backoff_s)
    with _BACKENDS_LOCK:
        backend = _BACKENDS.get(key)
        if backend is None or backend.pid != os.getpid():  # a forked child opens its own
            backend = _BACKENDS[key] = DuckLakeBackend(url, data_path, settings, lock_timeout_s, retries,
                                                       retry_backoff_s)
        return backend
