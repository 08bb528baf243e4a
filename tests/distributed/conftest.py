"""Servers for the distributed tests: PostgreSQL 15, Redis, a moto S3 and the fake OpenAI server on
127.0.0.1, "machines" that share nothing but those servers, and a Dagster home that uses
deploy/dagster.yaml unchanged (its variables pointed at those servers)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import boto3
import pytest
from dagster import DagsterInstance

from synth_assets.testing import fake_openai_server
from synth_assets.testing.cluster import machine_env
from synth_assets.testing.servers import PostgresServer, ServerUnavailable, postgres_server, redis_server
from synth_assets.testing.s3_server import s3_server

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


@pytest.fixture(scope="module")
def s3_endpoint() -> str:
    """A moto S3 server in its own process (stopped by PID); the AWS variables point at it for the module."""
    with s3_server(separate_process=True) as endpoint:
        yield endpoint


def fresh_bucket(prefix: str) -> str:
    name = f"{prefix}-{time.monotonic_ns()}"
    boto3.client("s3").create_bucket(Bucket=name)
    return name


def s3_keys(bucket: str, prefix: str = "") -> list[str]:
    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


FakeLLM = fake_openai_server.FakeOpenAIClient


@pytest.fixture(scope="module")
def fake_llm() -> FakeLLM:
    process, base_url = fake_openai_server.start(max_seconds=900)
    try:
        yield FakeLLM(base_url)
    finally:
        process.kill()
        process.wait(timeout=10)


def machine(tmp_path: Path, name: str) -> dict[str, str]:
    """What makes a process another "machine": its own HOME, SYNTH_STATE_DIR and TMPDIR."""
    return machine_env(tmp_path / name)


@pytest.fixture
def dagster_home(pg, s3_endpoint, tmp_path, monkeypatch) -> Path:
    """$DAGSTER_HOME with deploy/dagster.yaml: storage in a fresh Postgres database, step logs on S3."""
    db = f"dagster_{time.monotonic_ns()}"
    pg.create_database(db)
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = {"DAGSTER_HOME": str(home), "DAGSTER_PG_HOST": pg.host, "DAGSTER_PG_PORT": str(pg.port),
           "DAGSTER_PG_DB": db, "DAGSTER_PG_USER": pg.user, "DAGSTER_PG_PASSWORD": "",
           "SYNTH_LOG_BUCKET": fresh_bucket("synth-logs")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with DagsterInstance.get() as instance:  # its tables, before workers that would race to create them start
        instance.get_runs(limit=1)
    yield home
