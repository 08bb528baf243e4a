"""The Batch API pipeline as a recipe: a set of batch input files, partitioned by (dataset, set).

Stages: `requests` (the set's requests joined to their slices, with the cost estimate) ->
`submitted` (every input file submitted; idempotent, returns at once) -> `compiled` (finished batches
downloaded, missing or failed requests resubmitted within the retry limit; the training records once
every request has an answer or is out of retries — until then it stores nothing).
"""

from __future__ import annotations

from typing import Any

from synth_assets.core.store import Store
from synth_assets.recipes.base import Recipe, Rows, Stage, StageRun
from synth_assets.recipes.openai_batch import cost
from synth_assets.recipes.openai_batch.errors import BatchAPIError
from synth_assets.recipes.openai_batch.pipeline import RECIPE as NAME
from synth_assets.recipes.openai_batch.polling import COLLECT_JOB, POLLER, RESOURCE, SUBMIT_JOB
from synth_assets.recipes.openai_batch.settings import OpenAIBatchSettings


def load(record: dict[str, Any], store: Store) -> dict[str, Any]:
    """The registration's set, as the ledger knows it (the ledger is looked up when a stage runs)."""
    return {"dataset": record["dataset"], "set_fp": record["fingerprint"]}


def _pipeline_and_set(run: StageRun):
    pipe = run.resources[RESOURCE].pipeline(logger=run.log)
    s = pipe.ledger.set_by_partition(run.job["dataset"], run.job["set_fp"])
    if s is None:
        raise BatchAPIError(f"no batch set {run.job['dataset']}/{run.job['set_fp'][:12]} in {pipe.ledger.path}: register it with "
                            f"`synth openai-batch submit ... --dataset {run.job['dataset']}`")
    return pipe, s


def _requests(run: StageRun) -> Rows:
    pipe, s = _pipeline_and_set(run)
    meta = pipe.kept.read_meta(s["spec"].get("meta"))  # kept in the store too: readable on any machine
    rows, estimate = [], {"requests": 0, "prompt_tokens": 0, "completion_tokens_max": 0, "cost_usd": 0.0}
    for f in s["spec"]["inputs"]:
        checked = pipe.kept.read_input(f["stored"])
        est = cost.estimate(checked.requests, pipe.prices, free=pipe.backend == "local")
        for k in estimate:
            estimate[k] += est[k]
        for r in checked.requests:
            info = meta.get(r["custom_id"], {})
            rows.append({"custom_id": r["custom_id"], "scenario": info.get("scenario"), "kind": info.get("kind"),
                         "name": info.get("name"), "path": info.get("path"), "code": info.get("code"), "request": r})
    run.metadata.update({"estimate_cost_usd": round(estimate["cost_usd"], 6), "estimate_prompt_tokens": estimate["prompt_tokens"],
                         "estimate_completion_tokens_max": estimate["completion_tokens_max"], "requests": len(rows),
                         "backend": pipe.backend, "model": s["spec"]["model"]})
    return rows


def _submit(run: StageRun) -> Rows:
    pipe, s = _pipeline_and_set(run)
    jobs = pipe.submit_set(s)
    run.metadata.update({"batch_ids": ", ".join(j["batch_id"] or "" for j in jobs),
                         "estimate_cost_usd": round(sum((j["estimate"] or {}).get("cost_usd", 0) for j in jobs), 6),
                         "requests": sum(j["n_requests"] for j in jobs)})
    return [{"job_key": j["key"], "batch_id": j["batch_id"], "file_id": j["file_id"], "status": j["status"],
             "requests": j["n_requests"], "model": j["model"], "estimate": j["estimate"]} for j in jobs]


def _compile(run: StageRun) -> Rows | None:
    pipe, s = _pipeline_and_set(run)
    states = pipe.advance_set(s, run_id=run.run_id, partition_key=run.partition_key)
    waiting = [st for st in states if not st.done]
    if waiting:
        for st in waiting:
            run.log.info(f"input {st.root_key[:12]}: {st.status}, {st.ok}/{st.requests} completed, "
                         f"{len(st.todo)} outstanding, open batches {', '.join(st.open_jobs) or '-'}")
        return None  # nothing materialized: the sensor asks again when the open batches finish
    rows, failures = pipe.compile_set(s)
    usage = {"prompt_tokens": 0, "completion_tokens": 0, "cost_usd": 0.0}
    for j in pipe.set_jobs(s):
        for k in usage:
            usage[k] += (j["usage"] or {}).get(k, 0)
    run.metadata.update({"requests": len(rows) + len(failures), "completed": len(rows), "failed": len(failures),
                         "actual_cost_usd": round(usage["cost_usd"], 6), "prompt_tokens": usage["prompt_tokens"],
                         "completion_tokens": usage["completion_tokens"],
                         "batch_ids": ", ".join(j["batch_id"] or "" for j in pipe.set_jobs(s))})
    if failures:
        run.metadata["failures"] = failures[:50]
        run.log.warning(f"{len(failures)} requests failed after {pipe.max_retries} retries, e.g. {failures[0]}")
    pipe.ledger.mark_compiled(s["set_fp"])
    return rows


RECIPE = Recipe(
    name=NAME,
    description="OpenAI Batch API: batch input files submitted once, monitored by a sensor, compiled into training records.",
    stages=(
        Stage("requests", "requests", "Batch requests of a set joined to their slices, with the cost estimate.", _requests,
              reads_upstream=False, resources=(RESOURCE,)),
        Stage("submitted", "submitted", "Submits the set's input files to the Batch API (idempotent, returns without waiting).", _submit,
              reads_upstream=False, resources=(RESOURCE,)),
        Stage("compiled", "compiled", "Training records: batch results joined to requests and slices (materialized once complete).",
              _compile, reads_upstream=False, resources=(RESOURCE,), waits=True),
    ),
    load=load,
    cli="synth_assets.recipes.openai_batch.cli:commands",
    resources={RESOURCE: lambda root: OpenAIBatchSettings(root=root)},
    jobs=(SUBMIT_JOB, COLLECT_JOB),
    pollers=(POLLER,),
)
