"""The per-fingerprint claim across machines on S3 (`core/leases.py`: `create_exclusive` is a PUT with
If-None-Match): processes with separate HOME, state dir and TMPDIR race on a moto S3 store and
exactly one computes each stage; a holder killed -9 loses its claim when the lease expires."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synth_assets.core.stores import open_store
from tests.distributed.claim_racer import fingerprint
from tests.distributed.conftest import fresh_bucket, machine, s3_keys

REPO = Path(__file__).resolve().parents[2]
KEYS = 6


def _racer(root: str, name: str, start_at: float, n: int, work_s: float, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.distributed.claim_racer", root, name, str(start_at), str(n), str(work_s)],
                            cwd=REPO, env={**os.environ, **env, "PYTHONPATH": str(REPO)}, stdout=subprocess.PIPE, text=True,
                            start_new_session=True)


@pytest.mark.slow
def test_two_machines_racing_on_s3_compute_each_stage_once(s3_endpoint, tmp_path):
    bucket = fresh_bucket("claims")
    root = f"s3://{bucket}/store"
    start_at = time.time() + 4.0  # both processes are past their imports by then
    racers = [_racer(root, name, start_at, KEYS, 0.5, machine(tmp_path, name)) for name in ("a", "b")]
    outcomes = {}
    for name, racer in zip(("a", "b"), racers):
        out, _ = racer.communicate(timeout=120)
        assert racer.returncode == 0, out
        outcomes[name] = json.loads(out)
    store = open_store(root)
    for i in range(KEYS):
        who = [name for name in outcomes if outcomes[name][str(i)] == "computed"]
        assert len(who) == 1, (i, outcomes)  # exactly one computed, the other reused it
        assert [k.rsplit("/", 1)[1] for k in s3_keys(bucket, f"store/race/{i}/")] == who  # nobody else even started
        assert store.read_stage("Race", "generated", fingerprint(i)) == [{"by": who[0]}]
    assert {o for outcome in outcomes.values() for o in outcome.values()} == {"computed", "reused"}


@pytest.mark.slow
def test_a_killed_holder_loses_its_claim_when_the_lease_expires(s3_endpoint, tmp_path):
    bucket = fresh_bucket("claims")
    root = f"s3://{bucket}/store"
    ttl = {"SYNTH_LEASE_TTL_S": "3"}
    holder = _racer(root, "a", 0, 1, 600.0, {**machine(tmp_path, "a"), **ttl})
    try:
        deadline = time.monotonic() + 60
        while not s3_keys(bucket, "store/race/0/"):  # a holds the claim and computes
            assert time.monotonic() < deadline and holder.poll() is None
            time.sleep(0.1)
        other = _racer(root, "b", 0, 1, 0.1, {**machine(tmp_path, "b"), **ttl})
        time.sleep(4.0)
        assert other.poll() is None  # b waits while a's lease is renewed
        os.killpg(holder.pid, signal.SIGKILL)
        out, _ = other.communicate(timeout=60)
    finally:
        if holder.poll() is None:
            os.killpg(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
    assert other.returncode == 0 and json.loads(out) == {"0": "computed"}
    assert open_store(root).read_stage("Race", "generated", fingerprint(0)) == [{"by": "b"}]
