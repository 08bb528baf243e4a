"""Copy a local lineage file into a DuckLake lineage, idempotently.

Keyed tables copy the rows whose key the lake lacks (a row already there wins); the keyless ones
(``lineage_edges``, ``llm_usage``) copy the multiset difference (``EXCEPT ALL``), so running it
again copies nothing and identical rows are neither lost nor doubled. Everything is one DuckLake
transaction under the writer lock, with the source file's lock held: all or nothing. Rows of the
mutable tables are inserted in chunks small enough to stay inlined in the catalog, so that their
later updates never write Parquet delete files.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from synth_assets.core.lineage.api import Lineage
from synth_assets.core.lineage.local import LocalBackend
from synth_assets.core.lineage.schema import SCHEMA_VERSION, TABLES, Table

SOURCE = "migrate_src"


@dataclass(frozen=True)
class TableCopy:
    table: str
    source_rows: int
    copied: int
    target_rows: int


def _pending_rows_sql(table: Table, columns: list[str]) -> str:
    """The source rows of ``table`` the target lacks."""
    names = ", ".join(columns)
    if not table.key:
        return f"SELECT {names} FROM {SOURCE}.{table.name} EXCEPT ALL SELECT {names} FROM {table.name}"
    match = " AND ".join(f"t.{k} = s.{k}" for k in table.key)
    return (f"SELECT {', '.join('s.' + c for c in columns)} FROM {SOURCE}.{table.name} s "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table.name} t WHERE {match})")


def migrate(source: str | Path, target: Lineage) -> list[TableCopy]:
    """Copy every lineage table of the local file ``source`` into the DuckLake ``target``."""
    source = Path(source)
    if not target.is_ducklake:
        raise ValueError(f"migration target must be a DuckLake lineage (ducklake:postgres:...), not {target.db_path}")
    if not source.is_file():
        raise FileNotFoundError(f"no lineage file at {source}")
    backend = target._backend
    backend.ensure_schema()
    chunk = max(1, backend.settings.inline_rows)

    def copy(con) -> list[TableCopy]:
        present = {row[0] for row in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [SOURCE]).fetchall()}
        if "schema_version" in present:
            found = con.execute(f"SELECT max(version) FROM {SOURCE}.schema_version").fetchone()[0]
            if found is not None and found > SCHEMA_VERSION:
                raise RuntimeError(f"{source} has schema v{found}; this code knows v{SCHEMA_VERSION}")
        result = []
        for table in TABLES:
            if table.name not in present:  # written by older code that did not have the table yet
                rows_now = con.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0]
                result.append(TableCopy(table.name, 0, 0, rows_now))
                continue
            columns = [row[0] for row in con.execute(f"DESCRIBE {table.name}").fetchall()]
            con.execute(f"CREATE OR REPLACE TEMP TABLE migrate_rows AS {_pending_rows_sql(table, columns)}")
            pending = con.execute("SELECT count(*) FROM migrate_rows").fetchone()[0]
            step = chunk if table.mutable else max(pending, 1)
            for offset in range(0, pending, step):
                con.execute(f"INSERT INTO {table.name} ({', '.join(columns)}) SELECT {', '.join(columns)} "
                            f"FROM migrate_rows ORDER BY rowid LIMIT {step} OFFSET {offset}")
            result.append(TableCopy(
                table.name, con.execute(f"SELECT count(*) FROM {SOURCE}.{table.name}").fetchone()[0], pending,
                con.execute(f"SELECT count(*) FROM {table.name}").fetchone()[0]))
        con.execute("DROP TABLE migrate_rows")
        return result

    source_lock = LocalBackend(str(source), target.lock_timeout_s, target.retries, target.retry_backoff_s).locked()
    with source_lock, backend.attached_file(str(source), SOURCE):
        return backend.write(copy)
