"""Fixtures: the fake OpenAI server (one subprocess per session, reset per test) and resource factories."""

from __future__ import annotations

import pytest

from synth_assets.llm.client import LLMClient
from synth_assets.testing import fake_openai_server


FakeServer = fake_openai_server.FakeOpenAIClient


@pytest.fixture(scope="session")
def _fake_process():
    proc, base_url = fake_openai_server.start(max_seconds=600)
    yield FakeServer(base_url)
    proc.kill()
    proc.wait(timeout=10)


@pytest.fixture
def fake(_fake_process: FakeServer) -> FakeServer:
    _fake_process.control(reset=True, rules={}, hold_after=None, latency=0.0)
    return _fake_process


@pytest.fixture
def make_llm(fake: FakeServer, tmp_path, monkeypatch):
    """LLMClient on the openai backend against the fake server, with a per-test cache and fast backoff."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")

    def make(**overrides) -> LLMClient:
        config = dict(backend="openai", model="gpt-4o-mini", base_url=fake.base_url, cache_path=str(tmp_path / "cache.sqlite"),
                      retry_min_wait_s=0.01, retry_max_wait_s=2.0, timeout_s=10.0)
        config.update(overrides)
        return LLMClient(**config)

    return make


def user(content: str, **fields) -> dict:
    """A one-message ChatRequest payload."""
    return {"messages": [{"role": "user", "content": content}], **fields}
