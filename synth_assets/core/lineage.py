"""DuckDB lineage store: experiments, batches, materializations, edges and LLM usage.

A DuckDB file admits one writing process at a time, and while a writer holds it
no other process can even read it. Dagster's multiprocess executor and the CLI
touch the file concurrently, so every access here opens a short-lived
connection inside an inter-process file lock (``{db}.lock``), runs one
transaction and closes. Processes that bypass our lock (a ``duckdb`` shell, say)
are handled by retrying the open with backoff.

Timestamps are stored as naive UTC ``TIMESTAMP`` values; aware datetimes are
converted, naive ones are taken to be UTC already.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

import duckdb
from filelock import FileLock

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS experiments (
    fingerprint VARCHAR PRIMARY KEY, scheme VARCHAR, dataset VARCHAR NOT NULL,
    semantic_name VARCHAR, shared_path VARCHAR, params JSON, config_yaml VARCHAR,
    origin_batch VARCHAR, created_at TIMESTAMP NOT NULL, legacy_fingerprint VARCHAR,
    status VARCHAR NOT NULL DEFAULT 'registered', completed_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS batches (
    batch_id VARCHAR PRIMARY KEY, purpose VARCHAR, description VARCHAR,
    created_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS batch_members (
    batch_id VARCHAR NOT NULL, dataset VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL,
    view_path VARCHAR, reused BOOLEAN NOT NULL, added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (batch_id, dataset, fingerprint));
CREATE SEQUENCE IF NOT EXISTS materialization_ids;
CREATE TABLE IF NOT EXISTS materializations (
    id BIGINT PRIMARY KEY DEFAULT nextval('materialization_ids'),
    asset VARCHAR NOT NULL, partition_key VARCHAR, dataset VARCHAR, fingerprint VARCHAR,
    stage_fingerprint VARCHAR, run_id VARCHAR, path VARCHAR, rows BIGINT,
    content_hash VARCHAR, reused BOOLEAN, started_at TIMESTAMP, ended_at TIMESTAMP);
CREATE TABLE IF NOT EXISTS lineage_edges (
    materialization_id BIGINT NOT NULL,
    downstream_asset VARCHAR, downstream_partition VARCHAR, downstream_path VARCHAR,
    upstream_asset VARCHAR, upstream_partition VARCHAR, upstream_path VARCHAR,
    run_id VARCHAR);
CREATE TABLE IF NOT EXISTS llm_usage (
    run_id VARCHAR, asset VARCHAR, partition_key VARCHAR, fingerprint VARCHAR,
    batch_id VARCHAR, backend VARCHAR, model VARCHAR,
    requests BIGINT, cache_hits BIGINT, failures BIGINT, retries BIGINT,
    prompt_tokens BIGINT, completion_tokens BIGINT, cost_usd DOUBLE,
    recorded_at TIMESTAMP NOT NULL);
CREATE TABLE IF NOT EXISTS api_batches (
    batch_id VARCHAR PRIMARY KEY, job_key VARCHAR, input_sha256 VARCHAR, endpoint VARCHAR,
    model VARCHAR, requests BIGINT, estimate_usd DOUBLE, description VARCHAR,
    created_at TIMESTAMP NOT NULL);
"""

_USAGE_KEYS = ("requests", "cache_hits", "failures", "retries",
               "prompt_tokens", "completion_tokens", "cost_usd")

T = TypeVar("T")


def _utc(dt: datetime | None) -> datetime:
    """Naive UTC datetime; ``None`` means now, naive input is assumed UTC."""
    if dt is None:
        return datetime.now(timezone.utc).replace(tzinfo=None)
    if dt.tzinfo is not None:
        return dt.astimezone(timezone.utc).replace(tzinfo=None)
    return dt


def _rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row)) for row in cur.fetchall()]


def _experiment_rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    rows = _rows(cur)
    for row in rows:
        row["params"] = json.loads(row["params"]) if row["params"] else {}
    return rows


def _is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


class Lineage:
    """Process-safe access to ``lineage.duckdb``; cheap to construct (one per process or resource)."""

    def __init__(self, db_path: str | Path, lock_timeout_s: float = 120.0,
                 retries: int = 6, retry_backoff_s: float = 0.1):
        self.db_path = str(db_path)
        self.lock_timeout_s = lock_timeout_s
        self.retries = retries
        self.retry_backoff_s = retry_backoff_s
        self._schema_ready = False
        self._session_con: duckdb.DuckDBPyConnection | None = None
        self._session_lock = threading.Lock()
        self._session_batches: set[tuple] = set()  # batch upserts done in this session: not repeated

    # ------------------------------------------------------------------ access

    @contextmanager
    def session(self):
        """One lock, connection and transaction for many calls (a sensor tick registering 1,000 configs).

        Committed when the block ends; rolled back, all of it, when it raises.
        """
        self._ensure_schema()
        if self._session_con is not None:
            yield self
            return
        with self._connection(read_only=False) as con:
            con.begin()
            self._session_con = con
            try:
                yield self
                con.commit()
            except BaseException:
                con.rollback()
                raise
            finally:
                self._session_con = None
                self._session_batches = set()

    @contextmanager
    def _connection(self, read_only: bool):
        """Hold the file lock and an open connection; retry foreign DuckDB locks."""
        if self._session_con is not None:
            with self._session_lock:  # one connection, used by one thread at a time
                yield self._session_con
            return
        lock = FileLock(self.db_path + ".lock", timeout=self.lock_timeout_s)
        with lock.acquire(poll_interval=0.005):
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

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        Path(self.db_path).parent.mkdir(parents=True, exist_ok=True)
        with self._connection(read_only=False) as con:
            con.execute(_SCHEMA)
            found = con.execute("SELECT max(version) FROM schema_version").fetchone()[0]
            if found is None:
                con.execute("INSERT INTO schema_version VALUES (?, ?)",
                            [SCHEMA_VERSION, _utc(None)])
            elif found > SCHEMA_VERSION:
                raise RuntimeError(f"{self.db_path} has schema v{found}; this code knows "
                                   f"v{SCHEMA_VERSION}")
        self._schema_ready = True

    def _write(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn`` in one write transaction (the session's, inside `session()`)."""
        self._ensure_schema()
        with self._connection(read_only=False) as con:
            if con is self._session_con:
                return fn(con)
            con.begin()
            try:
                result = fn(con)
                con.commit()
            except BaseException:
                con.rollback()
                raise
            return result

    def _read(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn`` on a read-only connection."""
        self._ensure_schema()
        with self._connection(read_only=True) as con:
            return fn(con)

    # ------------------------------------------------------------------ writes

    def record_experiment(self, *, fingerprint: str, scheme: str, dataset: str,
                          semantic_name: str, shared_path: str, params: dict,
                          config_yaml: str, origin_batch: str,
                          created_at: datetime | None = None,
                          legacy_fingerprint: str | None = None) -> None:
        """Register an experiment; the first writer's origin_batch/created_at win."""
        self._write(lambda con: con.execute(
            """INSERT INTO experiments (fingerprint, scheme, dataset, semantic_name,
                   shared_path, params, config_yaml, origin_batch, created_at,
                   legacy_fingerprint)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (fingerprint) DO UPDATE SET legacy_fingerprint =
                   coalesce(experiments.legacy_fingerprint, excluded.legacy_fingerprint)""",
            [fingerprint, scheme, dataset, semantic_name, shared_path,
             json.dumps(params, sort_keys=True, default=str), config_yaml, origin_batch,
             _utc(created_at), legacy_fingerprint]))

    def mark_complete(self, fingerprint: str, completed_at: datetime | None = None) -> bool:
        """Mark an experiment complete, keeping the first completion time.

        Returns False (and changes nothing) when the fingerprint is not registered.
        """
        return self._write(lambda con: bool(con.execute(
            """UPDATE experiments SET status = 'complete',
                   completed_at = coalesce(completed_at, ?)
               WHERE fingerprint = ? RETURNING fingerprint""",
            [_utc(completed_at), fingerprint]).fetchall()))

    def record_batch(self, batch_id: str, purpose: str | None = None,
                     description: str | None = None,
                     created_at: datetime | None = None) -> None:
        """Register a batch; keeps the first created_at, fills purpose/description."""
        key = (batch_id, purpose, description, created_at)
        if key in self._session_batches:
            return
        self._write(lambda con: self._upsert_batch(con, batch_id, purpose, description,
                                                   created_at))
        if self._session_con is not None:
            self._session_batches.add(key)

    @staticmethod
    def _upsert_batch(con, batch_id, purpose, description, created_at) -> None:
        if purpose is None and batch_id.startswith("batch_"):
            parts = batch_id.split("_", 2)
            purpose = parts[2] if len(parts) == 3 else None
        con.execute(
            """INSERT INTO batches VALUES (?, ?, ?, ?)
               ON CONFLICT (batch_id) DO UPDATE SET
                   purpose = coalesce(excluded.purpose, batches.purpose),
                   description = coalesce(excluded.description, batches.description)""",
            [batch_id, purpose, description, _utc(created_at)])

    def record_membership(self, *, batch_id: str, dataset: str, fingerprint: str,
                          view_path: str, reused: bool) -> None:
        """Add an experiment to a batch (creating the batch row if needed); idempotent."""
        def run(con):
            if not any(key[0] == batch_id for key in self._session_batches):
                self._upsert_batch(con, batch_id, None, None, None)
            con.execute("INSERT INTO batch_members VALUES (?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT DO NOTHING",
                        [batch_id, dataset, fingerprint, view_path, reused, _utc(None)])
        self._write(run)

    def remove_membership(self, batch_id: str, dataset: str | None = None,
                          fingerprint: str | None = None) -> int:
        """Delete batch memberships matching the given filters; returns the count."""
        return self._write(lambda con: len(con.execute(
            """DELETE FROM batch_members WHERE batch_id = ?
                   AND (? IS NULL OR dataset = ?) AND (? IS NULL OR fingerprint = ?)
               RETURNING 1""",
            [batch_id, dataset, dataset, fingerprint, fingerprint]).fetchall()))

    def remove_experiment(self, fingerprint: str) -> None:
        """Forget an experiment and its batch memberships (run history is kept)."""
        def run(con):
            con.execute("DELETE FROM batch_members WHERE fingerprint = ?", [fingerprint])
            con.execute("DELETE FROM experiments WHERE fingerprint = ?", [fingerprint])
        self._write(run)

    def record_materialization(self, *, asset: str, partition_key: str, dataset: str,
                               fingerprint: str, stage_fingerprint: str | None,
                               run_id: str, path: str, rows: int | None,
                               content_hash: str | None, reused: bool,
                               started_at: datetime | None, ended_at: datetime | None,
                               upstream: Iterable[dict] = ()) -> None:
        """Record one asset output and its upstream edges in one transaction.

        ``upstream`` items are ``{"asset", "partition_key", "path"}`` dicts.
        """
        def run(con):
            mid = con.execute(
                """INSERT INTO materializations (asset, partition_key, dataset,
                       fingerprint, stage_fingerprint, run_id, path, rows, content_hash,
                       reused, started_at, ended_at)
                   VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
                [asset, partition_key, dataset, fingerprint, stage_fingerprint, run_id,
                 path, rows, content_hash, reused,
                 _utc(started_at) if started_at else None,
                 _utc(ended_at) if ended_at else None],
            ).fetchone()[0]
            edges = [[mid, asset, partition_key, path, u["asset"],
                      u.get("partition_key"), u.get("path"), run_id] for u in upstream]
            if edges:
                con.executemany("INSERT INTO lineage_edges VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                edges)
        self._write(run)

    def record_api_batch(self, *, batch_id: str, job_key: str, input_sha256: str, endpoint: str,
                         model: str, requests: int, estimate_usd: float, description: str = "") -> None:
        """Record an OpenAI Batch API batch id the moment it exists (idempotent)."""
        self._write(lambda con: con.execute(
            "INSERT INTO api_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (batch_id) DO NOTHING",
            [batch_id, job_key, input_sha256, endpoint, model, requests, estimate_usd, description, _utc(None)]))

    def record_llm_usage(self, *, run_id: str, asset: str, partition_key: str,
                         fingerprint: str, batch_id: str | None, backend: str,
                         model: str, usage: dict) -> None:
        """Append one LLM usage row; unknown ``usage`` keys are ignored."""
        values = [usage.get(k, 0) or 0 for k in _USAGE_KEYS]
        self._write(lambda con: con.execute(
            "INSERT INTO llm_usage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [run_id, asset, partition_key, fingerprint, batch_id, backend, model,
             *values, _utc(None)]))

    # ----------------------------------------------------------------- queries

    @staticmethod
    def _experiment(con, fingerprint_or_prefix: str) -> dict | None:
        found = _experiment_rows(con.execute(
            "SELECT * FROM experiments WHERE starts_with(fingerprint, ?) LIMIT 2",
            [fingerprint_or_prefix.lower()]))
        if len(found) > 1:
            raise ValueError(f"ambiguous fingerprint prefix {fingerprint_or_prefix!r}")
        return found[0] if found else None

    def experiment(self, fingerprint_or_prefix: str) -> dict | None:
        """One experiment by full fingerprint or unique prefix (ValueError if ambiguous)."""
        return self._read(lambda con: self._experiment(con, fingerprint_or_prefix))

    def experiments(self, dataset: str | None = None) -> list[dict]:
        """All experiments (optionally of one dataset), oldest first."""
        return self._read(lambda con: _experiment_rows(con.execute(
            "SELECT * FROM experiments WHERE ? IS NULL OR dataset = ? "
            "ORDER BY created_at, fingerprint", [dataset, dataset])))

    def origin(self, fingerprint_or_prefix: str) -> dict | None:
        """Where an experiment was first generated: batch_id, created_at, shared_path."""
        def run(con):
            exp = self._experiment(con, fingerprint_or_prefix)
            if exp is None:
                return None
            return {"fingerprint": exp["fingerprint"], "batch_id": exp["origin_batch"],
                    "created_at": exp["created_at"], "dataset": exp["dataset"],
                    "semantic_name": exp["semantic_name"],
                    "shared_path": exp["shared_path"]}
        return self._read(run)

    def batches_using(self, fingerprint_or_prefix: str) -> list[dict]:
        """Batches holding a view of the experiment: batch_id, reused, added_at, ..."""
        def run(con):
            exp = self._experiment(con, fingerprint_or_prefix)
            fingerprint = exp["fingerprint"] if exp else fingerprint_or_prefix
            return _rows(con.execute(
                """SELECT m.batch_id, m.dataset, m.view_path, m.reused, m.added_at,
                          b.purpose
                   FROM batch_members m LEFT JOIN batches b USING (batch_id)
                   WHERE m.fingerprint = ? ORDER BY m.added_at, m.batch_id""",
                [fingerprint]))
        return self._read(run)

    def batches(self) -> list[dict]:
        """Batches with experiment/reused/new counts and total LLM cost."""
        return self._read(lambda con: _rows(con.execute(
            """SELECT b.batch_id, b.purpose, b.description, b.created_at,
                      count(m.fingerprint) AS experiments,
                      count(m.fingerprint) FILTER (WHERE m.reused) AS reused,
                      count(m.fingerprint) FILTER (WHERE NOT m.reused) AS new,
                      coalesce(any_value(u.cost_usd), 0) AS cost_usd
               FROM batches b
               LEFT JOIN batch_members m ON m.batch_id = b.batch_id
               LEFT JOIN (SELECT batch_id, sum(cost_usd) AS cost_usd FROM llm_usage
                          GROUP BY batch_id) u ON u.batch_id = b.batch_id
               GROUP BY b.batch_id, b.purpose, b.description, b.created_at
               ORDER BY b.created_at, b.batch_id""")))

    def batch_members(self, batch_id: str) -> list[dict]:
        """Members of one batch joined with their experiment's name, status and path."""
        return self._read(lambda con: _rows(con.execute(
            """SELECT m.*, e.semantic_name, e.scheme, e.status, e.shared_path,
                      e.origin_batch
               FROM batch_members m LEFT JOIN experiments e USING (fingerprint)
               WHERE m.batch_id = ? ORDER BY m.dataset, e.semantic_name, m.fingerprint""",
            [batch_id])))

    def provenance(self, path: str) -> list[dict]:
        """Trace ``path`` back through its materializations to the experiment config.

        Returns ordered steps: ``{"kind": "materialization", ...}`` for the writer of
        ``path`` and then its upstream chain (depth first), followed by one
        ``{"kind": "experiment", ...}`` step per experiment involved. Empty if no
        materialization wrote ``path`` (tried as given and symlink-resolved).
        """
        def find(con, paths, asset=None, partition=None, before=None):
            """Latest materialization of one of ``paths`` (else asset+partition),
            preferring those recorded before materialization id ``before``."""
            order = "ORDER BY (id < ?) DESC, id DESC LIMIT 1"
            hit = _rows(con.execute(
                f"SELECT * FROM materializations WHERE list_contains(?, path) {order}",
                [paths, before or 2 ** 62]))
            if not hit and asset is not None:
                hit = _rows(con.execute(
                    "SELECT * FROM materializations WHERE asset = ? AND "
                    f"partition_key IS NOT DISTINCT FROM ? {order}",
                    [asset, partition, before or 2 ** 62]))
            return hit[0] if hit else None

        def candidates(p):
            return list(dict.fromkeys([p, os.path.realpath(p)])) if p else []

        def run(con):
            steps, seen, fingerprints = [], set(), []
            stack = [find(con, candidates(path))]
            while stack:
                mat = stack.pop()
                if mat is None or mat["id"] in seen:
                    continue
                seen.add(mat["id"])
                edges = _rows(con.execute(
                    """SELECT upstream_asset, upstream_partition, upstream_path
                       FROM lineage_edges WHERE materialization_id = ?
                       ORDER BY rowid""", [mat["id"]]))
                steps.append({"kind": "materialization", **mat, "upstream": edges})
                if mat["fingerprint"] and mat["fingerprint"] not in fingerprints:
                    fingerprints.append(mat["fingerprint"])
                stack.extend(find(con, candidates(e["upstream_path"]), e["upstream_asset"],
                                  e["upstream_partition"], mat["id"])
                             for e in reversed(edges))
            for fp in fingerprints:
                exp = self._experiment(con, fp)
                if exp is not None:
                    steps.append({"kind": "experiment", **exp})
            return steps
        return self._read(run)

    def cost_by_batch(self) -> list[dict]:
        """LLM usage totals per batch (``batch_id`` None for usage outside batches)."""
        return self._read(lambda con: _rows(con.execute(
            """SELECT batch_id, sum(requests) AS requests, sum(cache_hits) AS cache_hits,
                      sum(failures) AS failures, sum(retries) AS retries,
                      sum(prompt_tokens) AS prompt_tokens,
                      sum(completion_tokens) AS completion_tokens,
                      sum(cost_usd) AS cost_usd
               FROM llm_usage GROUP BY batch_id ORDER BY batch_id NULLS LAST""")))

    def query(self, sql: str, params: list | None = None) -> list[dict]:
        """Run ad-hoc SQL on a read-only connection (writes raise duckdb errors)."""
        return self._read(lambda con: _rows(con.execute(sql, params or [])))
