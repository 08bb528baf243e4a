"""Fixtures of the fault-injection suite: the fake OpenAI server, a store and Dagster home per test, `synth` children."""

from __future__ import annotations

from tests.safety_fixtures import llm, paths, spawn  # noqa: F401 (fixtures, shared with tests/test_data_safety.py)
