"""`top_logprobs` through the LLM layer, and local models chosen by GGUF path or name."""

from __future__ import annotations

import math
import os

import pytest

from synth_assets.llm.backends import local_server
from synth_assets.llm.backends.openai_compat import request_kwargs
from synth_assets.llm.backends.vllm_engine import sampling_kwargs
from synth_assets.llm.cache import cache_key
from synth_assets.llm.client import LLMClient
from synth_assets.llm.errors import LLMConfigError
from synth_assets.llm.types import ChatRequest

USER = [{"role": "user", "content": "Is the sky blue? Answer yes or no."}]


def test_top_logprobs_reach_openai_and_vllm_only_with_logprobs():
    asked = ChatRequest(messages=USER, logprobs=True, top_logprobs=5).sample_params(0)
    assert request_kwargs("m", USER, asked)["top_logprobs"] == 5 and request_kwargs("m", USER, asked)["logprobs"] is True
    assert sampling_kwargs(asked)["logprobs"] == 5
    unasked = ChatRequest(messages=USER, top_logprobs=5).sample_params(0)
    assert "top_logprobs" not in request_kwargs("m", USER, unasked) and "logprobs" not in sampling_kwargs(unasked)


def test_requests_without_top_logprobs_keep_their_cache_keys():
    params = ChatRequest(messages=USER, logprobs=True).sample_params(0)
    assert "top_logprobs" not in params  # the key of every request cached before top_logprobs existed is unchanged
    with_top = ChatRequest(messages=USER, logprobs=True, top_logprobs=5).sample_params(0)
    assert cache_key("local", "m", params, USER, 0) != cache_key("local", "m", with_top, USER, 0)


def test_an_unknown_local_model_name_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.setenv(local_server.GGUF_PATH_ENV, str(tmp_path))
    with pytest.raises(LLMConfigError, match=rf"no GGUF of that name in {tmp_path}"):
        local_server.resolve_gguf("qwen2.5-1.5b-instruct")
    with pytest.raises(LLMConfigError, match="GGUF model file not found"):
        local_server.resolve_gguf(str(tmp_path / "missing.gguf"))


@pytest.mark.slow
def test_local_server_returns_top_logprobs_and_serves_a_gguf_named_by_path_or_name(tmp_path, monkeypatch):
    other = tmp_path / "models" / "Judge-Copy.gguf"
    other.parent.mkdir()
    os.symlink(local_server.default_gguf_path(), other)
    request = ChatRequest(messages=USER, max_tokens=1, temperature=0, logprobs=True, top_logprobs=5)
    for model in (str(other), "judge-copy"):
        monkeypatch.setenv(local_server.GGUF_PATH_ENV, str(other.parent))
        llm = LLMClient(model=model, cache_path=str(tmp_path / "cache.sqlite"))
        [response] = llm.chat([request], use_cache=False).responses
        assert response.ok and response.model == "judge-copy"  # the named GGUF, not the default
        top = response.logprobs[0]["top_logprobs"]
        assert len(top) == 5 and all(math.exp(t["logprob"]) <= 1.0 for t in top)
        assert top[0]["logprob"] >= top[-1]["logprob"]
