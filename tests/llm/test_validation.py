"""Bad input fails with a clear error before any request is sent."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from synth_assets.llm.client import LLMClient
from synth_assets.llm.errors import LLMConfigError
from synth_assets.llm.types import ChatRequest
from tests.llm.conftest import user


@pytest.mark.parametrize(
    "fields, message",
    [
        ({"temperature": 2.5}, "temperature"),
        ({"temperature": -0.1}, "temperature"),
        ({"top_p": 0.0}, "top_p"),
        ({"top_p": 1.5}, "top_p"),
        ({"max_tokens": 0}, "max_tokens"),
        ({"max_tokens": -5}, "max_tokens"),
        ({"n": 0}, "n"),
    ],
)
def test_bad_request_fields(fields, message):
    with pytest.raises(ValidationError, match=message):
        ChatRequest(**user("x"), **fields)


def test_empty_messages():
    with pytest.raises(ValidationError, match="messages must not be empty"):
        ChatRequest(messages=[])


def test_bad_dict_request_fails_before_sending(fake, make_llm):
    with pytest.raises(ValidationError, match="temperature"):
        make_llm().chat([user("ok"), {**user("bad"), "temperature": 3}])
    assert fake.counts()["received"] == {}


def test_unknown_backend(fake):
    with pytest.raises(LLMConfigError, match="unknown LLM backend 'gpt'"):
        LLMClient(backend="gpt").chat([user("x")])


def test_openai_without_key_names_the_variable(fake, monkeypatch, tmp_path):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    llm = LLMClient(backend="openai", base_url=fake.base_url, cache_path=str(tmp_path / "c.sqlite"))
    with pytest.raises(LLMConfigError, match="OPENAI_API_KEY"):
        llm.chat([user("x")])
    with pytest.raises(LLMConfigError, match="OPENAI_API_KEY"):
        llm.estimate([user("x")])
    assert fake.counts()["received"] == {}


def test_missing_gguf_names_the_path(tmp_path):
    missing = tmp_path / "nope" / "model.gguf"
    with pytest.raises(LLMConfigError, match=str(missing)):
        LLMClient(gguf_path=str(missing), cache_path=str(tmp_path / "c.sqlite")).chat([user("x")])


def test_vllm_needs_a_model(tmp_path):
    with pytest.raises(LLMConfigError, match="needs a model"):
        LLMClient(backend="vllm", cache_path=str(tmp_path / "c.sqlite")).chat([user("x")])
