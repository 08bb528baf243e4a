"""DuckLake lineage on a real PostgreSQL 15 catalog with Parquet in a folder or a real S3 API (moto):
racing writers, conflict replay, inlining and maintenance, the CLI, migration from a local file."""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing as mp
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import timedelta
from pathlib import Path

import boto3
import duckdb
import pytest
from typer.testing import CliRunner

from synth_assets.cli.main import app
from synth_assets.core.lineage import DuckLakeSettings, Lineage
from synth_assets.core.lineage.extensions import connect_offline
from synth_assets.core.lineage.migrate import migrate
from synth_assets.testing.servers import ServerUnavailable, postgres_server
from synth_assets.testing.s3_server import make_bucket, s3_server

FP = [f"{i:02d}" + "ab" * 31 for i in range(6)]
BATCH = "batch_20250301_race"
USAGE = {"requests": 3, "prompt_tokens": 30, "completion_tokens": 12, "cost_usd": 0.5}


@pytest.fixture(scope="module")
def pg():
    try:
        with postgres_server() as server:
            yield server
    except ServerUnavailable as exc:
        pytest.skip(f"DuckLake lineage: {exc}")


@pytest.fixture
def lake(pg, tmp_path, monkeypatch) -> str:
    """A fresh lake: its own catalog database, Parquet under tmp_path/lake_data (also for child processes)."""
    monkeypatch.setenv("SYNTH_LINEAGE_DATA", str(tmp_path / "lake_data"))
    return "ducklake:postgres:" + pg.create_database(f"lake_{time.monotonic_ns()}")


def parquet_files(folder: Path, table: str | None = None) -> list[Path]:
    return sorted((folder / "main" / table if table else folder).rglob("*.parquet"))


def add_experiment(lin: Lineage, fp: str, batch: str = BATCH) -> None:
    lin.record_experiment(fingerprint=fp, scheme="synth/1", dataset="Copa", semantic_name=f"n_{fp[:4]}",
                          shared_path=f"/s/{fp}", params={"t": 0.7}, config_yaml="t: 0.7\n", origin_batch=batch)


def materialize(lin: Lineage, fp: str, i: int, run: str = "run") -> None:
    """What the IO manager records for one output: materialization + edge + usage in one session."""
    with lin.session():
        lin.record_materialization(
            asset="rephrase/validated", partition_key=f"Copa|{fp}", dataset="Copa", fingerprint=fp,
            stage_fingerprint=f"s{i}", run_id=f"{run}{i}", path=f"/out/{fp}/{i}", rows=i, content_hash="h",
            reused=False, started_at=None, ended_at=None,
            upstream=[{"asset": "rephrase/rephrased", "partition_key": f"Copa|{fp}", "path": f"/in/{fp}/{i}"}])
        lin.record_llm_usage(run_id=f"{run}{i}", asset="rephrase/validated", partition_key=f"Copa|{fp}",
                             fingerprint=fp, batch_id=BATCH, backend="local", model="m", usage=USAGE)


def count(lin: Lineage, table: str) -> int:
    return lin.query(f"SELECT count(*) AS n FROM {table}")[0]["n"]


# ----------------------------------------------------------------------------- racing writers

PER_WRITER = 6


def _racer(url: str, worker: int) -> int:
    lin = Lineage(url)
    for i in range(PER_WRITER):
        fp = FP[i % len(FP)]  # every writer upserts the same experiments, batch and memberships
        lin.record_batch(BATCH, description="race")
        add_experiment(lin, fp)
        lin.record_membership(batch_id=BATCH, dataset="Copa", fingerprint=fp, view_path=f"/v/{fp}", reused=False)
        lin.mark_complete(fp)
        materialize(lin, fp, i, run=f"w{worker}-")
    return worker


def test_racing_writer_processes_keep_keys_unique_and_lose_no_row(lake):
    Lineage(lake).record_batch(BATCH)  # the lake exists before the race
    writers = 5
    with ProcessPoolExecutor(writers, mp_context=mp.get_context("spawn")) as pool:
        assert sorted(pool.map(_racer, [lake] * writers, range(writers))) == list(range(writers))
    lin, total = Lineage(lake), writers * PER_WRITER
    assert count(lin, "batches") == 1 and lin.batches()[0]["description"] == "race"
    assert count(lin, "experiments") == len(FP)  # no duplicate from a read-then-insert race
    assert {e["status"] for e in lin.experiments()} == {"complete"}
    assert count(lin, "batch_members") == len(FP)
    assert lin.query("SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo, max(id) AS hi "
                     "FROM materializations") == [{"n": total, "d": total, "lo": 1, "hi": total}]
    assert count(lin, "lineage_edges") == total
    assert lin.cost_by_batch()[0]["requests"] == total * USAGE["requests"]


# ----------------------------------------------------------------------------- conflicts


def _foreign_connection(url: str) -> duckdb.DuckDBPyConnection:
    """A DuckLake client that ignores our writer lock (another tool, say)."""
    con = connect_offline()
    con.execute(f"ATTACH '{url}' AS other")
    return con


def test_conflicting_commit_is_replayed_then_bounded(lake, caplog):
    lin = Lineage(lake)
    for fp in FP[:3]:
        add_experiment(lin, fp)
        lin.record_membership(batch_id=BATCH, dataset="Copa", fingerprint=fp, view_path="/v", reused=False)
    foreign = _foreign_connection(lake)
    with caplog.at_level(logging.INFO, logger="synth_assets.core.lineage.ducklake"):
        with lin.session():
            assert lin.remove_membership(BATCH, fingerprint=FP[0]) == 1
            # committed in between: DuckLake refuses our commit (both deleted from batch_members)
            foreign.execute("DELETE FROM other.batch_members WHERE fingerprint = ?", [FP[1]])
    assert "replaying 1 write" in caplog.text
    assert [m["fingerprint"] for m in lin.batch_members(BATCH)] == [FP[2]]

    impatient = Lineage(lake, retries=0)
    with pytest.raises(RuntimeError, match="still conflicted after 0 retries"):
        with impatient.session():
            impatient.remove_membership(BATCH, fingerprint=FP[2])
            foreign.execute("DELETE FROM other.experiments WHERE fingerprint = ?", [FP[0]])
            impatient.remove_experiment(FP[1])
    assert [m["fingerprint"] for m in lin.batch_members(BATCH)] == [FP[2]]  # nothing half-written


# ----------------------------------------------------------------------------- inlining and maintenance


def test_small_writes_are_inlined_then_flushed_and_compacted(lake, tmp_path):
    data = tmp_path / "lake_data"
    lin = Lineage(lake, ducklake=DuckLakeSettings(flush_every=40, compact_every=0, retention=timedelta(0)))
    add_experiment(lin, FP[0])
    for i in range(30):
        materialize(lin, FP[0], i)
    assert parquet_files(data) == []  # 30 sessions, all inlined in the catalog
    for i in range(30, 90):
        materialize(lin, FP[0], i)
        lin.mark_complete(FP[0])
    # snapshots crossed 40 and 80: two flushes, one file per append-only table that had rows
    assert len(parquet_files(data, "materializations")) == 2
    assert len(parquet_files(data, "lineage_edges")) == 2 and len(parquet_files(data, "llm_usage")) == 2
    assert parquet_files(data, "experiments") == []  # mutable tables stay inlined

    files = lin.maintain(compact=True)
    assert files["materializations"] == 1 and files["experiments"] == 0
    assert len(parquet_files(data, "materializations")) == 1  # merged, the old ones expired and deleted
    assert count(lin, "materializations") == 90 and count(lin, "lineage_edges") == 90
    assert lin.provenance("/out/" + FP[0] + "/89")[0]["stage_fingerprint"] == "s89"
    assert lin.experiment(FP[0])["status"] == "complete"


def test_s3_data_path(pg, monkeypatch):
    """Parquet on a real S3 API: credentials and endpoint from the AWS variables (path style, no TLS)."""
    url = "ducklake:postgres:" + pg.create_database(f"lake_s3_{time.monotonic_ns()}")
    monkeypatch.delenv("SYNTH_LINEAGE_DATA", raising=False)
    with s3_server(separate_process=True):
        make_bucket("lineage")
        lin = Lineage(url, data_path="s3://lineage/lake", ducklake=DuckLakeSettings(flush_every=0))
        add_experiment(lin, FP[0])
        for i in range(5):
            materialize(lin, FP[0], i)
        lin.maintain(compact=False)
        keys = [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket="lineage")["Contents"]]
        assert sorted(k.split("/")[2] for k in keys) == ["lineage_edges", "llm_usage", "materializations"]
        assert all(k.startswith("lake/main/") and k.endswith(".parquet") for k in keys)
        assert count(lin, "materializations") == 5 and lin.cost_by_batch()[0]["requests"] == 15


def test_new_lake_without_data_path_names_the_variable(pg, monkeypatch):
    monkeypatch.delenv("SYNTH_LINEAGE_DATA", raising=False)
    url = "ducklake:postgres:" + pg.create_database(f"lake_nodata_{time.monotonic_ns()}")
    with pytest.raises(RuntimeError, match="SYNTH_LINEAGE_DATA"):
        Lineage(url).batches()


def test_lookups_see_every_inlined_row(lake, tmp_path):
    """More than 2,048 inlined experiments (DuckLake 0.3 lost the later ones under filter pushdown)."""
    local = tmp_path / "many.duckdb"
    Lineage(local).batches()
    with duckdb.connect(str(local)) as con:
        con.execute("""INSERT INTO experiments SELECT sha256(CAST(i AS VARCHAR)), 'synth/1', 'Copa', 'n' || i, '/s',
                       '{}', '', 'batch_20250101_x', TIMESTAMP '2025-01-01', NULL, 'registered', NULL
                       FROM range(3000) t(i)""")
    lin = Lineage(lake)
    migrate(local, lin)
    assert parquet_files(tmp_path / "lake_data", "experiments") == []  # all inlined
    for i in (0, 2047, 2048, 2999):
        fp = hashlib.sha256(str(i).encode()).hexdigest()
        assert lin.experiment(fp)["semantic_name"] == f"n{i}"
        assert lin.query("SELECT count(*) AS n FROM experiments WHERE fingerprint = ?", [fp]) == [{"n": 1}]


# ----------------------------------------------------------------------------- CLI and migration


def synth(*args: str, ok: bool = True):
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert (result.exit_code == 0) == ok, result.output
    return result


def fill_local(path: Path) -> Lineage:
    local = Lineage(path)
    for fp in FP[:3]:
        add_experiment(local, fp)
        local.record_membership(batch_id=BATCH, dataset="Copa", fingerprint=fp, view_path=f"/v/{fp}", reused=False)
        for i in range(4):
            materialize(local, fp, i)
    local.mark_complete(FP[0])
    local.record_api_batch(batch_id="batch_abc", job_key="k", input_sha256="0" * 64, endpoint="/v1/chat",
                           model="m", requests=2, estimate_usd=0.1)
    local.record_llm_usage(run_id="same", asset="a", partition_key="p", fingerprint=FP[0], batch_id=None,
                           backend="b", model="m", usage={"requests": 1})
    return local


def table_rows(lin: Lineage, table: str) -> list:
    return sorted(map(repr, lin.query(f"SELECT * FROM {table}")))


def test_migrate_copies_every_row_once_and_cli_reads_the_lake(lake, tmp_path, monkeypatch):
    local = fill_local(tmp_path / "lineage.duckdb")
    monkeypatch.setenv("SYNTH_ROOT", str(tmp_path / "root"))
    monkeypatch.delenv("SYNTH_LINEAGE", raising=False)
    first = json.loads(synth("lineage", "migrate", "--to", lake, "--from", str(local.db_path), "--json").stdout)
    lake_lin = Lineage(lake)
    for row in first:
        assert row["source_rows"] == row["target_rows"] == count(local, row["table"]), row
        if row["table"] != "schema_version":  # the lake stamped its own when it was created
            assert row["copied"] == row["source_rows"], row
            assert table_rows(lake_lin, row["table"]) == table_rows(local, row["table"])
    again = json.loads(synth("lineage", "migrate", "--to", lake, "--from", str(local.db_path), "--json").stdout)
    assert [r["copied"] for r in again] == [0] * len(again)
    local.record_llm_usage(run_id="same", asset="a", partition_key="p", fingerprint=FP[0], batch_id=None,
                           backend="b", model="m", usage={"requests": 1})  # an identical row is a new fact
    third = {r["table"]: r["copied"] for r in json.loads(
        synth("lineage", "migrate", "--to", lake, "--from", str(local.db_path), "--json").stdout)}
    assert third["llm_usage"] == 1 and sum(third.values()) == 1
    assert parquet_files(tmp_path / "lake_data", "experiments") == []  # mutable rows stay inlined

    monkeypatch.setenv("SYNTH_LINEAGE", lake)  # every `synth lineage` question now goes to the lake
    origin = json.loads(synth("lineage", "origin", FP[0][:12], "--json").stdout)
    assert origin["batch_id"] == BATCH and origin["fingerprint"] == FP[0]
    assert [b["batch_id"] for b in json.loads(synth("lineage", "batches", FP[1], "--json").stdout)] == [BATCH]
    steps = json.loads(synth("lineage", "file", f"/out/{FP[2]}/3", "--json").stdout)
    assert [s["kind"] for s in steps] == ["materialization", "experiment"] and steps[1]["fingerprint"] == FP[2]
    cost = {c["batch_id"]: c["requests"] for c in json.loads(synth("lineage", "cost", "--json").stdout)}
    assert cost == {BATCH: 36, None: 2}
    assert json.loads(synth("lineage", "sql", "SELECT count(*) AS n FROM materializations", "--json").stdout) == [
        {"n": 12}]
    refused = synth("lineage", "sql", "DELETE FROM materializations", ok=False)  # the CLI reads only: a clean error
    assert refused.exit_code == 2 and "read-only" in refused.output
    assert "experiments" in synth("lineage", "maintain").stdout
    assert count(lake_lin, "materializations") == 12


def test_migrate_refuses_a_missing_file_and_a_local_target(lake, tmp_path):
    assert "no lineage file" in synth("lineage", "migrate", "--to", lake, "--from", str(tmp_path / "x.duckdb"),
                                      ok=False).output
    assert "--to ducklake:postgres:" in synth("lineage", "migrate", "--to", str(tmp_path / "y.duckdb"),
                                              ok=False).output


def test_migrate_reads_the_lineage_file_of_the_root_given_with_dash_dash_root(lake, tmp_path, monkeypatch):
    monkeypatch.delenv("SYNTH_LINEAGE_DB", raising=False)
    monkeypatch.setenv("SYNTH_ROOT", str(tmp_path / "other_root"))
    local = fill_local(tmp_path / "given_root" / "lineage.duckdb")
    copied = json.loads(synth("--root", str(tmp_path / "given_root"), "lineage", "migrate", "--to", lake, "--json").stdout)
    assert {r["table"]: r["copied"] for r in copied}["materializations"] == count(local, "materializations") > 0
