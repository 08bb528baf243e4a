"""Servers for the distributed tests: PostgreSQL 15, Redis and a moto S3 on 127.0.0.1, and a Dagster
home that uses deploy/dagster.yaml unchanged (its variables pointed at those servers)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from synth_assets.testing.servers import PostgresServer, ServerUnavailable, postgres_server, redis_server
from synth_assets.testing.s3_server import make_bucket, s3_server

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def pg() -> PostgresServer:
    try:
        with postgres_server() as server:
            yield server
    except ServerUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def redis_url() -> str:
    try:
        with redis_server() as url:
            yield url
    except ServerUnavailable as exc:
        pytest.skip(str(exc))


@pytest.fixture
def dagster_home(pg, tmp_path, monkeypatch) -> Path:
    """$DAGSTER_HOME with deploy/dagster.yaml: storage in a fresh Postgres database, step logs on S3."""
    db = f"dagster_{time.monotonic_ns()}"
    pg.create_database(db)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = {"DAGSTER_HOME": str(home), "DAGSTER_PG_HOST": pg.host, "DAGSTER_PG_PORT": str(pg.port),
           "DAGSTER_PG_DB": db, "DAGSTER_PG_USER": pg.user, "DAGSTER_PG_PASSWORD": "",
           "SYNTH_LOG_BUCKET": "synth-logs"}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with s3_server(separate_process=True):
        make_bucket("synth-logs")
        yield home
