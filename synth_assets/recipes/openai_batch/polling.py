"""The recipe's poller: the open batches of the ledger, and a collect run for a set when one of its batches finished
(to download it) or when all of them did. Its sensor (`batchapi_sensor`) is built by `synth_assets.lib.pollers`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from synth_assets.core.fingerprint import digest
from synth_assets.core.run_tags import OPENAI_BATCHES_TAG
from synth_assets.core.store import Store
from synth_assets.recipes.hooks import JobSpec, Poller, PollRequest
from synth_assets.recipes.openai_batch.client import OPEN, TERMINAL
from synth_assets.recipes.openai_batch.pipeline import RECIPE, UNSENT, BatchPipeline

RESOURCE = "batch_api"
SUBMIT_JOB = JobSpec(f"{RECIPE}_submit_job", ("requests", "submitted"),
                     "Build the requests of a set and submit its input files (returns at once).")
COLLECT_JOB = JobSpec(f"{RECIPE}_collect_job", ("compiled",),
                      "Download finished batches, resubmit what is missing, compile the training records.")


def collect_requests(pipe: BatchPipeline, store: Store) -> list[PollRequest]:
    """Runs for sets with a finished batch to download, or with every batch finished."""
    requests = []
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
        requests.append(PollRequest(
            store.registration(s["set_fp"]), run_key=f"{s['dataset']}/{s['partition_fp']}:{state}",
            tags={OPENAI_BATCHES_TAG: ",".join(j["batch_id"] or "" for j in to_download)[:200]}))
    return requests


def poll(store: Store, resources: Mapping[str, Any], log: Any) -> tuple[list[PollRequest], str]:
    pipe = resources[RESOURCE].pipeline(logger=log)
    for job in pipe.refresh_open():
        log.info(f"batch {job['batch_id']} is now {job['status']} ({job['request_counts']})")
    requests = collect_requests(pipe, store)
    return requests, f"watched the Batch API ledger: {len(pipe.ledger.sets())} sets, {len(requests)} ready to collect"


POLLER = Poller(sensor=f"{RECIPE}_sensor", job=COLLECT_JOB.name, poll=poll,
                description="Polls the open batches of the Batch API ledger; requests the collect run of a set when a batch finishes.")
