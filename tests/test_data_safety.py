"""Data safety: killed regenerates never leave a batch view without complete data, failed LLM requests are never
published as success, concurrent runs of one fingerprint send each request once, truncated completions are rejected,
writers killed while creating a registration or a lease block no one.

Runs `synth` as child processes against the OpenAI-compatible fault-injection server (`backend: openai`).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from dagster import DagsterInstance, DagsterRunStatus

from synth_assets.recipes.rephrase.rewrite import TRUNCATED
from tests.conftest import REPO, lineage_for, llm_cache_rows, local_store
from tests.safety_fixtures import llm, paths, spawn  # noqa: F401 (fixtures)
from tests.safety_support import (
    NAME, ViewPoller, child_env, flat, generation_prompts, leftovers, openai_config, reference_file,
    rewrite_rules, synth, train_file, wait_for, write_config,
)

pytestmark = pytest.mark.slow

LEASE_TTL_S = "2"


def shared_dir(root: Path, name: str = NAME) -> Path:
    return root / "_shared" / "Copa" / name


def rows_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def run_status(home: Path, pid: int) -> DagsterRunStatus:
    """Status of the Dagster run the process `pid` started."""
    instance = DagsterInstance.from_config(str(home))
    (run,) = [r for r in instance.get_runs() if r.tags.get("synth/pid") == str(pid)]
    return run.status


# ------------------------------------------------------------------ 1. kill -9 during regenerate


def _tmp_of_publish(root: Path, marked: bool) -> bool:
    """The publish step's temporary copy exists (with `.fingerprint` inside: complete, waiting for the swap)."""
    return any((tmp / ".fingerprint").exists() == marked for tmp in root.glob(f"_shared/Copa/.tmp-{NAME}-*"))


@pytest.mark.parametrize("point", ["generation", "publish", "swap"])
def test_killed_regenerate_never_shows_incomplete_data(point, llm, paths, spawn):
    root, home, configs = paths
    config = {**openai_config("batch_20250101_first"),
              "decontamination": {"references": [str(reference_file(configs.parent / "ref.jsonl"))]}}
    first = write_config(configs, "first.yaml", config)
    second = write_config(configs, "second.yaml", {**config, "experiment": {"batch_id": "batch_20250102_second"}})
    prompts = generation_prompts(first)
    llm.control(rules=rewrite_rules(prompts, "In fact,"))
    env = child_env(root, home, llm, SYNTH_LEASE_TTL_S=LEASE_TTL_S)
    assert synth(env, "run", str(first)).returncode == 0
    assert synth(env, "register", str(second)).returncode == 0
    views = [root / "batch_20250101_first" / "Copa" / NAME, root / "batch_20250102_second" / "Copa" / NAME]
    old = {view: train_file(view).read_bytes() for view in views}
    fingerprint = (shared_dir(root) / ".fingerprint").read_text().strip()
    assert len(set(old.values())) == 1 and b"In fact," in old[views[0]]

    llm.control(rules=rewrite_rules(prompts, "Indeed,"), latency=0.5 if point == "generation" else 0.0, reset=True)
    poller = ViewPoller(root, rows=len(rows_of(train_file(views[0]))))
    poller.start()
    delay = {"SYNTH_SWAP_DELAY_S": "3"} if point == "swap" else {}
    child = spawn(child_env(root, home, llm, SYNTH_LEASE_TTL_S=LEASE_TTL_S, **delay), "regenerate",
                  "regenerate", "--yes", fingerprint[:12])
    if point == "generation":
        wait_for(lambda: sum(llm.received().values()) >= 1, child, "the first generation request", every=0.02)
    else:
        wait_for(lambda: _tmp_of_publish(root, marked=point == "swap"), child, f"the publish step ({point})")
    child.kill()
    time.sleep(0.5)  # the poller keeps reading after the kill

    assert {view: train_file(view).read_bytes() for view in views} == old, "the old data changed"
    assert (shared_dir(root) / ".fingerprint").read_text().strip() == fingerprint
    if point != "generation":
        assert leftovers(root), "the kill was meant to leave the publish step's temporary copy"
    assert run_status(home, child.proc.pid) == DagsterRunStatus.STARTED

    llm.control(latency=0.0)
    again = synth(env, "regenerate", "--yes", fingerprint[:12])
    poller.stop()
    assert again.returncode == 0, again.stdout + again.stderr
    assert poller.problems == [], poller.problems[:5]
    assert poller.polls >= 10 and poller.fingerprints == {fingerprint}
    new = {view: train_file(view).read_bytes() for view in views}
    assert len(set(new.values())) == 1 and b"Indeed," in new[views[0]] and b"In fact," not in new[views[0]]
    assert leftovers(root) == []
    assert run_status(home, child.proc.pid) == DagsterRunStatus.FAILURE  # marked by the next synth command


# ------------------------------------------------------------------ 2. failing LLM requests


def reported_failure(stderr: str) -> str:
    """What `synth run` says after `failed: {dataset}/{name} ({fp}), run {id}: ` (Dagster's own log lines aside)."""
    found = re.search(rf"failed: Copa/{NAME} \(\w{{12}}\), run [\w-]+: (.*)", flat(stderr))
    assert found, stderr[-3000:]
    return found.group(1)


def test_every_request_failing_publishes_nothing_until_a_healthy_run(llm, paths):
    root, home, configs = paths
    config = write_config(configs, "all.yaml", openai_config("batch_20250101_outage"))
    llm.control(default={"status": 401})
    env = child_env(root, home, llm)
    failed = synth(env, "run", str(config))
    assert failed.returncode == 1
    said = reported_failure(failed.stderr)
    assert said.startswith("StageFailed: 10 of 10 LLM requests failed") and "First error: HTTP 401" in said
    assert not shared_dir(root).exists() and not (root / "batch_20250101_outage").exists()
    assert list(root.glob("_stages/Copa/generated/*/.fingerprint")) == []
    batch = synth(env, "batch", "batch_20250101_outage", "--json")
    (member,) = json.loads(batch.stdout)
    assert member["state"] == "failed" and member["failure"]["stage"] == "generated"
    run_id = member["failure"]["run_id"]
    assert run_id in flat(synth(env, "batch", "batch_20250101_outage").stdout)

    llm.control(default={}, rules=rewrite_rules(generation_prompts(config), "In fact,"))
    healed = synth(env, "run", str(config))
    assert healed.returncode == 0, healed.stdout + healed.stderr
    assert len(rows_of(train_file(root / "batch_20250101_outage" / "Copa" / NAME))) == 10
    (member,) = json.loads(synth(env, "batch", "batch_20250101_outage", "--json").stdout)
    assert member["state"] == "complete" and member["failure"] is None


def test_thirty_percent_failing_needs_a_failure_budget(llm, paths):
    root, home, configs = paths
    strict = write_config(configs, "strict.yaml", openai_config("batch_20250101_flaky"))
    tolerant = write_config(configs, "tolerant.yaml", openai_config("batch_20250101_flaky", max_failure_rate=0.5))
    prompts = generation_prompts(strict)
    failing = sorted(prompts)[:3]
    llm.control(rules={**rewrite_rules(prompts, "In fact,"), **{content: {"status": 400} for content in failing}})
    env = child_env(root, home, llm)
    failed = synth(env, "run", str(strict))
    assert failed.returncode == 1
    assert reported_failure(failed.stderr).startswith("StageFailed: 3 of 10 LLM requests failed (30% > max_failure_rate 0%)")
    assert not shared_dir(root).exists()

    published = synth(env, "run", str(tolerant))  # same fingerprint: the budget is no data parameter
    assert published.returncode == 0, published.stdout + published.stderr
    rows = rows_of(train_file(root / "batch_20250101_flaky" / "Copa" / NAME))
    failed_premises = {prompts[content] for content in failing}
    assert len(rows) == 7 and not failed_premises & {r["premise"].removeprefix("In fact, ") for r in rows}
    assert all(r["premise"].startswith("In fact, ") for r in rows)
    received = llm.received()
    assert {c: received[c] for c in failing} == {c: 2 for c in failing}  # only the failed requests were sent again
    assert sum(received.values()) == 13


# ------------------------------------------------------------------ 3. one fingerprint, concurrent runs


def _three_batches(configs: Path, **generation) -> list[Path]:
    return [write_config(configs, f"run{i}.yaml", openai_config(f"batch_2025010{i}_same", **generation)) for i in (1, 2, 3)]


def test_concurrent_runs_of_one_fingerprint_send_each_request_once(llm, paths, spawn):
    root, home, configs = paths
    configs_ = _three_batches(configs)
    prompts = generation_prompts(configs_[0])
    llm.control(rules=rewrite_rules(prompts, "In fact,"), latency=0.3)
    env = child_env(root, home, llm)
    children = [spawn(env, f"run{i}", "run", str(c)) for i, c in enumerate(configs_)]
    for child in children:
        assert child.wait() == 0, child.output()[-3000:]
    assert llm.received() == Counter({content: 1 for content in prompts})
    for i in (1, 2, 3):
        view = root / f"batch_2025010{i}_same" / "Copa" / NAME
        assert view.resolve() == shared_dir(root).resolve() and len(rows_of(train_file(view))) == 10


def test_waiter_takes_over_a_killed_lease_holder(llm, paths, spawn):
    root, home, configs = paths
    configs_ = _three_batches(configs)
    prompts = generation_prompts(configs_[0])
    answered, stuck = sorted(prompts)[:4], sorted(prompts)[4:]
    rules = rewrite_rules(prompts, "In fact,")
    for content in stuck:  # the holder's requests for these hang until it is killed; a later one is answered at once
        rules[content].update(sleep=600, times=1)
    llm.control(rules=rules)
    env = child_env(root, home, llm, SYNTH_LEASE_TTL_S=LEASE_TTL_S)
    holder = spawn(env, "holder", "run", str(configs_[0]))
    wait_for(lambda: llm_cache_rows(root) == 4 and sum(llm.received().values()) == 10, holder, "4 answers persisted, 6 hanging")
    waiters = [spawn(env, f"waiter{i}", "run", str(c)) for i, c in enumerate(configs_[1:])]
    for waiter in waiters:
        wait_for(lambda w=waiter: "being made by another worker" in w.output(), waiter, "the waiter to wait", every=0.1)
    holder.kill()
    for waiter in waiters:
        assert waiter.wait() == 0, waiter.output()[-3000:]

    received = llm.received()
    assert {c: received[c] for c in answered} == {c: 1 for c in answered}  # answered before the kill: never sent again
    assert {c: received[c] for c in stuck} == {c: 2 for c in stuck}
    usage = lineage_for(root).query("SELECT requests, cache_hits FROM llm_usage WHERE asset = 'rephrase/rephrased'")
    assert usage == [{"requests": 10, "cache_hits": 4}]  # one waiter took over and sent the other 6
    for i in (1, 2, 3):
        assert len(rows_of(train_file(root / f"batch_2025010{i}_same" / "Copa" / NAME))) == 10


# ------------------------------------------------------------------ 4. truncated completions


@pytest.mark.parametrize("allow", [False, True])
def test_truncated_completions_are_rejected_unless_allowed(allow, llm, paths):
    root, home, configs = paths
    config = write_config(configs, "cut.yaml", openai_config("batch_20250101_cut", limit=6, allow_truncated=allow))
    prompts = generation_prompts(config)
    llm.control(rules=rewrite_rules(prompts, "In fact,", finish_reason="length"))
    env = child_env(root, home, llm)
    done = synth(env, "run", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    (experiment,) = root.glob("_shared/Copa/*")
    rows = rows_of(train_file(experiment))
    originals = sorted(prompts.values())
    if allow:
        assert sorted(r["premise"] for r in rows) == sorted(f"In fact, {p}" for p in originals)
    else:
        assert sorted(r["premise"] for r in rows) == originals  # nothing truncated is published as a rewrite
        (validated,) = root.glob("_stages/Copa/validated/*/data.jsonl")
        for row in rows_of(validated):
            info = row["_synth"]["fields"]["premise"]
            assert info["candidates"][0]["finish_reason"] == "length" and not info["rewritten"]
            assert info["outcomes"][0]["verdicts"][0]["reason"] == TRUNCATED
    quality = json.loads((experiment / "experiment_metadata.json").read_text())["summary"]["quality"]
    assert quality["truncation_rate"] == 1.0 and quality["rewrite_rate"] == (1.0 if allow else 0.0)
    (recorded,) = lineage_for(root).query("SELECT metrics FROM quality")
    assert json.loads(recorded["metrics"])["truncation_rate"] == 1.0


# ------------------------------------------------------------------ 5. writers killed while creating a claim or a registration

CREATE = "import sys; from synth_assets.core.stores import open_store; open_store(sys.argv[1]).create_exclusive(sys.argv[2], b'x' * 300_000_000)"
CLAIM = ("import sys; from synth_assets.core.leases import claim; from synth_assets.core.stores import open_store; "
         "lease = claim(open_store(sys.argv[1]), 'work', lambda: False, ttl_s=5, poll_s=0.1); print('GENERATION', lease.generation)")


def test_a_writer_killed_while_creating_a_registration_leaves_it_free(tmp_path):
    store = local_store(tmp_path / "root")
    key = ".synth/experiments/" + "ab" * 32 + ".json"
    folder = tmp_path / "root" / ".synth" / "experiments"
    child = subprocess.Popen([sys.executable, "-c", CREATE, str(tmp_path / "root"), key], cwd=REPO, start_new_session=True)
    try:
        wait_for(lambda: folder.is_dir() and any(p.stat().st_size > 0 for p in folder.iterdir()), None, "the write to start")
    finally:
        os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    assert store.children(".synth/experiments") == []  # no empty or partial registration is visible
    assert store.create_exclusive(key, b"{}") and store.read_bytes(key) == b"{}"


def test_an_unreadable_lease_does_not_block_the_work(tmp_path):
    lease = tmp_path / "root" / ".synth" / "leases" / "work" / "0"
    lease.parent.mkdir(parents=True)
    lease.write_bytes(b"")  # what a writer killed between creating and filling it left (before creation was atomic)
    done = subprocess.run([sys.executable, "-c", CLAIM, str(tmp_path / "root")], cwd=REPO, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0 and "GENERATION 1" in done.stdout, done.stderr[-2000:]
