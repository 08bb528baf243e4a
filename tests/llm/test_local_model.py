"""The real embedded llama.cpp server with the packaged SmolLM2-135M model."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from synth_assets.cli.llm_cmd import llm_command
from synth_assets.llm.backends import local_server
from synth_assets.llm.client import LLMClient
from synth_assets.llm.types import ChatRequest

pytestmark = pytest.mark.slow


@pytest.fixture
def llm(tmp_path) -> LLMClient:
    return LLMClient(cache_path=str(tmp_path / "cache.sqlite"), max_in_flight=4)


def test_deterministic_at_temperature_zero(llm):
    req = ChatRequest(messages=[{"role": "user", "content": "What is the capital of France?"}], max_tokens=16,
                      temperature=0, seed=42)
    first = llm.chat([req]).responses[0]
    second = llm.chat([req], use_cache=False).responses[0]
    assert first.ok and second.ok and not second.cache_hit
    assert first.text == second.text and first.text
    assert first.model == "smollm2-135m-instruct-q4_1" and first.backend == "local"
    assert first.completion_tokens > 0 and first.prompt_tokens > 0
    assert llm.chat([req]).responses[0].cache_hit


def test_json_response_format_parses(llm):
    req = ChatRequest(messages=[{"role": "user", "content": 'Return a JSON object {"answer": "yes"}'}], max_tokens=24,
                      temperature=0, seed=1, response_format={"type": "json_object"})
    response = llm.chat([req], use_cache=False).responses[0]
    assert isinstance(json.loads(response.text), dict)


def test_server_is_shared_and_estimate_uses_its_tokenizer(llm, tmp_path):
    spec = llm._server_spec()
    url = local_server.ensure_server(spec)
    other = LLMClient(cache_path=str(tmp_path / "other.sqlite"), max_in_flight=4)
    assert local_server.ensure_server(other._server_spec()) == url
    messages = [{"role": "user", "content": "Count these tokens please."}]
    est = llm.estimate([ChatRequest(messages=messages, max_tokens=8, n=2)])
    sent = llm.chat([ChatRequest(messages=messages, max_tokens=8, temperature=0)], use_cache=False).responses[0]
    assert not est.approximate and est.cost_usd == 0
    assert est.prompt_tokens == 2 * sent.prompt_tokens and est.completion_tokens_max == 16


def test_cli_smoke(tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTH_ROOT", str(tmp_path))
    app = typer.Typer()
    app.command("llm")(llm_command)
    app.callback()(lambda: None)
    result = CliRunner().invoke(app, ["llm", "Say hello.", "--max-tokens", "8", "--temperature", "0"])
    assert result.exit_code == 0, result.output
    assert "backend=local" in result.output and "smollm2-135m-instruct-q4_1" in result.output
    assert "tokens/s" in result.output


def test_cli_bad_input_exits_before_sending(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    app = typer.Typer()
    app.command("llm")(llm_command)
    app.callback()(lambda: None)
    result = CliRunner().invoke(app, ["llm", "hi", "--backend", "openai"])
    assert result.exit_code == 2 and "OPENAI_API_KEY" in result.output


def test_cli_cache_is_the_one_of_the_root_given_with_dash_dash_root(tmp_path, monkeypatch):
    from synth_assets.cli.main import app as synth_app

    monkeypatch.setenv("SYNTH_ROOT", str(tmp_path / "other_root"))
    monkeypatch.delenv("SYNTH_LLM_CACHE", raising=False)
    ask = ["--root", str(tmp_path / "given_root"), "llm", "Say hello.", "--max-tokens", "4", "--temperature", "0", "--cache"]
    first, second = CliRunner().invoke(synth_app, ask), CliRunner().invoke(synth_app, ask)
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    assert "(cached)" not in first.output and "(cached)" in second.output
    assert (tmp_path / "given_root" / ".cache" / "llm_cache.sqlite").is_file()
    assert not (tmp_path / "other_root").exists()
