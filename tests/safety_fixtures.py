"""Fixtures of the data-safety tests (tests/test_data_safety.py, tests/faults/): the fake OpenAI server, a store and
Dagster home per test, `synth` children. Import them by name into a test module or conftest to use them."""

from __future__ import annotations

import pytest

from tests.safety_support import Child, FakeLLM


@pytest.fixture
def llm():
    server = FakeLLM()
    yield server
    server.stop()


@pytest.fixture
def paths(tmp_path, monkeypatch):
    """Store root, Dagster home and config folder of one test; OPENAI_API_KEY set here too (to compute prompts)."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    root, home = tmp_path / "root", tmp_path / "home"
    home.mkdir()
    return root, home, tmp_path / "configs"


@pytest.fixture
def spawn(tmp_path):
    """`spawn(env, name, *args)`: `synth ARGS` in its own process group (log `{name}.log`), killed at teardown."""
    started: list[Child] = []

    def start(env: dict[str, str], name: str, *args: str) -> Child:
        started.append(Child(env, tmp_path / f"{name}.log", *args))
        return started[-1]

    yield start
    for child in started:
        child.kill()
