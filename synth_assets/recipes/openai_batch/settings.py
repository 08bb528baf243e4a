"""Where batches go, as the recipe's stages and its poller get it (the `batch_api` resource): the OpenAI Batch API
(key from OPENAI_API_KEY or `config_json`) or the local executor."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from synth_assets.recipes.openai_batch.pipeline import BatchPipeline, make_pipeline


class OpenAIBatchSettings(BaseModel):
    root: str = Field(description="Store root; the ledger lives in its state dir")
    backend: str = Field("openai", description="openai (the Batch API at base_url) | local (run through the LLM layer)")
    base_url: str | None = Field(None, description="OpenAI-compatible base URL (default OPENAI_BASE_URL or api.openai.com)")
    config_json: str | None = Field(None, description="Path of an old config.json with api_key (used when OPENAI_API_KEY is unset)")
    max_retries: int = Field(2, ge=0, description="Times a failed request line is sent again before it is reported")
    max_resubmits: int = Field(10, ge=0, description="Resubmissions of one input file at most (expired, cancelled, failed lines)")
    prices_path: str | None = Field(None, description="Price table YAML (default resources/llm/prices.yaml)")

    def pipeline(self, logger: Any = None) -> BatchPipeline:
        return make_pipeline(self.root, backend=self.backend, base_url=self.base_url, config_json=self.config_json,
                             max_retries=self.max_retries, max_resubmits=self.max_resubmits, prices_path=self.prices_path,
                             logger=logger)
