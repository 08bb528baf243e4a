"""Pure functions: cache keys, pricing, estimates, vLLM sampling mapping, model names, Dagster config."""

import dagster as dg

from resources.llm import LLMResource
from synth_assets.llm.backends.local_server import default_gguf_path, model_name
from synth_assets.llm.backends.vllm_engine import sampling_kwargs, structured_output
from synth_assets.llm.cache import ResponseCache, cache_key
from synth_assets.llm.client import LLMClient
from synth_assets.llm.pricing import load_prices
from synth_assets.llm.types import ChatRequest
from tests.llm.conftest import user


def test_cache_key_covers_sampling_but_not_endpoint(tmp_path):
    req = ChatRequest(**user("hi"), seed=3)
    base = cache_key("openai", "m", req.sample_params(0), req.messages, 0)
    assert base == cache_key("openai", "m", ChatRequest(**user("hi"), seed=3).sample_params(0), req.messages, 0)
    assert base != cache_key("openai", "m", req.sample_params(1), req.messages, 1)
    assert base != cache_key("local", "m", req.sample_params(0), req.messages, 0)
    assert base != cache_key("openai", "m2", req.sample_params(0), req.messages, 0)
    for change in ({"temperature": 0.5}, {"stop": ["x"]}, {"response_format": {"type": "json_object"}}, {"logprobs": True}):
        other = req.model_copy(update=change)
        assert cache_key("openai", "m", other.sample_params(0), req.messages, 0) != base


def test_same_request_via_different_base_url_hits_cache(fake, make_llm):
    make_llm().chat([user("shared")])
    other = make_llm(base_url=fake.base_url.replace("127.0.0.1", "localhost")).chat([user("shared")])
    assert other.responses[0].cache_hit and fake.counts()["received"] == {"shared": 1}


def test_cache_roundtrip_across_connections(tmp_path):
    path = tmp_path / "c.sqlite"
    ResponseCache(path).put("k", {"text": "t"})
    assert ResponseCache(path).get_many(["k", "missing"]) == {"k": {"text": "t"}}


def test_prices_and_override(tmp_path):
    prices = load_prices()
    assert prices.price("gpt-4o") == (2.50, 10.00)
    assert prices.price("gpt-4o-mini-2024-07-18") == (0.15, 0.60)
    assert prices.price("gpt-4.1-nano") == (0.10, 0.40)
    assert prices.price("smollm2-135m-instruct-q4_1") == (0.0, 0.0)
    assert prices.cost("gpt-4o", 1_000_000, 1_000_000, batch=True) == 6.25
    custom = tmp_path / "p.yaml"
    custom.write_text("models:\n  my-model: {input: 1.0, output: 2.0}\n")
    assert load_prices(str(custom)).cost("my-model", 1_000_000, 0) == 1.0


def test_estimate_openai_offline_falls_back_to_heuristic(monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr("synth_assets.llm.tokens._encoding", lambda model: None)
    llm = LLMClient(backend="openai", model="gpt-4o", cache_path=str(tmp_path / "c.sqlite"))
    est = llm.estimate([ChatRequest(**user("a" * 400), max_tokens=100, n=2)])
    assert est.approximate
    assert est.completion_tokens_max == 200
    assert est.prompt_tokens == 2 * (100 + 4 + 3)
    assert abs(est.cost_usd - (est.prompt_tokens * 2.5 + 200 * 10.0) / 1e6) < 1e-12


def test_vllm_sampling_mapping():
    req = ChatRequest(**user("x"), temperature=0.3, top_p=0.9, max_tokens=7, frequency_penalty=0.1,
                      presence_penalty=0.2, seed=5, stop=["\n"], logprobs=True, n=3)
    assert sampling_kwargs(req.sample_params(2)) == {
        "n": 1, "temperature": 0.3, "top_p": 0.9, "max_tokens": 7, "frequency_penalty": 0.1,
        "presence_penalty": 0.2, "seed": 7, "stop": ["\n"], "logprobs": 1,
    }
    assert "seed" not in sampling_kwargs(ChatRequest(**user("x")).sample_params(0))
    assert structured_output({"type": "json_object"}) == {"json_object": True}
    assert structured_output({"type": "json_schema", "json_schema": {"schema": {"type": "object"}}}) == {
        "json": {"type": "object"}
    }
    assert structured_output(None) is None


def test_model_names():
    assert model_name("/x/SmolLM2-135M-Instruct.Q4_1.gguf") == "smollm2-135m-instruct-q4_1"
    assert default_gguf_path().is_file()
    llm = LLMClient()
    assert llm.resolved_model() == "smollm2-135m-instruct-q4_1" and llm.backend_kind == "local"
    assert LLMClient(backend="openai").resolved_model() == "gpt-4o-mini"
    assert LLMClient(backend="openai", model="gpt-4.1").resolved_model("gpt-4o") == "gpt-4o"


def test_usable_as_dagster_resource(fake, tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")

    @dg.asset
    def answers(context: dg.AssetExecutionContext, llm: LLMResource) -> dg.MaterializeResult:
        result = llm.chat([user("from dagster")], logger=context.log)
        assert result.responses[0].text == "echo: from dagster"
        return dg.MaterializeResult(metadata=result.usage.to_dict())

    llm = LLMResource(backend="openai", base_url=fake.base_url, api_key=dg.EnvVar("OPENAI_API_KEY"),
                      cache_path=str(tmp_path / "c.sqlite"))
    assert dg.materialize([answers], resources={"llm": llm}).success


def test_batched_backend_path_groups_by_model_and_caches(tmp_path):
    import asyncio

    from synth_assets.llm.backends.base import Completion
    from synth_assets.llm.limits import RateLimits
    from synth_assets.llm.pricing import FREE
    from synth_assets.llm.progress import Progress
    from synth_assets.llm.runner import BatchRunner, RunSettings, Sample

    calls = []

    class FakeEngine:
        async def complete_batch(self, model, items):
            calls.append((model, len(items)))
            return [Completion(f"{model}:{m[-1]['content']}:{p['seed']}", "stop", 1, 2) for m, p in items]

    reqs = [ChatRequest(**user("a"), model="m1", n=2, seed=0), ChatRequest(**user("b"), model="m2")]
    samples = [
        Sample(ri, si, r.model, r.messages, r.sample_params(si), cache_key("vllm", r.model, r.sample_params(si), r.messages, si))
        for ri, r in enumerate(reqs) for si in range(r.n)
    ]
    cache = ResponseCache(tmp_path / "c.sqlite")
    opened = []

    async def open_engine():
        opened.append(1)
        return FakeEngine()

    runner = BatchRunner(open_engine, RunSettings("vllm", 8, 0, 0.0, 0.0), RateLimits(), FREE, cache, Progress(3, "t"))
    responses = asyncio.run(runner.run(samples))
    assert [r.text for r in responses] == ["m1:a:0", "m1:a:1", "m2:b:None"]
    assert calls == [("m1", 2), ("m2", 1)] and runner.usage.completion_tokens == 6
    again = BatchRunner(open_engine, RunSettings("vllm", 8, 0, 0.0, 0.0), RateLimits(), FREE, cache, Progress(3, "t"))
    assert all(r.cache_hit for r in asyncio.run(again.run(samples))) and len(calls) == 2
    assert len(opened) == 1  # a replay answered entirely from the cache never opens (starts) the backend


def test_usage_of_two_calls_adds_up():
    from synth_assets.llm.types import LLMUsage

    total = LLMUsage(requests=2, cache_hits=1, prompt_tokens=10, cost_usd=0.5) + LLMUsage(requests=3, failures=1, prompt_tokens=5, cost_usd=0.25)
    assert (total.requests, total.cache_hits, total.failures, total.prompt_tokens, total.cost_usd) == (5, 1, 1, 15, 0.75)
