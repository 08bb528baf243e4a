"""Lineage store: round trips and multi-process safety on both backends, a real local DuckDB file
and DuckLake (a real PostgreSQL 15 catalog, Parquet in a folder)."""

from __future__ import annotations

import multiprocessing as mp
import os
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from synth_assets.core.lineage import Lineage
from synth_assets.testing.servers import ServerUnavailable, postgres_server

FP_A = "a1b2c3d4e5f6" + "0" * 52
FP_B = "a1b2c3d4e5f7" + "1" * 52
FP_C = "a1b2c3d4e5f7" + "2" * 52  # shares a 12-char prefix with FP_B
T0 = datetime(2025, 1, 2, 3, 4, 5)
USAGE = {"requests": 10, "cache_hits": 4, "failures": 1, "retries": 2,
         "prompt_tokens": 1000, "completion_tokens": 500, "cost_usd": 0.25, "latency": 9}


@pytest.fixture(scope="module")
def pg():
    try:
        with postgres_server() as server:
            yield server
    except ServerUnavailable as exc:
        pytest.skip(f"DuckLake backend: {exc}")


@pytest.fixture(params=["local", "ducklake"])
def target(request, tmp_path, monkeypatch) -> str:
    """Where a test's lineage lives: a local file, or a fresh DuckLake (own database and data folder)."""
    monkeypatch.delenv("SYNTH_LINEAGE", raising=False)
    if request.param == "local":
        return str(tmp_path / "lineage.duckdb")
    dsn = request.getfixturevalue("pg").create_database(f"lake_{os.getpid()}_{time.monotonic_ns()}")
    monkeypatch.setenv("SYNTH_LINEAGE_DATA", str(tmp_path / "lake_data"))  # inherited by child processes
    return f"ducklake:postgres:{dsn}"


@pytest.fixture
def lin(target) -> Lineage:
    return Lineage(target)


def add_experiment(lin: Lineage, fp: str, batch: str, **kw) -> None:
    lin.record_experiment(fingerprint=fp, scheme="v2", dataset=kw.pop("dataset", "boolq"),
                          semantic_name=f"exp_{fp[:4]}", shared_path=f"/data/_shared/{fp}",
                          params={"temperature": 0.7, "n": 3},
                          config_yaml="temperature: 0.7\nn: 3\n", origin_batch=batch, **kw)


def test_experiment_round_trip_and_first_origin_wins(lin):
    add_experiment(lin, FP_A, "batch_20250102_first", created_at=T0)
    add_experiment(lin, FP_A, "batch_20250103_second", created_at=T0 + timedelta(days=1),
                   legacy_fingerprint="deadbeef")
    exp = lin.experiment(FP_A)
    assert exp["origin_batch"] == "batch_20250102_first"
    assert exp["created_at"] == T0
    assert exp["legacy_fingerprint"] == "deadbeef"  # filled in by the later writer
    assert exp["params"] == {"n": 3, "temperature": 0.7}
    assert exp["config_yaml"].startswith("temperature")
    assert exp["status"] == "registered" and exp["completed_at"] is None
    assert lin.origin(FP_A[:12]) == {
        "fingerprint": FP_A, "batch_id": "batch_20250102_first", "created_at": T0,
        "dataset": "boolq", "semantic_name": "exp_a1b2",
        "shared_path": f"/data/_shared/{FP_A}"}

    aware = datetime(2025, 1, 5, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    assert lin.mark_complete(FP_A, completed_at=aware)
    assert lin.mark_complete(FP_A)  # keeps the first completion time
    exp = lin.experiment(FP_A)
    assert exp["status"] == "complete"
    assert exp["completed_at"] == datetime(2025, 1, 5, 10, 0)  # stored as UTC
    assert not lin.mark_complete(FP_B)  # unknown fingerprint
    assert lin.experiment(FP_B[:12]) is None


def test_prefix_lookup_and_ambiguity(lin):
    for fp in (FP_A, FP_B, FP_C):
        add_experiment(lin, fp, "batch_20250102_x", dataset="rte" if fp == FP_A else "cb")
    assert lin.experiment(FP_A[:12])["fingerprint"] == FP_A
    assert lin.experiment(FP_B)["fingerprint"] == FP_B
    assert lin.experiment(FP_B[:13])["fingerprint"] == FP_B
    assert lin.experiment("ffffffffffff") is None
    assert lin.origin("ffffffffffff") is None
    with pytest.raises(ValueError, match="ambiguous"):
        lin.experiment(FP_B[:12])
    with pytest.raises(ValueError, match="ambiguous"):
        lin.origin("a1b2")
    assert [e["fingerprint"] for e in lin.experiments("cb")] == [FP_B, FP_C]
    assert len(lin.experiments()) == 3
    assert lin.experiments("rte")[0]["params"] == {"n": 3, "temperature": 0.7}


def test_batches_membership_and_removal(lin):
    add_experiment(lin, FP_A, "batch_20250102_first")
    add_experiment(lin, FP_B, "batch_20250103_ablation")
    lin.record_batch("batch_20250102_first", created_at=T0)
    lin.record_batch("batch_20250102_first", description="baseline",
                     created_at=T0 + timedelta(days=9))
    for _ in range(2):  # idempotent
        lin.record_membership(batch_id="batch_20250102_first", dataset="boolq",
                              fingerprint=FP_A, view_path="/v/first/A", reused=False)
    lin.record_membership(batch_id="batch_20250103_ablation", dataset="boolq",
                          fingerprint=FP_A, view_path="/v/abl/A", reused=True)
    lin.record_membership(batch_id="batch_20250103_ablation", dataset="boolq",
                          fingerprint=FP_B, view_path="/v/abl/B", reused=False)
    lin.record_llm_usage(run_id="r1", asset="generate", partition_key="boolq|x",
                         fingerprint=FP_B, batch_id="batch_20250103_ablation",
                         backend="openai", model="m", usage=USAGE)

    first, abl = lin.batches()
    assert first == {"batch_id": "batch_20250102_first", "purpose": "first",
                     "description": "baseline", "created_at": T0, "experiments": 1,
                     "reused": 0, "new": 1, "cost_usd": 0}
    assert (abl["batch_id"], abl["purpose"]) == ("batch_20250103_ablation", "ablation")
    assert (abl["experiments"], abl["reused"], abl["new"]) == (2, 1, 1)
    assert abl["cost_usd"] == pytest.approx(0.25)

    using = lin.batches_using(FP_A[:12])
    assert [(u["batch_id"], u["reused"]) for u in using] == [
        ("batch_20250102_first", False), ("batch_20250103_ablation", True)]
    assert isinstance(using[0]["added_at"], datetime)
    members = lin.batch_members("batch_20250103_ablation")
    assert [(m["fingerprint"], m["view_path"], m["semantic_name"]) for m in members] == [
        (FP_A, "/v/abl/A", "exp_a1b2"), (FP_B, "/v/abl/B", "exp_a1b2")]

    assert lin.remove_membership("batch_20250103_ablation", fingerprint=FP_A) == 1
    assert lin.remove_membership("batch_20250103_ablation", dataset="rte") == 0
    assert len(lin.batch_members("batch_20250103_ablation")) == 1
    lin.remove_experiment(FP_A)
    assert lin.experiment(FP_A) is None
    assert lin.batches_using(FP_A) == []
    assert lin.remove_membership("batch_20250103_ablation") == 1


def test_provenance_three_stages_ends_at_experiment(lin, tmp_path):
    shared = tmp_path / "_shared" / "BoolQ" / "exp"
    shared.mkdir(parents=True)
    view = tmp_path / "batch_20250102_x" / "BoolQ" / "exp"
    view.parent.mkdir(parents=True)
    view.symlink_to(shared)
    add_experiment(lin, FP_A, "batch_20250102_x")
    pk = f"boolq|{FP_A}"
    gen, judged, export = (str(shared / n) for n in ("gen.jsonl", "judged.jsonl", "sft.jsonl"))
    common = dict(partition_key=pk, dataset="boolq", fingerprint=FP_A, run_id="run1",
                  rows=3, content_hash="h", reused=False, started_at=T0, ended_at=T0)
    # a stale earlier output of the same path must not be picked
    lin.record_materialization(asset="generate", stage_fingerprint="s0", path=gen, **common)
    lin.record_materialization(asset="generate", stage_fingerprint="s1", path=gen, **common)
    lin.record_materialization(asset="judge", stage_fingerprint="s2", path=judged,
                               upstream=[{"asset": "generate", "partition_key": pk,
                                          "path": gen}], **common)
    # upstream without a path resolves by asset + partition
    lin.record_materialization(asset="export", stage_fingerprint="s3", path=export,
                               upstream=[{"asset": "judge", "partition_key": pk}], **common)

    steps = lin.provenance(str(view / "sft.jsonl"))  # via the batch symlink view
    assert [s["kind"] for s in steps] == ["materialization"] * 3 + ["experiment"]
    assert [s.get("asset") for s in steps[:3]] == ["export", "judge", "generate"]
    assert steps[2]["stage_fingerprint"] == "s1"
    assert steps[1]["upstream"] == [{"upstream_asset": "generate",
                                     "upstream_partition": pk, "upstream_path": gen}]
    assert steps[-1]["fingerprint"] == FP_A
    assert steps[-1]["config_yaml"] == "temperature: 0.7\nn: 3\n"
    assert lin.provenance(judged)[0]["asset"] == "judge"
    assert lin.provenance(str(tmp_path / "nowhere.jsonl")) == []


def test_cost_by_batch_totals_and_query(lin):
    for batch, n in (("batch_20250102_a", 3), ("batch_20250102_b", 1), (None, 2)):
        for i in range(n):
            lin.record_llm_usage(run_id=f"r{i}", asset="generate", partition_key="p",
                                 fingerprint=FP_A, batch_id=batch, backend="llamacpp",
                                 model="qwen", usage=USAGE)
    lin.record_llm_usage(run_id="r9", asset="judge", partition_key="p", fingerprint=FP_A,
                         batch_id="batch_20250102_b", backend="openai", model="gpt",
                         usage={"requests": 1})
    rows = lin.cost_by_batch()
    assert [r["batch_id"] for r in rows] == ["batch_20250102_a", "batch_20250102_b", None]
    a, b, _ = rows
    assert (a["requests"], a["cache_hits"], a["prompt_tokens"], a["completion_tokens"]) == (
        30, 12, 3000, 1500)
    assert a["cost_usd"] == pytest.approx(0.75)
    assert (b["requests"], b["failures"], b["retries"]) == (11, 1, 2)
    assert b["cost_usd"] == pytest.approx(0.25)
    assert lin.query("SELECT count(*) AS n FROM llm_usage WHERE backend = ?",
                     ["llamacpp"]) == [{"n": 6}]
    with pytest.raises(duckdb.Error):  # the CLI connection is read-only
        lin.query("DELETE FROM llm_usage")
    assert lin.query("SELECT max(version) AS v FROM schema_version") == [{"v": 1}]


def test_resource_paths(tmp_path, monkeypatch):
    from resources.store import StoreResource  # dagster import kept out of workers
    from synth_assets.core.root import default_root

    for var in ("SYNTH_LINEAGE_DB", "SYNTH_STATE_DIR", "SYNTH_LINEAGE"):
        monkeypatch.delenv(var, raising=False)
    res = StoreResource(root=str(tmp_path))
    assert res.lineage is res.lineage
    assert res.lineage.db_path == str(tmp_path / "lineage.duckdb")
    monkeypatch.setenv("SYNTH_ROOT", str(tmp_path / "env_root"))
    lin = StoreResource(root=default_root()).lineage
    assert lin.db_path == str(tmp_path / "env_root" / "lineage.duckdb")
    lin.record_batch("batch_20250102_env")  # creates the root directory
    assert lin.batches()[0]["purpose"] == "env"
    monkeypatch.setenv("SYNTH_LINEAGE_DB", str(tmp_path / "shared" / "lineage.duckdb"))
    assert StoreResource(root=default_root()).lineage.db_path == str(tmp_path / "shared" / "lineage.duckdb")
    url = "ducklake:postgres:dbname=lake host=127.0.0.1 port=1"
    monkeypatch.setenv("SYNTH_LINEAGE", url)  # wins over the file; nothing connects until first use
    assert StoreResource(root=default_root()).lineage.db_path == url and StoreResource(root=default_root()).lineage.is_ducklake
    monkeypatch.setenv("SYNTH_LINEAGE", "postgresql://u:secret@host/lake")
    with pytest.raises(ValueError, match="SYNTH_LINEAGE must be ducklake:postgres:") as err:
        StoreResource(root=default_root()).lineage
    assert "secret" not in str(err.value)


# ---------------------------------------------------------------- concurrency

WRITERS, PER_WRITER = 8, 15


def _writer(db_path: str, worker: int) -> int:
    lin = Lineage(db_path)
    for i in range(PER_WRITER):
        pk = f"ds|w{worker}"
        lin.record_materialization(
            asset="generate", partition_key=pk, dataset="ds", fingerprint=f"fp{worker}",
            stage_fingerprint="s", run_id=f"run{worker}", path=f"/out/{worker}/{i}",
            rows=i, content_hash="h", reused=False, started_at=None, ended_at=None,
            upstream=[{"asset": "seed", "partition_key": pk, "path": f"/in/{worker}"}])
        lin.record_llm_usage(run_id=f"run{worker}", asset="generate", partition_key=pk,
                             fingerprint=f"fp{worker}", batch_id="batch_20250102_load",
                             backend="fake", model="m", usage=USAGE)
    return worker


def _reader(db_path: str, total: int, deadline_s: float) -> list[int]:
    lin, seen = Lineage(db_path), []
    end = time.monotonic() + deadline_s
    while time.monotonic() < end and (not seen or seen[-1] < total):
        seen.append(lin.query("SELECT count(*) AS n FROM materializations")[0]["n"])
        lin.cost_by_batch()
        time.sleep(0.02)
    return seen


def test_many_processes_write_while_others_read(target):
    db = target
    main = Lineage(db)
    main.record_batch("batch_20250102_load")  # schema exists before the race
    total = WRITERS * PER_WRITER
    with ProcessPoolExecutor(WRITERS + 1, mp_context=mp.get_context("spawn")) as pool:
        reader = pool.submit(_reader, db, total, 60)
        writers = [pool.submit(_writer, db, w) for w in range(WRITERS)]
        counts = []
        while not all(f.done() for f in writers):
            counts.append(main.query("SELECT count(*) AS n FROM llm_usage")[0]["n"])
            main.batches()
            time.sleep(0.02)
        assert sorted(f.result() for f in writers) == list(range(WRITERS))
        reader_counts = reader.result()

    assert any(0 < c < total for c in counts), counts  # reads succeeded mid-write
    assert reader_counts == sorted(reader_counts) and reader_counts[-1] == total
    assert main.query("SELECT count(*) AS n FROM materializations") == [{"n": total}]
    assert main.query("SELECT count(*) AS n FROM lineage_edges") == [{"n": total}]
    assert main.query("SELECT count(DISTINCT id) AS n FROM materializations") == [
        {"n": total}]
    (cost,) = main.cost_by_batch()
    assert cost["requests"] == total * USAGE["requests"]
    assert cost["cost_usd"] == pytest.approx(total * USAGE["cost_usd"])


_HOLD = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def _hold_raw_connection(db: str, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, "-c", _HOLD, db, str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_foreign_connection_is_retried(tmp_path):
    db = str(tmp_path / "lineage.duckdb")
    lin = Lineage(db)
    lin.record_batch("batch_20250102_a")
    proc = _hold_raw_connection(db, 1.0)
    start = time.monotonic()
    lin.record_batch("batch_20250102_b")  # retries until the shell lets go
    assert time.monotonic() - start > 0.2
    assert proc.wait(10) == 0
    assert [b["batch_id"] for b in lin.batches()] == ["batch_20250102_a", "batch_20250102_b"]

    impatient = Lineage(db, retries=1, retry_backoff_s=0.01)
    proc = _hold_raw_connection(db, 1.0)
    with pytest.raises(duckdb.IOException, match="lock"):
        impatient.batches()
    assert proc.wait(10) == 0
    assert os.path.exists(db + ".lock")
