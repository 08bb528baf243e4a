"""The lineage API: experiments, batches, materializations, edges and LLM usage.

One API over two backends (see `local.py` and `ducklake.py`): a local DuckDB file (the default)
or DuckLake with a PostgreSQL catalog, chosen by the target (a path, or a ``ducklake:postgres:``
URL). Every write is portable SQL: no ON CONFLICT, RETURNING, UPDATE or sequence of its own; an
upsert reads and then inserts or replaces (delete + insert), which is correct because each
backend runs one writer at a time.

Timestamps are stored as naive UTC ``TIMESTAMP`` values; aware datetimes are converted, naive
ones are taken to be UTC already.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from synth_assets.core.batch_ids import batch_purpose
from synth_assets.core.lineage.local import LocalBackend
from synth_assets.core.lineage.provenance import trace
from synth_assets.core.lineage.schema import next_id_sql
from synth_assets.core.lineage.target import DuckLakeSettings, is_ducklake_url
from synth_assets.core.lineage.values import experiment_rows as _experiment_rows
from synth_assets.core.lineage.values import rows as _rows
from synth_assets.core.lineage.values import utc as _utc

_USAGE_KEYS = ("requests", "cache_hits", "failures", "retries",
               "prompt_tokens", "completion_tokens", "cost_usd")

T = TypeVar("T")


def _one(con: duckdb.DuckDBPyConnection, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
    where = " AND ".join(f"{column} = ?" for column in key)
    found = _rows(con.execute(f"SELECT * FROM {table} WHERE {where}", list(key.values())))
    return found[0] if found else None


def _insert(con: duckdb.DuckDBPyConnection, table: str, row: dict[str, Any]) -> None:
    con.execute(f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()))


def _replace(con: duckdb.DuckDBPyConnection, table: str, key: dict[str, Any], row: dict[str, Any]) -> None:
    """Delete + insert: DuckLake inlines both, where an UPDATE would write a Parquet file."""
    where = " AND ".join(f"{column} = ?" for column in key)
    con.execute(f"DELETE FROM {table} WHERE {where}", list(key.values()))
    _insert(con, table, row)


class Lineage:
    """Process-safe lineage access; cheap to construct (one per process or resource).

    ``db_path``: a local DuckDB file, or ``ducklake:postgres:<libpq connection string>`` with
    ``data_path`` (default ``$SYNTH_LINEAGE_DATA``: an ``s3://`` prefix or a shared folder) for a
    new lake. ``lock_timeout_s`` bounds the wait for the writer lock; ``retries`` and
    ``retry_backoff_s`` bound the retries of a foreign file lock or a DuckLake commit conflict.
    """

    def __init__(self, db_path: str | Path, lock_timeout_s: float = 120.0,
                 retries: int = 6, retry_backoff_s: float = 0.1, *,
                 data_path: str | None = None, ducklake: DuckLakeSettings | None = None):
        self.db_path = str(db_path)
        self.lock_timeout_s = lock_timeout_s
        self.retries = retries
        self.retry_backoff_s = retry_backoff_s
        self._local = None if self.is_ducklake else LocalBackend(self.db_path, lock_timeout_s, retries,
                                                                 retry_backoff_s)
        self._lake_args = (self.db_path, data_path or os.environ.get("SYNTH_LINEAGE_DATA") or None,
                           ducklake or DuckLakeSettings(), lock_timeout_s, retries, retry_backoff_s)
        self._in_session = False
        self._session_batches: set[tuple] = set()  # batch upserts done in this session: not repeated

    @property
    def _backend(self):
        """The local file's backend, or this process's connection to the lake (a forked child opens its own)."""
        if self._local is not None:
            return self._local
        from synth_assets.core.lineage.ducklake import backend_for  # needs the `distributed` extra
        return backend_for(*self._lake_args)

    def __repr__(self) -> str:
        return f"Lineage({self._backend.describe()!r})"

    @property
    def is_ducklake(self) -> bool:
        return is_ducklake_url(self.db_path)

    # ------------------------------------------------------------------ access

    @contextmanager
    def session(self):
        """One lock, connection and transaction for many calls (a sensor tick registering 1,000 configs).

        Committed when the block ends; rolled back, all of it, when it raises.
        """
        self._backend.ensure_schema()
        if self._in_session:
            yield self
            return
        with self._backend.transaction():
            self._in_session = True
            try:
                yield self
            finally:
                self._in_session = False
                self._session_batches = set()

    def _write(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn`` in one write transaction (the session's, inside `session()`)."""
        self._backend.ensure_schema()
        return self._backend.write(fn)

    def _read(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        """Run ``fn`` on a consistent view (the session's transaction inside `session()`)."""
        self._backend.ensure_schema()
        return self._backend.read(fn)

    def maintain(self, compact: bool = True) -> dict[str, int]:
        """DuckLake: flush inlined rows, and with ``compact`` merge files and expire old snapshots.

        Returns the live Parquet files per table. A local file needs none (returns ``{}``).
        """
        return self._backend.maintain(compact) if self.is_ducklake else {}

    # ------------------------------------------------------------------ writes

    def record_experiment(self, *, fingerprint: str, scheme: str, dataset: str,
                          semantic_name: str, shared_path: str, params: dict,
                          config_yaml: str, origin_batch: str,
                          created_at: datetime | None = None,
                          legacy_fingerprint: str | None = None) -> None:
        """Register an experiment; the first writer's origin_batch/created_at win."""
        row = {"fingerprint": fingerprint, "scheme": scheme, "dataset": dataset,
               "semantic_name": semantic_name, "shared_path": shared_path,
               "params": json.dumps(params, sort_keys=True, default=str), "config_yaml": config_yaml,
               "origin_batch": origin_batch, "created_at": _utc(created_at),
               "legacy_fingerprint": legacy_fingerprint}

        def run(con):
            key = {"fingerprint": fingerprint}
            found = _one(con, "experiments", key)
            if found is None:
                _insert(con, "experiments", row)
            elif found["legacy_fingerprint"] is None and legacy_fingerprint is not None:
                _replace(con, "experiments", key, {**found, "legacy_fingerprint": legacy_fingerprint})
        self._write(run)

    def mark_complete(self, fingerprint: str, completed_at: datetime | None = None) -> bool:
        """Mark an experiment complete, keeping the first completion time.

        Returns False (and changes nothing) when the fingerprint is not registered.
        """
        when = _utc(completed_at)

        def run(con):
            key = {"fingerprint": fingerprint}
            found = _one(con, "experiments", key)
            if found is None:
                return False
            if found["status"] != "complete" or found["completed_at"] is None:
                _replace(con, "experiments", key,
                         {**found, "status": "complete", "completed_at": found["completed_at"] or when})
            return True
        return self._write(run)

    def record_batch(self, batch_id: str, purpose: str | None = None,
                     description: str | None = None,
                     created_at: datetime | None = None) -> None:
        """Register a batch; keeps the first created_at, fills purpose/description."""
        key = (batch_id, purpose, description, created_at)
        if key in self._session_batches:
            return
        when = _utc(created_at)
        self._write(lambda con: self._upsert_batch(con, batch_id, purpose, description, when))
        if self._in_session:
            self._session_batches.add(key)

    @staticmethod
    def _upsert_batch(con, batch_id, purpose, description, created_at) -> None:
        if purpose is None:
            purpose = batch_purpose(batch_id)
        key = {"batch_id": batch_id}
        found = _one(con, "batches", key)
        if found is None:
            _insert(con, "batches", {"batch_id": batch_id, "purpose": purpose, "description": description,
                                     "created_at": created_at})
            return
        changed = {k: v for k, v in (("purpose", purpose), ("description", description))
                   if v is not None and v != found[k]}
        if changed:
            _replace(con, "batches", key, {**found, **changed})

    def record_membership(self, *, batch_id: str, dataset: str, fingerprint: str,
                          view_path: str, reused: bool) -> None:
        """Add an experiment to a batch (creating the batch row if needed); idempotent."""
        row = {"batch_id": batch_id, "dataset": dataset, "fingerprint": fingerprint,
               "view_path": view_path, "reused": reused, "added_at": _utc()}
        batch_known = any(key[0] == batch_id for key in self._session_batches)

        def run(con):
            if not batch_known:
                self._upsert_batch(con, batch_id, None, None, row["added_at"])
            if _one(con, "batch_members", {k: row[k] for k in ("batch_id", "dataset", "fingerprint")}) is None:
                _insert(con, "batch_members", row)
        self._write(run)

    def remove_membership(self, batch_id: str, dataset: str | None = None,
                          fingerprint: str | None = None) -> int:
        """Delete batch memberships matching the given filters; returns the count."""
        where = "batch_id = ? AND (? IS NULL OR dataset = ?) AND (? IS NULL OR fingerprint = ?)"
        params = [batch_id, dataset, dataset, fingerprint, fingerprint]

        def run(con):
            count = con.execute(f"SELECT count(*) FROM batch_members WHERE {where}", params).fetchone()[0]
            if count:
                con.execute(f"DELETE FROM batch_members WHERE {where}", params)
            return count
        return self._write(run)

    def remove_batch(self, batch_id: str) -> None:
        """Forget a batch that has no members left (`synth rm BATCH`); its usage history is kept."""
        self._write(lambda con: con.execute(
            "DELETE FROM batches WHERE batch_id = ? AND NOT EXISTS (SELECT 1 FROM batch_members WHERE batch_id = ?)",
            [batch_id, batch_id]))

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
        row = {"asset": asset, "partition_key": partition_key, "dataset": dataset, "fingerprint": fingerprint,
               "stage_fingerprint": stage_fingerprint, "run_id": run_id, "path": path, "rows": rows,
               "content_hash": content_hash, "reused": reused,
               "started_at": _utc(started_at) if started_at else None,
               "ended_at": _utc(ended_at) if ended_at else None}
        edges = [[asset, partition_key, path, u["asset"], u.get("partition_key"), u.get("path"), run_id]
                 for u in upstream]

        def run(con):
            mid = con.execute(next_id_sql(constraints=self._backend.constraints)).fetchone()[0]
            _insert(con, "materializations", {"id": mid, **row})
            if edges:
                con.executemany("INSERT INTO lineage_edges VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                                [[mid, *edge] for edge in edges])
        self._write(run)

    def record_api_batch(self, *, batch_id: str, job_key: str, input_sha256: str, endpoint: str,
                         model: str, requests: int, estimate_usd: float, description: str = "") -> None:
        """Record an OpenAI Batch API batch id the moment it exists (idempotent)."""
        row = {"batch_id": batch_id, "job_key": job_key, "input_sha256": input_sha256, "endpoint": endpoint,
               "model": model, "requests": requests, "estimate_usd": estimate_usd,
               "description": description, "created_at": _utc()}

        def run(con):
            if _one(con, "api_batches", {"batch_id": batch_id}) is None:
                _insert(con, "api_batches", row)
        self._write(run)

    def record_llm_usage(self, *, run_id: str, asset: str, partition_key: str,
                         fingerprint: str, batch_id: str | None, backend: str,
                         model: str, usage: dict) -> None:
        """Append one LLM usage row; unknown ``usage`` keys are ignored."""
        values = [run_id, asset, partition_key, fingerprint, batch_id, backend, model,
                  *(usage.get(k, 0) or 0 for k in _USAGE_KEYS), _utc()]
        self._write(lambda con: con.execute(
            "INSERT INTO llm_usage VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values))

    def record_quality(self, *, fingerprint: str, dataset: str, metrics: dict) -> None:
        """The quality figures of a published experiment (replaced when it is regenerated)."""
        row = {"fingerprint": fingerprint, "dataset": dataset, "metrics": json.dumps(metrics, sort_keys=True, default=str),
               "recorded_at": _utc(None)}
        self._write(lambda con: _replace(con, "quality", {"fingerprint": fingerprint}, row))

    def quality(self, fingerprints: list[str]) -> dict[str, dict]:
        """Fingerprint -> quality figures, for those that have them."""
        rows = self._read(lambda con: _rows(con.execute(
            "SELECT fingerprint, metrics FROM quality WHERE list_contains(?, fingerprint)", [list(fingerprints)])))
        return {r["fingerprint"]: json.loads(r["metrics"]) for r in rows}

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
        return self._read(lambda con: trace(con, path, self._experiment))

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
        self._backend.ensure_schema()
        return self._backend.read_only(lambda con: _rows(con.execute(sql, params or [])))
