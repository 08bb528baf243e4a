"""DuckDB connections with the ducklake, postgres and httpfs extensions, offline.

The extension files come from the PyPI wheels ``duckdb-ext-ducklake``, ``duckdb-ext-postgres`` and
``duckdb-ext-httpfs`` (the `distributed` extra); DuckDB never downloads or auto-loads anything.
Credentials for an ``s3://`` data path come from the standard AWS variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

import duckdb

EXTENSIONS = ("ducklake", "postgres", "httpfs")
_MISSING = ("DuckLake lineage needs the DuckDB extension wheels of the `distributed` extra: "
            "pip install -e '.[distributed]' (duckdb-ext-ducklake, duckdb-ext-postgres, duckdb-ext-httpfs)")


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect_offline() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the DuckLake extensions loaded from the installed wheels."""
    try:
        import duckdb_ext
    except ImportError:
        raise RuntimeError(_MISSING) from None
    con = duckdb.connect(config={"extension_directory": duckdb_ext.get_extension_dir(),
                                 "autoinstall_known_extensions": False,
                                 "autoload_known_extensions": False})
    for name in EXTENSIONS:
        try:
            con.execute(f"LOAD {name}")
        except duckdb.IOException as exc:
            con.close()
            raise RuntimeError(f"{_MISSING}; loading {name} failed: {exc}") from None
    return con


def s3_secret_sql(env: Mapping[str, str] = os.environ, name: str = "synth_lineage_s3") -> str | None:
    """A ``CREATE SECRET`` for httpfs from the AWS variables; None when none is set.

    ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``, ``AWS_REGION`` or
    ``AWS_DEFAULT_REGION``, and ``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` for an
    S3-compatible server (then path-style URLs, and no TLS for an ``http://`` endpoint).
    """
    key_id = env.get("AWS_ACCESS_KEY_ID")
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if not key_id and not endpoint:
        return None
    options = {"TYPE": "s3",
               "REGION": sql_literal(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1")}
    if key_id:
        options["KEY_ID"] = sql_literal(key_id)
        options["SECRET"] = sql_literal(env.get("AWS_SECRET_ACCESS_KEY", ""))
        if env.get("AWS_SESSION_TOKEN"):
            options["SESSION_TOKEN"] = sql_literal(env["AWS_SESSION_TOKEN"])
    if endpoint:
        parts = urlsplit(endpoint if "://" in endpoint else f"https://{endpoint}")
        options["ENDPOINT"] = sql_literal(parts.netloc + parts.path.rstrip("/"))
        options["USE_SSL"] = "true" if parts.scheme == "https" else "false"
        options["URL_STYLE"] = sql_literal("path")
    body = ", ".join(f"{key} {value}" for key, value in options.items())
    return f"CREATE OR REPLACE TEMPORARY SECRET {name} ({body})"
