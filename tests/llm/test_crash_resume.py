"""A client SIGKILLed mid-batch resends, on restart, only the requests it never got an answer to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
N = 50


def _client(fake, cache_path) -> subprocess.Popen:
    env = {**os.environ, "OPENAI_API_KEY": "sk-test", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "tests.llm.crash_client", fake.base_url, str(cache_path), str(N)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)


@pytest.mark.slow
def test_sigkill_then_resume_sends_only_unanswered(fake, tmp_path):
    cache_path = tmp_path / "cache.sqlite"
    fake.control(hold_after=20)
    first = _client(fake, cache_path)
    try:
        deadline = time.monotonic() + 60
        while sum(fake.counts()["answered"].values()) < 20:
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        time.sleep(1.0)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    run1 = fake.counts()
    answered_1 = set(run1["answered"])
    assert len(answered_1) >= 20 and sum(run1["answered"].values()) == len(answered_1)
    assert sum(run1["received"].values()) > len(answered_1)  # some were held in flight when killed

    fake.control(hold_after=None, reset=True)
    second = _client(fake, cache_path)
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out
    run2 = fake.counts()["received"]
    everything = {f"item {i}" for i in range(N)}
    assert set(run2) == everything - answered_1  # exactly the remaining ones ...
    assert all(count == 1 for count in run2.values())  # ... each sent once
    assert f"cache_hits={len(answered_1)} failures=0" in out
