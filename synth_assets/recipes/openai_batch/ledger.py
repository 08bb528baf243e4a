"""The job ledger: one transaction per change, in `{state dir}/.synth/batch_api/ledger.sqlite` (SQLite,
one machine), or, where the lineage is shared (`$SYNTH_LINEAGE`), in its PostgreSQL database
(`ledger_postgres.PostgresLedger`), so that no machine resubmits what another one submitted.

* `jobs`: one row per submitted input file, keyed by `digest(input sha256, endpoint, model, backend, salt)`
  (salt is empty for an original file, `{root_key}:{attempt}` for a resubmission of missing lines).
  The uploaded file id and the batch id are written the moment they exist.
* `results`: per request set (`root_key`, the original file's job key) and custom_id, the kept result
  line: a completed response is never overwritten; failures are counted for the retry limit.
* `sets` / `set_roots`: a (dataset, fingerprint) partition and the original files it is made of.

Nothing secret is stored: no key, no header. The same SQL runs on both databases; writers are
serialized (SQLite's `BEGIN IMMEDIATE`, a transaction-level advisory lock on PostgreSQL), and
`lock(key)` keeps two processes from submitting the same file at once (a file lock, or a
PostgreSQL session lock that the server releases when its holder dies).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Iterator

from filelock import FileLock

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    key TEXT PRIMARY KEY, root_key TEXT NOT NULL, parent_key TEXT, attempt INTEGER NOT NULL DEFAULT 0,
    backend TEXT NOT NULL, input_sha256 TEXT NOT NULL, input_path TEXT NOT NULL, endpoint TEXT NOT NULL,
    model TEXT NOT NULL, n_requests INTEGER NOT NULL, filename TEXT NOT NULL, file_id TEXT, batch_id TEXT UNIQUE,
    status TEXT NOT NULL DEFAULT 'new', request_counts TEXT, output_file_id TEXT, error_file_id TEXT,
    batch_errors TEXT, estimate TEXT, usage TEXT, ingested INTEGER NOT NULL DEFAULT 0,
    usage_recorded INTEGER NOT NULL DEFAULT 0, held INTEGER NOT NULL DEFAULT 0, parse_errors TEXT,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL, submitted_at TEXT);
CREATE INDEX IF NOT EXISTS jobs_root ON jobs (root_key);
CREATE TABLE IF NOT EXISTS results (
    root_key TEXT NOT NULL, custom_id TEXT NOT NULL, status TEXT NOT NULL, line TEXT,
    job_key TEXT, batch_id TEXT, failures INTEGER NOT NULL DEFAULT 0, last_error TEXT, updated_at TEXT NOT NULL,
    PRIMARY KEY (root_key, custom_id));
CREATE TABLE IF NOT EXISTS sets (
    set_fp TEXT PRIMARY KEY, dataset TEXT NOT NULL, partition_fp TEXT NOT NULL, spec TEXT NOT NULL,
    compiled_at TEXT, created_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS set_roots (
    set_fp TEXT NOT NULL, root_key TEXT NOT NULL, chunk INTEGER NOT NULL, PRIMARY KEY (set_fp, root_key));
"""

_JSON_COLUMNS = ("request_counts", "batch_errors", "estimate", "usage", "parse_errors")


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _job(row: Any) -> dict[str, Any] | None:
    if row is None:
        return None
    job = dict(row)
    for col in _JSON_COLUMNS:
        job[col] = json.loads(job[col]) if job[col] else None
    return job


class Ledger:
    """The ledger of one machine, in SQLite (`folder/ledger.sqlite`)."""

    shared = False  # seen by every machine

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / "ledger.sqlite"
        con = sqlite3.connect(self.path, timeout=60)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(_SCHEMA)
        finally:
            con.close()

    def lock(self, key: str) -> AbstractContextManager[Any]:
        """Held while one process submits the file of `key`."""
        (self.folder / "locks").mkdir(parents=True, exist_ok=True)
        return FileLock(str(self.folder / "locks" / f"{key[:32]}.lock"), timeout=600)

    @contextmanager
    def _tx(self) -> Iterator[Any]:
        """A serialized transaction; `execute(sql, params)` returns a cursor of rows indexable by column name."""
        con = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        con.row_factory = sqlite3.Row
        try:
            con.execute("PRAGMA synchronous=FULL")
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        finally:
            con.close()

    # ------------------------------------------------------------ jobs

    def add_job(self, **fields: Any) -> dict[str, Any]:
        """Insert a job unless its key exists; return the stored row."""
        fields = {k: json.dumps(v) if k in _JSON_COLUMNS and v is not None else v for k, v in fields.items()}
        fields.setdefault("created_at", now())
        fields.setdefault("updated_at", fields["created_at"])
        cols = ", ".join(fields)
        with self._tx() as con:
            con.execute(f"INSERT INTO jobs ({cols}) VALUES ({', '.join('?' * len(fields))}) ON CONFLICT DO NOTHING",
                        list(fields.values()))
            return _job(con.execute("SELECT * FROM jobs WHERE key = ?", [fields["key"]]).fetchone())

    def update_job(self, key: str, **fields: Any) -> dict[str, Any]:
        fields = {k: json.dumps(v) if k in _JSON_COLUMNS and v is not None else v for k, v in fields.items()}
        fields["updated_at"] = now()
        with self._tx() as con:
            con.execute(f"UPDATE jobs SET {', '.join(f'{k} = ?' for k in fields)} WHERE key = ?", [*fields.values(), key])
            return _job(con.execute("SELECT * FROM jobs WHERE key = ?", [key]).fetchone())

    def claim_usage(self, key: str) -> bool:
        """Mark a job's usage as recorded; True only for the one caller that flips the flag."""
        with self._tx() as con:
            return con.execute("UPDATE jobs SET usage_recorded = 1 WHERE key = ? AND usage_recorded = 0", [key]).rowcount == 1

    def job(self, key: str) -> dict[str, Any] | None:
        with self._tx() as con:
            return _job(con.execute("SELECT * FROM jobs WHERE key = ?", [key]).fetchone())

    def find(self, ident: str) -> dict[str, Any] | None:
        """A job by batch id, job key or a unique prefix of either."""
        with self._tx() as con:
            row = con.execute("SELECT * FROM jobs WHERE batch_id = ? OR key = ?", [ident, ident]).fetchone()
            if row is not None:
                return _job(row)
            rows = con.execute("SELECT * FROM jobs WHERE batch_id LIKE ? OR key LIKE ? LIMIT 2", [ident + "%", ident + "%"]).fetchall()
        return _job(rows[0]) if len(rows) == 1 else None

    def jobs(self, *, root_key: str | None = None, statuses: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM jobs WHERE 1=1", []
        if root_key:
            sql += " AND root_key = ?"
            args.append(root_key)
        if statuses:
            sql += f" AND status IN ({', '.join('?' * len(statuses))})"
            args.extend(statuses)
        with self._tx() as con:
            return [_job(r) for r in con.execute(sql + " ORDER BY created_at, attempt, key", args).fetchall()]

    # ------------------------------------------------------------ results

    def ingest(self, job: dict[str, Any], lines: list[Any], *, not_run: list[str] = (), extra: dict[str, Any] | None = None) -> dict[str, int]:
        """Record a terminal job's result lines and mark it ingested, in one transaction (never twice).

        `lines` are `results.ResultLine`s; a kept ok result is never replaced; a failure adds one to the
        custom_id's failure count unless it already succeeded. `not_run` custom_ids are only noted."""
        counts = {"ok": 0, "failed": 0, "missing": 0, "already_ok": 0}
        with self._tx() as con:
            if con.execute("SELECT ingested FROM jobs WHERE key = ?", [job["key"]]).fetchone()["ingested"]:
                return counts
            stamp = now()
            for line in lines:
                row = con.execute("SELECT status FROM results WHERE root_key = ? AND custom_id = ?", [job["root_key"], line.custom_id]).fetchone()
                if row is not None and row["status"] == "ok":
                    counts["already_ok"] += 1
                    continue
                if line.status == "ok":
                    counts["ok"] += 1
                    con.execute("""INSERT INTO results (root_key, custom_id, status, line, job_key, batch_id, failures, last_error, updated_at)
                                   VALUES (?, ?, 'ok', ?, ?, ?, 0, NULL, ?)
                                   ON CONFLICT (root_key, custom_id) DO UPDATE SET status = 'ok', line = excluded.line,
                                       job_key = excluded.job_key, batch_id = excluded.batch_id, updated_at = excluded.updated_at""",
                                [job["root_key"], line.custom_id, json.dumps(line.raw), job["key"], job["batch_id"], stamp])
                elif line.status == "failed":
                    counts["failed"] += 1
                    con.execute("""INSERT INTO results (root_key, custom_id, status, line, job_key, batch_id, failures, last_error, updated_at)
                                   VALUES (?, ?, 'failed', ?, ?, ?, 1, ?, ?)
                                   ON CONFLICT (root_key, custom_id) DO UPDATE SET line = excluded.line, job_key = excluded.job_key,
                                       batch_id = excluded.batch_id, failures = results.failures + 1,
                                       last_error = excluded.last_error, updated_at = excluded.updated_at""",
                                [job["root_key"], line.custom_id, json.dumps(line.raw), job["key"], job["batch_id"], line.error_message, stamp])
                else:
                    counts["missing"] += 1
            counts["missing"] += len(not_run)
            fields = {"ingested": 1, "updated_at": stamp, **{k: json.dumps(v) if k in _JSON_COLUMNS else v for k, v in (extra or {}).items()}}
            con.execute(f"UPDATE jobs SET {', '.join(f'{k} = ?' for k in fields)} WHERE key = ?", [*fields.values(), job["key"]])
        return counts

    def results(self, root_key: str) -> dict[str, dict[str, Any]]:
        with self._tx() as con:
            rows = con.execute("SELECT * FROM results WHERE root_key = ?", [root_key]).fetchall()
        out = {}
        for r in rows:
            d = dict(r)
            d["line"] = json.loads(d["line"]) if d["line"] else None
            out[d["custom_id"]] = d
        return out

    # ------------------------------------------------------------ sets

    def add_set(self, set_fp: str, dataset: str, partition_fp: str, spec: dict[str, Any], roots: list[str]) -> None:
        with self._tx() as con:
            con.execute("INSERT INTO sets (set_fp, dataset, partition_fp, spec, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        [set_fp, dataset, partition_fp, json.dumps(spec, sort_keys=True), now()])
            for i, root in enumerate(roots):
                con.execute("INSERT INTO set_roots (set_fp, root_key, chunk) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [set_fp, root, i])

    def sets(self) -> list[dict[str, Any]]:
        with self._tx() as con:
            rows = [dict(r) for r in con.execute("SELECT * FROM sets ORDER BY created_at").fetchall()]
            for r in rows:
                r["spec"] = json.loads(r["spec"])
                r["roots"] = [x["root_key"] for x in
                              con.execute("SELECT root_key FROM set_roots WHERE set_fp = ? ORDER BY chunk", [r["set_fp"]]).fetchall()]
        return rows

    def set_by_partition(self, dataset: str, partition_fp: str) -> dict[str, Any] | None:
        for s in self.sets():
            if s["dataset"] == dataset and (s["partition_fp"] == partition_fp or s["set_fp"].startswith(partition_fp)):
                return s
        return None

    def mark_compiled(self, set_fp: str) -> None:
        with self._tx() as con:
            con.execute("UPDATE sets SET compiled_at = coalesce(compiled_at, ?) WHERE set_fp = ?", [now(), set_fp])
