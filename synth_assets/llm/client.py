"""`LLMClient`: batch chat completions over the local, openai and vllm backends (plain Python; the Dagster
resource `resources.llm.LLMResource` is this client as a configurable resource)."""

from __future__ import annotations

import asyncio
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

from pydantic import BaseModel, ConfigDict, Field

from synth_assets.core.models import BACKENDS, DEFAULT_BACKEND, DEFAULT_OPENAI_MODEL
from synth_assets.llm.backends import local_server
from synth_assets.llm.backends.openai_compat import OpenAICompatBackend
from synth_assets.llm.backends.vllm_engine import VLLMBackend
from synth_assets.llm.cache import cache_key, open_cache
from synth_assets.llm.errors import LLMConfigError
from synth_assets.llm.limits import RateLimits
from synth_assets.llm.pricing import FREE, PriceTable, load_prices
from synth_assets.llm.progress import make_progress
from synth_assets.llm.runner import BatchRunner, RunSettings, Sample
from synth_assets.llm.tokens import count_prompt_tokens, heuristic_tokens
from synth_assets.llm.types import ChatBatchResult, ChatRequest, CostEstimate

RequestLike = ChatRequest | dict[str, Any]


class LLMClient(BaseModel):
    """Batch chat completions with caching, limits, retries and cost accounting; sync `chat`, async `achat`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backend: str = Field(DEFAULT_BACKEND, description="local (embedded llama.cpp) | openai (any OpenAI-compatible URL) | vllm")
    model: str | None = Field(None, description="Default model; local derives its name from the GGUF file")
    gguf_path: str | None = Field(None, description="GGUF for the local backend (default: SmolLM2-135M-Instruct Q4_1)")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint for the openai backend")
    api_key: str | None = Field(None, description="API key; falls back to the OPENAI_API_KEY environment variable")
    max_in_flight: int = Field(8, ge=1, description="Requests in flight at once")
    rpm: int | None = Field(None, ge=1, description="Requests per minute limit")
    tpm: int | None = Field(None, ge=1, description="Tokens per minute limit (prompt estimate + max_tokens)")
    max_retries: int = Field(5, ge=0, description="Retries on 429, 5xx, timeouts and connection errors")
    retry_min_wait_s: float = Field(0.5, ge=0, description="Backoff scale (exponential with full jitter)")
    retry_max_wait_s: float = Field(60.0, ge=0, description="Backoff cap (also caps Retry-After)")
    timeout_s: float = Field(120.0, gt=0, description="Per-attempt timeout")
    cache_path: str | None = Field(None, description="SQLite cache (default $SYNTH_ROOT/.cache/llm_cache.sqlite)")
    cache_root: str | None = Field(None, description="Store root whose .synth/llm_cache/ holds the responses, shared by "
                                                     "every worker (replaces the SQLite file; see synth_assets/llm/cache.py)")
    use_cache: bool = Field(True, description="Answer identical requests from the durable cache")
    n_parallel: int = Field(8, ge=1, description="Local server slots (concurrent sequences)")
    n_ctx: int = Field(8192, ge=256, description="Local server total context, shared by the slots")
    n_threads: int | None = Field(None, ge=1, description="Local server threads (default: os.cpu_count())")
    prices_path: str | None = Field(None, description="Price table YAML (default: synth_assets/llm/prices.yaml)")

    # ---- configuration ----

    @property
    def backend_kind(self) -> str:
        kind = self.backend.strip().lower()
        if kind not in BACKENDS:
            raise LLMConfigError(f"unknown LLM backend {self.backend!r}; choose one of {', '.join(BACKENDS)}")
        return kind

    def resolved_model(self, model: str | None = None) -> str:
        """Stable model name (used in cache keys and lineage); never a filesystem path."""
        kind = self.backend_kind
        if kind == "local":
            return local_server.model_name(self._gguf())
        name = model or self.model
        if name:
            return name
        if kind == "vllm":
            raise LLMConfigError("backend 'vllm' needs a model (client `model` or ChatRequest.model)")
        return DEFAULT_OPENAI_MODEL

    def _gguf(self) -> str:
        """`gguf_path`, else the GGUF the client's `model` names (path or name, see `resolve_gguf`), else the default."""
        return str(self.gguf_path) if self.gguf_path else str(local_server.resolve_gguf(self.model))

    def _api_key(self) -> str:
        key = self.api_key or os.environ.get("OPENAI_API_KEY")
        if not key:
            raise LLMConfigError("backend 'openai' needs an API key: set OPENAI_API_KEY (or the client's api_key)")
        return key

    def _validate(self) -> str:
        """Raise `LLMConfigError` for any setting that would make every request fail."""
        kind = self.backend_kind
        if kind == "openai":
            self._api_key()
        elif kind == "local" and not os.path.isfile(self._gguf()):
            raise LLMConfigError(f"GGUF model file not found: {self._gguf()}")
        return kind

    def _server_spec(self) -> local_server.ServerSpec:
        return local_server.ServerSpec(
            gguf=os.path.abspath(self._gguf()),
            n_parallel=self.n_parallel,
            n_ctx=self.n_ctx,
            n_threads=self.n_threads or os.cpu_count() or 1,
        )

    def _prices(self) -> PriceTable:
        return load_prices(self.prices_path) if self.backend_kind == "openai" else FREE

    def _open_backend(self) -> Any:
        kind = self.backend_kind
        if kind == "vllm":
            return VLLMBackend()
        if kind == "local":
            base_url = local_server.ensure_server(self._server_spec())
            return OpenAICompatBackend(f"{base_url}/v1", "local", self.timeout_s)
        return OpenAICompatBackend(self.base_url, self._api_key(), self.timeout_s)

    # ---- requests ----

    def _samples(self, requests: Sequence[ChatRequest], kind: str, cached: bool) -> list[Sample]:
        samples = []
        for ri, req in enumerate(requests):
            model = self.resolved_model(req.model)
            budget = (sum(heuristic_tokens(m["content"]) for m in req.messages) + req.max_tokens) if self.tpm else 0
            for si in range(req.n):
                params = req.sample_params(si)
                key = cache_key(kind, model, params, req.messages, si) if cached else None
                samples.append(Sample(ri, si, model, req.messages, params, key, budget))
        return samples

    def chat(self, requests: Sequence[RequestLike], *, use_cache: bool | None = None, logger: Any = None,
             progress: bool = False, description: str = "LLM") -> ChatBatchResult:
        """Synchronous `achat` (runs its own event loop; in a worker thread if one is already running)."""
        def run() -> ChatBatchResult:
            return asyncio.run(self.achat(requests, use_cache=use_cache, logger=logger, progress=progress,
                                          description=description))

        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return run()
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(run).result()

    async def achat(self, requests: Sequence[RequestLike], *, use_cache: bool | None = None, logger: Any = None,
                    progress: bool = False, description: str = "LLM") -> ChatBatchResult:
        """Send every sample of every request; failures are recorded per response, never raised."""
        started = time.monotonic()
        reqs = [r if isinstance(r, ChatRequest) else ChatRequest.model_validate(r) for r in requests]
        kind = self._validate()
        cached = self.use_cache if use_cache is None else use_cache
        samples = self._samples(reqs, kind, cached)
        cache = open_cache(self.cache_path, self.cache_root) if cached else None
        bar = make_progress(len(samples), description, logger=logger, progress=progress)
        settings = RunSettings(kind, self.max_in_flight, self.max_retries, self.retry_min_wait_s, self.retry_max_wait_s)
        runner = BatchRunner(lambda: asyncio.to_thread(self._open_backend), settings, RateLimits(self.rpm, self.tpm),
                             self._prices(), cache, bar)
        try:  # the backend (for `local`: the llama.cpp server) starts only if some answer is not cached
            responses = await runner.run(samples) if samples else []
        finally:
            bar.close()
            if runner.backend is not None:
                await runner.backend.aclose()
            if cache is not None:
                cache.close()
        usage = runner.usage
        usage.requests = len(reqs)
        usage.wall_s = time.monotonic() - started
        return ChatBatchResult(responses=responses, usage=usage)

    def estimate(self, requests: Sequence[RequestLike]) -> CostEstimate:
        """Tokens and cost before sending: tiktoken (openai), the server's tokenizer (local), else chars/4."""
        reqs = [r if isinstance(r, ChatRequest) else ChatRequest.model_validate(r) for r in requests]
        kind = self._validate()
        approximate, prompt_tokens, completion_max, cost = False, 0, 0, 0.0
        base_url = local_server.ensure_server(self._server_spec()) if kind == "local" and reqs else None
        prices = self._prices()
        for req in reqs:
            model = self.resolved_model(req.model)
            if kind == "openai":
                tokens, approx = count_prompt_tokens(model, req.messages)
            elif kind == "local":
                tokens, approx = local_server.tokenize(base_url, req.messages), False
            else:
                tokens, approx = sum(heuristic_tokens(m["content"]) for m in req.messages), True
            approximate |= approx
            prompt_tokens += tokens * req.n
            completion_max += req.max_tokens * req.n
            cost += prices.cost(model, tokens * req.n, req.max_tokens * req.n)
        return CostEstimate(prompt_tokens=prompt_tokens, completion_tokens_max=completion_max, cost_usd=cost,
                            approximate=approximate)
