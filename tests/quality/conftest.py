"""Fixtures: the scripted fake OpenAI server (one subprocess per session, reset per test)."""

from __future__ import annotations

import httpx
import pytest

from resources.llm import LLMResource
from synth_assets.testing.fake_openai_server import FakeOpenAIClient
from tests.quality import fake_judge_server


class ScriptedServer(FakeOpenAIClient):
    def script(self, rules: dict) -> None:
        self.control(reset=True, rules=rules)

    def received(self, content: str) -> int:
        return self.counts()["received"].get(content, 0)

    def requests(self) -> list[dict]:
        return httpx.get(f"{self.root}/requests", timeout=5).json()


@pytest.fixture(scope="session")
def _scripted_process():
    proc, base_url = fake_judge_server.start(max_seconds=600)
    yield ScriptedServer(base_url)
    proc.kill()
    proc.wait(timeout=10)


@pytest.fixture
def scripted(_scripted_process: ScriptedServer) -> ScriptedServer:
    _scripted_process.script({})
    return _scripted_process


@pytest.fixture
def fake_llm(scripted: ScriptedServer, tmp_path, monkeypatch) -> LLMResource:
    """LLMResource on the openai backend against the scripted server, with a per-test cache."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    return LLMResource(backend="openai", model="gpt-4o-mini", base_url=scripted.base_url,
                       cache_path=str(tmp_path / "cache.sqlite"), retry_min_wait_s=0.01, retry_max_wait_s=0.5,
                       timeout_s=10.0, max_retries=1)
