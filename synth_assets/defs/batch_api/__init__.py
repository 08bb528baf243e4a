"""The Batch API domain: its resource, the submit and collect jobs, and the sensor that polls open batches.

The assets `batchapi/requests`, `batchapi/submitted` and `batchapi/compiled` come from the recipe
(`recipes/batch_api`, built in `defs.recipes`). `batchapi_sensor` polls the open batches of the
ledger and requests a `batchapi_collect_job` run for a set when one of its batches finished (to
download it) or when all of them did.
"""

from __future__ import annotations

from typing import Any

from dagster import (
    AssetKey,
    AssetSelection,
    ConfigurableResource,
    DefaultSensorStatus,
    Definitions,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    define_asset_job,
    sensor,
)
from pydantic import Field

from resources.store import StoreResource
from synth_assets.core.fingerprint import digest
from synth_assets.core.run_tags import OPENAI_BATCHES_TAG
from synth_assets.defs.partitions import add_partitions, partition_key
from synth_assets.recipes.batch_api.client import OPEN, TERMINAL
from synth_assets.recipes.batch_api.pipeline import RECIPE, UNSENT, BatchPipeline, make_pipeline

SUBMIT_JOB = "batchapi_submit_job"
COLLECT_JOB = "batchapi_collect_job"


class BatchAPIResource(ConfigurableResource):
    """Where batches go: the OpenAI Batch API (key from OPENAI_API_KEY or `config_json`) or the local executor."""

    root: str = Field(description="Store root; the ledger lives in its state dir")
    backend: str = Field("openai", description="openai (the Batch API at base_url) | local (run through the LLM layer)")
    base_url: str | None = Field(None, description="OpenAI-compatible base URL (default OPENAI_BASE_URL or api.openai.com)")
    config_json: str | None = Field(None, description="Path of an old config.json with api_key (used when OPENAI_API_KEY is unset)")
    max_retries: int = Field(2, ge=0, description="Times a failed request line is sent again before it is reported")
    max_resubmits: int = Field(10, ge=0, description="Resubmissions of one input file at most (expired, cancelled, failed lines)")
    prices_path: str | None = Field(None, description="Price table YAML (default synth_assets/llm/prices.yaml)")

    def pipeline(self, logger: Any = None) -> BatchPipeline:
        return make_pipeline(self.root, backend=self.backend, base_url=self.base_url, config_json=self.config_json,
                             max_retries=self.max_retries, max_resubmits=self.max_resubmits, prices_path=self.prices_path,
                             logger=logger)


def _keys(*stages: str) -> list[AssetKey]:
    return [AssetKey([RECIPE, stage]) for stage in stages]


batchapi_submit_job = define_asset_job(SUBMIT_JOB, selection=AssetSelection.assets(*_keys("requests", "submitted")),
                                       description="Build the requests of a set and submit its input files (returns at once).")
batchapi_collect_job = define_asset_job(COLLECT_JOB, selection=AssetSelection.assets(*_keys("compiled")),
                                        description="Download finished batches, resubmit what is missing, compile the training records.")


def collect_requests(pipe: BatchPipeline, store: StoreResource) -> tuple[list[RunRequest], list[dict[str, Any]]]:
    """Run requests (and their registrations) for sets with a finished batch to download, or with every batch finished."""
    requests, records = [], []
    for s in pipe.ledger.sets():
        if s["compiled_at"]:
            continue
        jobs = pipe.set_jobs(s)
        if not jobs or any(pipe.ledger.job(root) is None for root in s["roots"]):
            continue  # not (fully) submitted yet
        to_download = [j for j in jobs if j["status"] in TERMINAL and not j["ingested"]]
        still_open = [j for j in jobs if j["status"] in OPEN or j["status"] in UNSENT]
        if still_open and not to_download:
            continue
        record = store.store.registration(s["set_fp"])
        state = digest([[j["key"], j["status"], j["ingested"]] for j in jobs])[:16]
        records.append(record)
        requests.append(RunRequest(
            run_key=f"{s['dataset']}/{s['partition_fp']}:{state}", partition_key=partition_key(record),
            tags={OPENAI_BATCHES_TAG: ",".join(j["batch_id"] or "" for j in to_download)[:200]},
        ))
    return requests, records


@sensor(job_name=COLLECT_JOB, minimum_interval_seconds=60, default_status=DefaultSensorStatus.STOPPED,
        description="Polls the open batches of the Batch API ledger; requests the collect run of a set when a batch finishes.")
def batchapi_sensor(context: SensorEvaluationContext, batch_api: BatchAPIResource, store: StoreResource) -> SensorResult:
    pipe = batch_api.pipeline(logger=context.log)
    for job in pipe.refresh_open():
        context.log.info(f"batch {job['batch_id']} is now {job['status']} ({job['request_counts']})")
    run_requests, records = collect_requests(pipe, store)
    add_partitions(context.instance, records)
    found = f"watched the Batch API ledger: {len(pipe.ledger.sets())} sets, {len(run_requests)} ready to collect"
    context.log.info(found)
    return SensorResult(run_requests=run_requests, skip_reason=None if run_requests else found)


def definitions(root: str) -> Definitions:
    return Definitions(jobs=[batchapi_submit_job, batchapi_collect_job], sensors=[batchapi_sensor],
                       resources={"batch_api": BatchAPIResource(root=root)})
