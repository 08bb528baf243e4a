"""The lineage tables, defined once for both backends.

A local DuckDB file gets primary keys and a sequence for materialization ids. DuckLake has
neither (nor ON CONFLICT or RETURNING), so there the same tables are created without them and
the writers keep keys unique by running one at a time (see `ducklake.py`). Columns, types,
NOT NULLs and literal defaults are identical.
"""

from __future__ import annotations

from dataclasses import dataclass

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Table:
    name: str
    columns: str  # column definitions; `{id_default}` marks where the local file's sequence default goes
    key: tuple[str, ...] = ()
    mutable: bool = True  # rows are replaced or deleted (kept inlined in DuckLake, never flushed to Parquet)


TABLES: tuple[Table, ...] = (
    Table("schema_version", "version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL", ("version",)),
    Table("experiments", """
        fingerprint VARCHAR NOT NULL, scheme VARCHAR, dataset VARCHAR NOT NULL,
        semantic_name VARCHAR, shared_path VARCHAR, params JSON, config_yaml VARCHAR,
        origin_batch VARCHAR, created_at TIMESTAMP NOT NULL, legacy_fingerprint VARCHAR,
        status VARCHAR NOT NULL DEFAULT 'registered', completed_at TIMESTAMP""", ("fingerprint",)),
    Table("batches", """
        batch_id VARCHAR NOT NULL, purpose VARCHAR, description VARCHAR,
        created_at TIMESTAMP NOT NULL""", ("batch_id",)),
    Table("batch_members", """
        batch_id VARCHAR NOT NULL, dataset VARCHAR NOT NULL, fingerprint VARCHAR NOT NULL,
        view_path VARCHAR, reused BOOLEAN NOT NULL, added_at TIMESTAMP NOT NULL""",
          ("batch_id", "dataset", "fingerprint")),
    Table("materializations", """
        id BIGINT NOT NULL{id_default},
        asset VARCHAR NOT NULL, partition_key VARCHAR, dataset VARCHAR, fingerprint VARCHAR,
        stage_fingerprint VARCHAR, run_id VARCHAR, path VARCHAR, rows BIGINT,
        content_hash VARCHAR, reused BOOLEAN, started_at TIMESTAMP, ended_at TIMESTAMP""",
          ("id",), mutable=False),
    Table("lineage_edges", """
        materialization_id BIGINT NOT NULL,
        downstream_asset VARCHAR, downstream_partition VARCHAR, downstream_path VARCHAR,
        upstream_asset VARCHAR, upstream_partition VARCHAR, upstream_path VARCHAR,
        run_id VARCHAR""", mutable=False),
    Table("llm_usage", """
        run_id VARCHAR, asset VARCHAR, partition_key VARCHAR, fingerprint VARCHAR,
        batch_id VARCHAR, backend VARCHAR, model VARCHAR,
        requests BIGINT, cache_hits BIGINT, failures BIGINT, retries BIGINT,
        prompt_tokens BIGINT, completion_tokens BIGINT, cost_usd DOUBLE,
        recorded_at TIMESTAMP NOT NULL""", mutable=False),
    Table("quality", """
        fingerprint VARCHAR NOT NULL, dataset VARCHAR, metrics JSON, recorded_at TIMESTAMP NOT NULL""", ("fingerprint",)),
    Table("api_batches", """
        batch_id VARCHAR NOT NULL, job_key VARCHAR, input_sha256 VARCHAR, endpoint VARCHAR,
        model VARCHAR, requests BIGINT, estimate_usd DOUBLE, description VARCHAR,
        created_at TIMESTAMP NOT NULL""", ("batch_id",), mutable=False),
    # `row_index`, not `row_id`: DuckLake's inlined-data tables have a `row_id` column of their own
    Table("reviews", """
        fingerprint VARCHAR NOT NULL, dataset VARCHAR, row_index BIGINT NOT NULL, field VARCHAR NOT NULL,
        content_hash VARCHAR NOT NULL, original VARCHAR, rewrite VARCHAR, label VARCHAR NOT NULL,
        reviewer VARCHAR, reviewed_at TIMESTAMP NOT NULL""", ("fingerprint", "row_index", "field", "content_hash")),
    Table("evaluations", """
        experiment_fingerprint VARCHAR NOT NULL, dataset VARCHAR, semantic_name VARCHAR,
        evaluator VARCHAR NOT NULL, evaluator_fingerprint VARCHAR NOT NULL, kind VARCHAR, metric VARCHAR,
        status VARCHAR NOT NULL, value DOUBLE, low DOUBLE, high DOUBLE,
        baseline DOUBLE, baseline_low DOUBLE, baseline_high DOUBLE, delta DOUBLE, delta_low DOUBLE, delta_high DOUBLE,
        n BIGINT, seconds DOUBLE, cost_usd DOUBLE, run_id VARCHAR, path VARCHAR, error VARCHAR,
        recorded_at TIMESTAMP NOT NULL""", ("experiment_fingerprint", "evaluator", "evaluator_fingerprint")),
)

APPEND_ONLY = tuple(t.name for t in TABLES if not t.mutable)
_SEQUENCE = "materialization_ids"


def ddl(*, constraints: bool) -> list[str]:
    """CREATE statements for every table.

    ``constraints``: primary keys and the materialization id sequence (a local DuckDB file).
    """
    statements = [f"CREATE SEQUENCE IF NOT EXISTS {_SEQUENCE}"] if constraints else []
    id_default = f" DEFAULT nextval('{_SEQUENCE}')" if constraints else ""
    for table in TABLES:
        columns = " ".join(table.columns.split()).format(id_default=id_default)
        if constraints and table.key:
            columns += f", PRIMARY KEY ({', '.join(table.key)})"
        statements.append(f"CREATE TABLE IF NOT EXISTS {table.name} ({columns})")
    return statements


def next_id_sql(*, constraints: bool) -> str:
    """A query for the next materialization id: the sequence, else max + 1 (the writer holds the lock)."""
    if constraints:
        return f"SELECT nextval('{_SEQUENCE}')"
    return "SELECT coalesce(max(id), 0) + 1 FROM materializations"
