"""LLM calls of a stage: sent through the right backend of the `llm` resource, usage and failures counted."""

from __future__ import annotations

from typing import Any

from synth_assets.core.config import Sampling
from synth_assets.core.run_tags import NO_CACHE_TAG, PROGRESS_TAG
from synth_assets.llm.backends.local_server import model_name, resolve_gguf
from synth_assets.llm.client import LLMClient
from synth_assets.llm.types import ChatRequest, ChatResponse, LLMUsage
from synth_assets.recipes.base import StageRun


class LLMMeter:
    """`run.chat(sampling, requests, **resource_overrides)` for one stage run."""

    def __init__(self, llm: LLMClient, run: StageRun, label: str):
        self.llm, self.run, self.label = llm, run, label
        self.usage: LLMUsage | None = None
        self.model: tuple[str, str] | None = None
        self.first_error: str | None = None

    def __call__(self, sampling: Sampling, requests: list[ChatRequest], label: str | None = None, **overrides: Any) -> list[ChatResponse]:
        wanted = sampling.model
        if sampling.backend == "local" and "gguf_path" not in overrides:
            current = self.llm.resolved_model() if self.llm.backend_kind == "local" else None
            if sampling.model != current:  # another local GGUF (a judge's own model), by path or name
                gguf = resolve_gguf(sampling.model)
                overrides, wanted = {"gguf_path": str(gguf), **overrides}, model_name(gguf)
        update = {"backend": sampling.backend, **overrides} if sampling.backend != self.llm.backend or overrides else None
        llm = self.llm.model_copy(update=update) if update else self.llm
        served = llm.resolved_model(sampling.model)
        if served != wanted:
            raise RuntimeError(f"experiment asks for model {sampling.model!r} on backend {sampling.backend!r}, "
                               f"but the LLM resource serves {served!r}")
        if not requests:
            return []
        description = f"{self.label} {label}" if label else self.label
        log = self.run.log
        log.info(f"{description}: {len(requests)} requests to {sampling.backend}/{served}")
        bar = self.run.tags.get(PROGRESS_TAG) == "bar"
        result = llm.chat(requests, logger=None if bar else log, progress=bar, description=description,
                          use_cache=self.run.tags.get(NO_CACHE_TAG) != "true")
        usage = result.usage.model_copy(update={"requests": result.usage.samples})  # each sample is one LLM call
        self.usage = usage if self.usage is None else self.usage + usage
        self.model = (sampling.backend, served)
        failures = [r.error for r in result.responses if not r.ok]
        self.run.total_requests += len(result.responses)
        self.run.failed_requests += len(failures)
        if failures:
            self.first_error = self.first_error or failures[0]
            log.warning(f"{description}: {len(failures)} failed requests, e.g. {failures[0]}")
        return result.responses
