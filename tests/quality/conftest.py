"""Fixtures: the scripted fake OpenAI server (one subprocess per session, reset per test)."""

from __future__ import annotations

import pytest

from synth_assets.llm.client import LLMClient
from tests.quality import fake_judge_server
from tests.quality.fake_judge_server import ScriptedServer


@pytest.fixture(scope="session")
def _scripted_process():
    with fake_judge_server.running() as server:
        yield server


@pytest.fixture
def scripted(_scripted_process: ScriptedServer) -> ScriptedServer:
    _scripted_process.script({})
    return _scripted_process


@pytest.fixture
def fake_llm(scripted: ScriptedServer, tmp_path, monkeypatch) -> LLMClient:
    """LLMClient on the openai backend against the scripted server, with a per-test cache."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    return LLMClient(backend="openai", model="gpt-4o-mini", base_url=scripted.base_url,
                     cache_path=str(tmp_path / "cache.sqlite"), retry_min_wait_s=0.01, retry_max_wait_s=0.5,
                     timeout_s=10.0, max_retries=1)
