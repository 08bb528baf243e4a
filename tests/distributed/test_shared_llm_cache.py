"""The LLM request cache of an S3 store lives in the store: a call killed on one machine and retried on
another (its own HOME, state dir and TMPDIR) sends only the requests that never completed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from synth_assets.defs.store import llm_resource
from synth_assets.llm.cache import ResponseCache, cache_kind, open_cache
from synth_assets.llm.store_cache import PREFIX, StoreResponseCache
from tests.distributed.conftest import fresh_bucket, machine, s3_keys

REPO = Path(__file__).resolve().parents[2]
N, HELD = 40, 16


def test_cache_kind_follows_the_root_and_the_variable(monkeypatch, tmp_path):
    monkeypatch.delenv("SYNTH_LLM_CACHE", raising=False)
    assert cache_kind(str(tmp_path)) == "sqlite" and cache_kind("s3://bucket/store") == "store"
    assert llm_resource(str(tmp_path)).cache_path == str(tmp_path / ".cache" / "llm_cache.sqlite")
    assert llm_resource("s3://bucket/store").cache_root == "s3://bucket/store"
    monkeypatch.setenv("SYNTH_LLM_CACHE", "store")
    assert cache_kind(str(tmp_path)) == "store" and llm_resource(str(tmp_path)).cache_root == str(tmp_path)
    monkeypatch.setenv("SYNTH_LLM_CACHE", "sqlite")
    assert cache_kind("s3://bucket/store") == "sqlite"
    monkeypatch.setenv("SYNTH_LLM_CACHE", "redis")
    with pytest.raises(ValueError, match="SYNTH_LLM_CACHE='redis': expected one of sqlite, store"):
        cache_kind(str(tmp_path))


def test_store_cache_roundtrip_on_a_local_root(monkeypatch, tmp_path):
    monkeypatch.delenv("SYNTH_LLM_CACHE", raising=False)
    cache = open_cache(root=str(tmp_path))
    assert isinstance(cache, StoreResponseCache)
    cache.put("ab" + "0" * 62, {"text": "t"})
    cache.close()  # waits for the write
    assert (tmp_path / PREFIX / "ab" / ("ab" + "0" * 62 + ".json")).is_file()
    assert StoreResponseCache(str(tmp_path)).get_many(["ab" + "0" * 62, "cd" + "0" * 62]) == {"ab" + "0" * 62: {"text": "t"}}
    monkeypatch.setenv("SYNTH_ROOT", str(tmp_path))
    assert isinstance(open_cache(), ResponseCache)  # a local default root keeps the SQLite file


def _client(fake_llm, root: str, env: dict[str, str]) -> subprocess.Popen:
    env = {**os.environ, **env, "OPENAI_API_KEY": "sk-test", "PYTHONPATH": str(REPO)}
    return subprocess.Popen([sys.executable, "-m", "tests.distributed.cache_client", fake_llm.base_url, root, str(N)],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True)


@pytest.mark.slow
def test_retry_on_another_machine_sends_only_unanswered(fake_llm, s3_endpoint, tmp_path, monkeypatch):
    monkeypatch.delenv("SYNTH_LLM_CACHE", raising=False)
    bucket = fresh_bucket("llm-cache")
    root = f"s3://{bucket}/store"
    fake_llm.control(reset=True, rules={}, latency=0.0, hold_after=HELD)
    first = _client(fake_llm, root, machine(tmp_path, "a"))
    try:
        deadline = time.monotonic() + 60
        while sum(fake_llm.counts()["answered"].values()) < HELD:
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        # written as they arrive: every answer is in the store while the call still waits on held requests
        while len(s3_keys(bucket, f"store/{PREFIX}/")) < HELD:
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=10)
    answered = set(fake_llm.counts()["answered"])
    assert len(answered) == HELD

    fake_llm.control(hold_after=None, reset=True)
    second = _client(fake_llm, root, machine(tmp_path, "b"))
    out, _ = second.communicate(timeout=120)
    assert second.returncode == 0, out
    sent_again = fake_llm.counts()["received"]
    assert set(sent_again) == {f"item {i}" for i in range(N)} - answered  # only what never completed ...
    assert all(count == 1 for count in sent_again.values())  # ... each once
    assert f"cache_hits={HELD} failures=0" in out
    assert len(s3_keys(bucket, f"store/{PREFIX}/")) == N
    assert not list(tmp_path.rglob("*.sqlite"))  # no machine kept a local cache
