"""The Batch API ledger where the lineage is shared (`$SYNTH_LINEAGE`: DuckLake on PostgreSQL): machines with
their own HOME and state dir, one S3 store, never submit an input twice, even across crashes, and finish
what another machine submitted (its kept input file is in the store)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest

from synth_assets.recipes.openai_batch.pipeline import BatchPipeline
from tests.openai_batch import batch_server
from tests.openai_batch.conftest import Server, make_requests, write_input
from tests.distributed.conftest import fresh_bucket, machine, s3_keys

REPO = Path(__file__).resolve().parents[2]
KEY = "sk-test-shared-ledger"


@pytest.fixture(scope="module")
def server():
    process, base_url = batch_server.start(step=0.1, max_seconds=600)
    try:
        yield Server(base_url)
    finally:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@pytest.fixture
def shared(pg, s3_endpoint, server, tmp_path, monkeypatch) -> dict[str, str]:
    """What every machine shares: the S3 store, the lake's PostgreSQL database, the Batch API."""
    server.control(reset=True, auto=True, step=0.1)
    lake = pg.create_database(f"lake_{time.monotonic_ns()}")
    bucket = fresh_bucket("batches")
    env = {"SYNTH_ROOT": f"s3://{bucket}/store", "SYNTH_LINEAGE": f"ducklake:postgres:{lake}",
           "SYNTH_LINEAGE_DATA": f"s3://{bucket}/lineage/", "OPENAI_API_KEY": KEY}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return {**env, "LAKE": lake}


def on_machine(name: str, tmp_path: Path, server: Server, monkeypatch) -> BatchPipeline:
    """A pipeline as machine `name` opens it (its own HOME and state dir)."""
    from synth_assets.recipes.openai_batch.client import OpenAIBatchClient

    for key, value in machine(tmp_path, name).items():
        monkeypatch.setenv(key, value)
    return BatchPipeline(os.environ["SYNTH_ROOT"], lambda: OpenAIBatchClient(base_url=server.base_url, max_retries=0))


def settle(pipe: BatchPipeline, s: dict, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not all(state.done for state in pipe.advance_set(s)):
        assert time.monotonic() < deadline, "the set did not complete"
        time.sleep(0.15)


@pytest.mark.slow
def test_a_machine_finishes_what_another_submitted_without_resubmitting(shared, server, tmp_path, monkeypatch):
    rows = make_requests(6)
    meta = tmp_path / "a_files" / "meta.jsonl"
    path_a = write_input(tmp_path / "a_files" / "in.jsonl", rows)
    meta.write_text("".join(json.dumps({"custom_id": r["custom_id"], "name": f"f{i}"}) + "\n" for i, r in enumerate(rows)))
    a = on_machine("a", tmp_path, server, monkeypatch)
    assert a.ledger.shared
    s = a.register_set("demo", [path_a], meta)

    def die(self, job, batch):
        raise KeyboardInterrupt("machine a died after creating the batch, before recording it")

    monkeypatch.setattr(BatchPipeline, "_record_batch", die)
    with pytest.raises(KeyboardInterrupt):
        a.submit_set(s)
    monkeypatch.undo()
    for key, value in shared.items():
        monkeypatch.setenv(key, value)
    shutil.rmtree(tmp_path / "a")  # b sees nothing of a's disk

    b = on_machine("b", tmp_path, server, monkeypatch)
    path_b = write_input(tmp_path / "b_files" / "in.jsonl", rows)  # the same input, b's own copy
    job = b.submit_file(path_b)
    counts = server.state()["counts"]
    assert counts["uploads"] == 1 and counts["batch_creates"] == 1  # b found a's upload and batch
    assert job["batch_id"] == server.state()["batches"][0]["id"]

    s_b = b.ledger.set_by_partition("demo", s["partition_fp"])
    kept = s_b["spec"]["inputs"][0]
    assert not Path(kept["stored"]).exists()  # recorded by a, on a's disk ...
    assert s3_keys(shared["SYNTH_ROOT"][5:].split("/")[0], f"store/.synth/batch_api/inputs/{kept['sha256']}")  # ... and in the store
    settle(b, s_b)
    records, failures = b.compile_set(s_b)
    assert len(records) == 6 and not failures and {r["name"] for r in records} == {f"f{i}" for i in range(6)}
    assert server.state()["counts"]["batch_creates"] == 1
    assert not list(tmp_path.rglob("ledger.sqlite"))  # no machine kept a ledger of its own


def _submit(shared: dict[str, str], env: dict[str, str], path: Path, server: Server) -> subprocess.Popen:
    env = {**os.environ, **shared, **env, "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "synth_assets.recipes.openai_batch.cli", "submit", str(path), "--base-url",
                             server.base_url, "--json"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True, start_new_session=True)


def _jobs_in_ledger(lake: str) -> int:
    with psycopg2.connect(lake) as con, con.cursor() as cur:
        cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'synth_batch_api' AND table_name = 'jobs'")
        if not cur.fetchone()[0]:
            return 0
        cur.execute("SELECT count(*) FROM synth_batch_api.jobs")
        return cur.fetchone()[0]


@pytest.mark.slow
def test_two_machines_submitting_the_same_file_at_once_make_one_batch(shared, server, tmp_path):
    rows = make_requests(4, tag="race")
    server.control(hold_uploads_after=0)  # uploads wait: the first machine is stuck in the middle of its submission
    first = _submit(shared, machine(tmp_path, "a"), write_input(tmp_path / "a.jsonl", rows), server)
    second = None
    try:
        deadline = time.monotonic() + 60
        while _jobs_in_ledger(shared["LAKE"]) == 0:  # a recorded its job and is uploading
            assert time.monotonic() < deadline and first.poll() is None, first.stdout.read() if first.poll() is not None else ""
            time.sleep(0.2)
        second = _submit(shared, machine(tmp_path, "b"), write_input(tmp_path / "b.jsonl", rows), server)
        time.sleep(3.0)
        assert second.poll() is None  # b waits for a's submission of the same file
        server.control(hold_uploads_after=None)
        outputs = [json.loads(process.communicate(timeout=120)[0]) for process in (first, second)]
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    counts = server.state()["counts"]
    assert counts["uploads"] == 1 and counts["batch_creates"] == 1
    assert outputs[0]["jobs"][0]["batch_id"] == outputs[1]["jobs"][0]["batch_id"]
