"""The official `openai` client against the Batch-compatible test server: idempotent submission across
crashes, partial and failed work, downloads, the CLI, and keys that never reach a file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from synth_assets.recipes.openai_batch.errors import BatchAPIError, InputError
from synth_assets.recipes.openai_batch.cli import app
from tests.openai_batch.conftest import MARKER_KEY, make_requests, write_input

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()


def wait_for(predicate, timeout: float = 20.0, every: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    raise AssertionError("condition not met in time")


def settle(pipe, root_key: str, timeout: float = 20.0):
    """Advance a root until it is complete (or out of retries)."""
    def step():
        state = pipe.advance_root(root_key)
        return state if state.status in ("complete", "held", "stuck") else None
    return wait_for(step, timeout, every=0.15)


def test_submit_is_idempotent_and_recorded(server, pipeline, tmp_path, root):
    pipe = pipeline()
    path = write_input(tmp_path / "in.jsonl", make_requests(5))
    first = pipe.submit_file(path)
    again = pipe.submit_file(path)
    assert first["batch_id"] == again["batch_id"] and first["file_id"] == again["file_id"]
    assert server.state()["counts"]["uploads"] == 1 and server.state()["counts"]["batch_creates"] == 1
    batch = next(b for b in server.state()["batches"] if b["id"] == first["batch_id"])
    assert batch["metadata"]["synth_job_key"] == first["key"] and batch["completion_window"] == "24h"
    from synth_assets.core.lineage import Lineage

    lineage = Lineage(root / "lineage.duckdb")
    rows = lineage.query("SELECT * FROM api_batches WHERE batch_id = ?", [first["batch_id"]])
    assert rows and rows[0]["job_key"] == first["key"] and rows[0]["requests"] == 5 and rows[0]["estimate_usd"] > 0
    assert lineage.query("SELECT * FROM batches WHERE batch_id = ?", [first["batch_id"]]) == []  # not an experiment batch


def test_killed_submitter_restarts_without_duplicates(server, tmp_path, root):
    files = [write_input(tmp_path / f"in{i}.jsonl", make_requests(4, tag=f"f{i}")) for i in range(3)]
    env = {**os.environ, "PYTHONPATH": str(REPO), "SYNTH_ROOT": str(root), "OPENAI_API_KEY": MARKER_KEY}
    cmd = [sys.executable, "-m", "synth_assets.recipes.openai_batch.cli", "submit", *map(str, files), "--base-url", server.base_url]
    server.control(hold_uploads_after=1)  # the second upload hangs: the submitter is stuck after 1 of 3
    proc = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: server.state()["counts"]["batch_creates"] == 1, timeout=60)
        time.sleep(0.5)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
    assert server.state()["counts"]["uploads"] == 1
    server.control(hold_uploads_after=None)
    done = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    state = server.state()
    assert state["counts"]["batch_creates"] == 3
    shas = [state["input_sha"][b["input_file_id"]] for b in state["batches"]]
    assert len(set(shas)) == 3  # every input file in exactly one batch
    again = subprocess.run(cmd, env=env, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0 and server.state()["counts"]["batch_creates"] == 3


def test_crash_after_create_before_record_is_recovered_from_the_listing(server, pipeline, tmp_path, monkeypatch):
    from synth_assets.recipes.openai_batch.pipeline import BatchPipeline

    path = write_input(tmp_path / "in.jsonl", make_requests(3))
    pipe = pipeline()

    def die(self, job, batch):
        raise KeyboardInterrupt("killed after create")

    monkeypatch.setattr(BatchPipeline, "_record_batch", die)
    with pytest.raises(KeyboardInterrupt):
        pipe.submit_file(path)
    monkeypatch.undo()
    monkeypatch.setenv("OPENAI_API_KEY", MARKER_KEY)
    job = pipeline().submit_file(path)
    state = server.state()
    assert state["counts"]["batch_creates"] == 1 and state["counts"]["uploads"] == 1
    assert job["batch_id"] == state["batches"][0]["id"]


def test_duplicate_custom_id_is_refused_before_upload(server, tmp_path, root):
    rows = make_requests(3)
    rows.append(dict(rows[0]))
    path = write_input(tmp_path / "dup.jsonl", rows)
    result = runner.invoke(app, ["submit", str(path), "--base-url", server.base_url])
    assert result.exit_code == 2
    assert "line 4: duplicate custom_id" in result.output and "first used on line 1" in result.output
    assert server.state()["counts"]["uploads"] == 0 and server.state()["counts"]["batch_creates"] == 0


def test_expired_batch_resubmits_only_the_missing_30_percent(server, pipeline, tmp_path, root):
    from synth_assets.core.lineage import Lineage

    server.control(next_plans=[{"mode": "expire", "fraction": 0.7}])
    pipe = pipeline()
    path = write_input(tmp_path / "in.jsonl", make_requests(10))
    meta = tmp_path / "meta.jsonl"
    meta.write_text("".join(json.dumps({"custom_id": r["custom_id"], "scenario": "scenario1", "kind": "function",
                                        "name": f"f{i}", "path": "m.py", "code": f"def f{i}(): pass"}) + "\n"
                            for i, r in enumerate(make_requests(10))))
    s = pipe.register_set("demo", [path], meta)
    [job] = pipe.submit_set(s)
    state = settle(pipe, job["key"])
    assert state.status == "complete" and state.ok == 10
    srv = server.state()
    assert srv["counts"]["batch_creates"] == 2
    first, second = (srv["custom_ids"][b["id"]] for b in srv["batches"])
    assert len(first) == 10 and len(second) == 3 and set(second) <= set(first)
    expired = next(b for b in srv["batches"] if b["status"] == "expired")
    assert expired["request_counts"]["completed"] == 7
    rows, failures = pipe.compile_set(s)
    assert len(rows) == 10 and not failures
    assert {r["custom_id"] for r in rows} == {r["custom_id"] for r in make_requests(10)}
    assert all(r["response"] == f"answer to {r['custom_id']}" and r["kind"] == "function" and r["code"] for r in rows)
    usage = Lineage(root / "lineage.duckdb").query("SELECT batch_id, requests, prompt_tokens, cost_usd FROM llm_usage ORDER BY recorded_at")
    assert len(usage) == 2 and all(u["cost_usd"] > 0 for u in usage)


def test_failed_lines_retried_then_reported(server, pipeline, tmp_path):
    reqs = make_requests(4)
    bad = reqs[1]["custom_id"]
    server.control(default_plan={"mode": "complete", "fail_ids": [bad]})
    pipe = pipeline(max_retries=2)
    job = pipe.submit_file(write_input(tmp_path / "in.jsonl", reqs))
    state = settle(pipe, job["key"])
    assert state.status == "complete" and state.ok == 3 and list(state.failed) == [bad]
    assert "injected server error" in state.failed[bad]
    srv = server.state()
    assert srv["fail_counts"][bad] == 3  # first try + 2 retries
    assert [len(v) for v in srv["custom_ids"].values()] == [4, 1, 1]


def test_unparseable_result_line_loses_nothing(server, pipeline, tmp_path):
    server.control(next_plans=[{"mode": "complete", "malformed": 1}])
    pipe = pipeline()
    reqs = make_requests(5)
    job = pipe.submit_file(write_input(tmp_path / "in.jsonl", reqs))
    wait_for(lambda: pipe.refresh(pipe.ledger.job(job["key"]))["status"] == "completed")
    got = pipe.download(pipe.ledger.job(job["key"]))
    assert got["counts"]["ok"] == 4 and len(got["problems"]) == 1 and "output.jsonl:1" in got["problems"][0]
    state = settle(pipe, job["key"])
    assert state.ok == 5 and state.status == "complete"
    assert [len(v) for v in server.state()["custom_ids"].values()] == [5, 1]


def test_failed_batch_and_cancel_keep_completed_work(server, pipeline, tmp_path):
    server.control(auto=False)
    pipe = pipeline()
    job = pipe.submit_file(write_input(tmp_path / "in.jsonl", make_requests(10)))
    server.control(next_plans=[], default_plan={"mode": "complete", "fraction": 0.5})
    pipe.cancel(pipe.ledger.job(job["key"]))
    state = pipe.advance_root(job["key"])
    assert state.status == "held" and state.ok == 5  # cancelled: half done, kept, nothing resubmitted yet
    assert server.state()["counts"]["batch_creates"] == 1
    pipe.release(job["key"])
    server.control(auto=True)
    state = settle(pipe, job["key"])
    assert state.status == "complete" and state.ok == 10
    assert [len(v) for v in server.state()["custom_ids"].values()] == [10, 5]


def test_cli_list_status_download_and_unknown_id(server, tmp_path, root):
    path = write_input(tmp_path / "in.jsonl", make_requests(3))
    args = ["--base-url", server.base_url]
    submitted = runner.invoke(app, ["submit", str(path), "--json", *args])
    assert submitted.exit_code == 0, submitted.output
    batch_id = json.loads(submitted.output)["jobs"][0]["batch_id"]
    listed = runner.invoke(app, ["list", "--json", "--no-refresh", *args])
    assert batch_id in listed.output
    wait_for(lambda: json.loads(runner.invoke(app, ["status", batch_id, "--json", *args]).output)["status"] == "completed")
    downloaded = runner.invoke(app, ["download", batch_id, *args])
    assert downloaded.exit_code == 0 and "3/3 completed" in downloaded.output
    assert runner.invoke(app, ["list", "--json", *args]).output.strip() == "[]"  # nothing active any more
    unknown = runner.invoke(app, ["status", "batch_doesnotexist", *args])
    assert unknown.exit_code == 1 and "unknown batch id 'batch_doesnotexist'" in unknown.output
    est = runner.invoke(app, ["estimate", str(path), "--json"])
    assert est.exit_code == 0 and json.loads(est.output)["requests"] == 3


def test_key_from_config_json_and_never_written(server, tmp_path, root, monkeypatch):
    config = tmp_path / "old" / "config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"api_key": MARKER_KEY, "model": "gpt-4o-mini"}))
    monkeypatch.delenv("OPENAI_API_KEY")
    path = write_input(tmp_path / "in.jsonl", make_requests(3))
    no_key = runner.invoke(app, ["submit", str(path), "--base-url", server.base_url])
    assert no_key.exit_code == 1 and "OPENAI_API_KEY" in no_key.output
    result = runner.invoke(app, ["submit", str(path), "--dataset", "keys", "--base-url", server.base_url, "--config-json", str(config)])
    assert result.exit_code == 0, result.output
    batch_id = next(b["id"] for b in server.state()["batches"])
    wait_for(lambda: runner.invoke(app, ["download", batch_id, "--base-url", server.base_url, "--config-json", str(config)]).exit_code == 0)
    assert MARKER_KEY not in result.output
    leaked = [p for p in tmp_path.rglob("*") if p.is_file() and p != config and MARKER_KEY.encode() in p.read_bytes()]
    assert not leaked
    assert any((root / ".synth" / "batch_api").rglob("*.sqlite"))


def test_unknown_batch_id_in_pipeline(pipeline):
    with pytest.raises(BatchAPIError, match="unknown batch id"):
        pipeline().find("batch_nope")
    with pytest.raises(InputError):
        pipeline().submit_file(data=b"")
