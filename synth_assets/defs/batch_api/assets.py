"""Dagster objects of the Batch API pipeline.

Assets (partitioned by (dataset, fingerprint); dynamic partition sets `batchapi_dataset` /
`batchapi_fingerprint`; io_manager_key "shared_store"):

* `batchapi/requests`  (stage "requests")  -- the set's requests joined to their slices, with the cost estimate;
* `batchapi/submitted` (stage "submitted") -- submits every input file (idempotent; returns at once);
* `batchapi/compiled`  (stage "compiled")  -- downloads finished batches, resubmits only what is missing
  or failed (within the retry limit) and, once every request has an answer or is out of retries,
  materializes the training records. Until then it materializes nothing.

`batchapi_sensor` polls the open batches of the ledger and requests a `batchapi_collect_job` run for a
partition when one of its batches finished (to download it) or when all of them did.
"""


import datetime as dt
from typing import Any, Iterator

from dagster import (
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    ConfigurableResource,
    DefaultSensorStatus,
    DynamicPartitionsDefinition,
    MetadataValue,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    Output,
    RunRequest,
    SensorEvaluationContext,
    SensorResult,
    asset,
    define_asset_job,
    sensor,
)
from pydantic import Field

from io_managers.shared_store import StageOutput, partition_dims
from synth_assets.assets.factory import ONE_RUN_PER_PARTITION
from synth_assets.recipes.batch_api.build import read_meta, validate_input
from synth_assets.recipes.batch_api.client import OPEN, TERMINAL
from synth_assets.recipes.batch_api.errors import BatchAPIError
from synth_assets.recipes.batch_api.pipeline import UNSENT, BatchPipeline, make_pipeline
from synth_assets.core.fingerprint import digest
from synth_assets.core.root import default_root

GROUP = "batchapi"
DATASET_PARTITIONS = "batchapi_dataset"
FINGERPRINT_PARTITIONS = "batchapi_fingerprint"
SUBMIT_JOB = "batchapi_submit_job"
COLLECT_JOB = "batchapi_collect_job"

batchapi_partitions = MultiPartitionsDefinition({
    "dataset": DynamicPartitionsDefinition(name=DATASET_PARTITIONS),
    "fingerprint": DynamicPartitionsDefinition(name=FINGERPRINT_PARTITIONS),
})


class BatchAPIResource(ConfigurableResource):
    """Where batches go: the OpenAI Batch API (key from OPENAI_API_KEY or `config_json`) or the local executor."""

    root: str | None = Field(None, description="Store root (default $SYNTH_ROOT or ./data); the ledger lives in its state dir")
    backend: str = Field("openai", description="openai (the Batch API at base_url) | local (run through the LLM layer)")
    base_url: str | None = Field(None, description="OpenAI-compatible base URL (default OPENAI_BASE_URL or api.openai.com)")
    config_json: str | None = Field(None, description="Path of an old config.json with api_key (used when OPENAI_API_KEY is unset)")
    max_retries: int = Field(2, ge=0, description="Times a failed request line is sent again before it is reported")
    max_resubmits: int = Field(10, ge=0, description="Resubmissions of one input file at most (expired, cancelled, failed lines)")
    prices_path: str | None = Field(None, description="Price table YAML (default resources/llm/prices.yaml)")

    def pipeline(self, logger: Any = None) -> BatchPipeline:
        return make_pipeline(self.root or default_root(), backend=self.backend, base_url=self.base_url, config_json=self.config_json,
                             max_retries=self.max_retries, max_resubmits=self.max_resubmits, prices_path=self.prices_path,
                             logger=logger)


def _set(context: AssetExecutionContext, pipe: BatchPipeline) -> tuple[dict[str, Any], str]:
    dataset, fp = partition_dims(context.partition_key)
    s = pipe.ledger.set_by_partition(dataset, fp)
    if s is None:
        raise BatchAPIError(f"no batch set {dataset}|{fp} in {pipe.ledger.path}: register it with `synth batches-api submit ... --dataset {dataset}`")
    return s, dataset


def _store(pipe: BatchPipeline):
    from synth_assets.core.store import Store

    return Store(pipe.root)


def _reuse(out: StageOutput, store: Any, dataset: str) -> None:
    """Point the output at the stage already in the store (works with the `key` and the older `path` field)."""
    if hasattr(out, "key") and hasattr(store, "stage_key"):
        out.key = store.stage_key(dataset, out.stage, out.stage_fingerprint) + "/data.jsonl"
    else:
        out.path = store.stage_dir(dataset, out.stage, out.stage_fingerprint) / "data.jsonl"


KEYS = {stage: AssetKey([GROUP, stage]) for stage in ("requests", "submitted", "compiled")}


@asset(key=KEYS["requests"], partitions_def=batchapi_partitions, backfill_policy=ONE_RUN_PER_PARTITION, io_manager_key="shared_store", metadata={"stage": "requests"},
       group_name=GROUP, description="Batch requests of a set joined to their slices, with the cost estimate")
def batchapi_requests(context: AssetExecutionContext, batch_api: BatchAPIResource) -> StageOutput:
    started = dt.datetime.now(dt.timezone.utc)
    pipe = batch_api.pipeline(logger=context.log)
    s, dataset = _set(context, pipe)
    record = pipe.record(s)
    meta = read_meta(s["spec"].get("meta"))
    rows, estimate = [], {"requests": 0, "prompt_tokens": 0, "completion_tokens_max": 0, "cost_usd": 0.0}
    from synth_assets.recipes.batch_api import cost

    for f in s["spec"]["inputs"]:
        checked = validate_input(f["stored"])
        est = cost.estimate(checked.requests, pipe.prices, free=pipe.backend == "local")
        for k in estimate:
            estimate[k] += est[k]
        for r in checked.requests:
            info = meta.get(r["custom_id"], {})
            rows.append({"custom_id": r["custom_id"], "scenario": info.get("scenario"), "kind": info.get("kind"),
                         "name": info.get("name"), "path": info.get("path"), "code": info.get("code"), "request": r})
    out = StageOutput(stage="requests", dataset=dataset, record=record, rows=rows, reused=False, started_at=started)
    out.metadata = {"estimate_cost_usd": round(estimate["cost_usd"], 6), "estimate_prompt_tokens": estimate["prompt_tokens"],
                    "estimate_completion_tokens_max": estimate["completion_tokens_max"], "requests": len(rows),
                    "backend": pipe.backend, "model": s["spec"]["model"]}
    return out


@asset(key=KEYS["submitted"], deps=[KEYS["requests"]], partitions_def=batchapi_partitions, backfill_policy=ONE_RUN_PER_PARTITION, io_manager_key="shared_store",
       metadata={"stage": "submitted"}, group_name=GROUP,
       description="Submits the set's input files to the Batch API (idempotent, returns without waiting)")
def batchapi_submitted(context: AssetExecutionContext, batch_api: BatchAPIResource) -> StageOutput:
    started = dt.datetime.now(dt.timezone.utc)
    pipe = batch_api.pipeline(logger=context.log)
    s, dataset = _set(context, pipe)
    jobs = pipe.submit_set(s)
    rows = [{"job_key": j["key"], "batch_id": j["batch_id"], "file_id": j["file_id"], "status": j["status"],
             "requests": j["n_requests"], "model": j["model"], "estimate": j["estimate"]} for j in jobs]
    out = StageOutput(stage="submitted", dataset=dataset, record=pipe.record(s), rows=rows, reused=False, started_at=started,
                      upstream=[{"asset": KEYS["requests"].to_user_string(), "partition_key": str(context.partition_key), "path": ""}])
    out.metadata = {"batch_ids": ", ".join(j["batch_id"] or "" for j in jobs),
                    "estimate_cost_usd": round(sum((j["estimate"] or {}).get("cost_usd", 0) for j in jobs), 6),
                    "requests": sum(j["n_requests"] for j in jobs)}
    return out


@asset(key=KEYS["compiled"], deps=[KEYS["submitted"]], partitions_def=batchapi_partitions, backfill_policy=ONE_RUN_PER_PARTITION, io_manager_key="shared_store",
       metadata={"stage": "compiled"}, group_name=GROUP, output_required=False,
       description="Training records: batch results joined to requests and slices (materialized once complete)")
def batchapi_compiled(context: AssetExecutionContext, batch_api: BatchAPIResource) -> Iterator[Output]:
    started = dt.datetime.now(dt.timezone.utc)
    pipe = batch_api.pipeline(logger=context.log)
    s, dataset = _set(context, pipe)
    record = pipe.record(s)
    store = _store(pipe)
    out = StageOutput(stage="compiled", dataset=dataset, record=record, rows=None, reused=False, started_at=started,
                      upstream=[{"asset": KEYS["submitted"].to_user_string(), "partition_key": str(context.partition_key), "path": ""}])
    if store.stage_complete(dataset, "compiled", record["stages"]["compiled"]):
        context.log.info(f"compiled set {s['partition_fp']} already in the store: reused, nothing sent")
        out.reused = True
        _reuse(out, store, dataset)
        yield Output(out)
        return
    states = pipe.advance_set(s, run_id=context.run.run_id, partition_key=str(context.partition_key))
    waiting = [st for st in states if not st.done]
    if waiting:
        for st in waiting:
            context.log.info(f"input {st.root_key[:12]}: {st.status}, {st.ok}/{st.requests} completed, "
                             f"{len(st.todo)} outstanding, open batches {', '.join(st.open_jobs) or '-'}")
        return  # nothing materialized: the sensor asks again when the open batches finish
    rows, failures = pipe.compile_set(s)
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0}
    for j in pipe.set_jobs(s):
        for k in usage:
            usage[k] += (j["usage"] or {}).get(k, 0)
    out.rows = rows
    out.metadata = {"requests": len(rows) + len(failures), "completed": len(rows), "failed": len(failures),
                    "actual_cost_usd": round(usage["cost_usd"], 6), "prompt_tokens": usage["prompt_tokens"],
                    "completion_tokens": usage["completion_tokens"],
                    "batch_ids": ", ".join(j["batch_id"] or "" for j in pipe.set_jobs(s))}
    if failures:
        out.metadata["failures"] = MetadataValue.json(failures[:50])
        context.log.warning(f"{len(failures)} requests failed after {pipe.max_retries} retries, e.g. {failures[0]}")
    pipe.ledger.mark_compiled(s["set_fp"])
    yield Output(out)


batchapi_assets = [batchapi_requests, batchapi_submitted, batchapi_compiled]
batchapi_submit_job = define_asset_job(SUBMIT_JOB, selection=AssetSelection.assets(KEYS["requests"], KEYS["submitted"]))
batchapi_collect_job = define_asset_job(COLLECT_JOB, selection=AssetSelection.assets(KEYS["compiled"]))
batchapi_jobs = [batchapi_submit_job, batchapi_collect_job]


def collect_requests(pipe: BatchPipeline) -> tuple[list[RunRequest], dict[str, set[str]]]:
    """Run requests for sets with a finished batch to download, or with every batch finished."""
    requests, partitions = [], {DATASET_PARTITIONS: set(), FINGERPRINT_PARTITIONS: set()}
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
        state = digest([[j["key"], j["status"], j["ingested"]] for j in jobs])[:16]
        partitions[DATASET_PARTITIONS].add(s["dataset"])
        partitions[FINGERPRINT_PARTITIONS].add(s["partition_fp"])
        requests.append(RunRequest(
            run_key=f"{s['dataset']}|{s['partition_fp']}:{state}",
            partition_key=MultiPartitionKey({"dataset": s["dataset"], "fingerprint": s["partition_fp"]}),
            tags={"synth/batchapi_batches": ",".join(j["batch_id"] or "" for j in to_download)[:200]},
        ))
    return requests, partitions


@sensor(job_name=COLLECT_JOB, minimum_interval_seconds=60, default_status=DefaultSensorStatus.STOPPED,
        description="Polls the open batches of the ledger; requests the collect run of a partition when a batch finishes")
def batchapi_sensor(context: SensorEvaluationContext, batch_api: BatchAPIResource) -> SensorResult:
    pipe = batch_api.pipeline(logger=context.log)
    for job in pipe.refresh_open():
        context.log.info(f"batch {job['batch_id']} is now {job['status']} ({job['request_counts']})")
    run_requests, partitions = collect_requests(pipe)
    for name, keys in partitions.items():
        new = [k for k in sorted(keys) if not context.instance.has_dynamic_partition(name, k)]
        if new:
            context.instance.add_dynamic_partitions(name, new)
    return SensorResult(run_requests=run_requests)


def add_set_partitions(instance: Any, s: dict[str, Any]) -> MultiPartitionKey:
    """Make a set a partition of the batchapi assets; return its key."""
    for name, key in ((DATASET_PARTITIONS, s["dataset"]), (FINGERPRINT_PARTITIONS, s["partition_fp"])):
        if not instance.has_dynamic_partition(name, key):
            instance.add_dynamic_partitions(name, [key])
    return MultiPartitionKey({"dataset": s["dataset"], "fingerprint": s["partition_fp"]})
