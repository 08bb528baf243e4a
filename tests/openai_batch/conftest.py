"""Fixtures: the OpenAI-Batch-compatible server (one subprocess per session, reset per test), pipelines, inputs."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import httpx
import pytest

from tests.openai_batch import batch_server

MARKER_KEY = "sk-MARKER-do-not-copy-7f3a9c"


class Server:
    def __init__(self, base_url: str):
        self.base_url = base_url
        self.root = base_url.removesuffix("/v1")

    def control(self, **body) -> None:
        httpx.post(f"{self.root}/control", json=body, timeout=10).raise_for_status()

    def state(self) -> dict:
        return httpx.get(f"{self.root}/control/state", timeout=10).json()


@pytest.fixture(scope="session")
def _server_process():
    proc, base_url = batch_server.start(step=0.1, max_seconds=600)
    yield Server(base_url)
    os.kill(proc.pid, signal.SIGKILL)  # by PID
    proc.wait(timeout=10)


@pytest.fixture
def server(_server_process: Server, monkeypatch) -> Server:
    _server_process.control(reset=True, auto=True, step=0.1)
    monkeypatch.setenv("OPENAI_API_KEY", MARKER_KEY)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    return _server_process


@pytest.fixture
def root(tmp_path: Path, monkeypatch) -> Path:
    r = tmp_path / "root"
    r.mkdir()
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("SYNTH_ROOT", str(r))
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return r


@pytest.fixture
def pipeline(server: Server, root: Path):
    from synth_assets.recipes.openai_batch.client import OpenAIBatchClient
    from synth_assets.recipes.openai_batch.pipeline import BatchPipeline

    def make(**kwargs) -> BatchPipeline:
        return BatchPipeline(root, lambda: OpenAIBatchClient(base_url=server.base_url, max_retries=0), **kwargs)

    return make


def make_requests(n: int, tag: str = "x", model: str = "gpt-4o-mini") -> list[dict]:
    from synth_assets.recipes.openai_batch.build import request_id

    rows = []
    for i in range(n):
        req = {"method": "POST", "url": "/v1/chat/completions",
               "body": {"model": model, "messages": [{"role": "user", "content": f"question {tag} {i}"}], "max_tokens": 16}}
        rows.append({"custom_id": request_id(req), **req})
    return rows


def write_input(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    return path
