"""The runs sensors request: a recipe's job over the partitions of new registrations, one run per fingerprint."""

from __future__ import annotations

from dagster import RunRequest, SensorEvaluationContext

from synth_assets.core.fingerprint import short
from synth_assets.core.registry import Registration
from synth_assets.core.run_tags import SOURCE_TAG, registration_tags
from synth_assets.lib.partitions import add_partitions, partition_key


def recipe_job_name(recipe: str) -> str:
    return f"{recipe}_job"


def run_requests(context: SensorEvaluationContext, registered: list[tuple[Registration, str, str]]) -> list[RunRequest]:
    """(registration, version, source) from a sensor tick: every registration becomes a partition; runs are
    requested only for incomplete fingerprints, one per fingerprint."""
    add_partitions(context.instance, [reg.record for reg, _, _ in registered])
    requests, requested, complete = [], set(), 0
    for reg, version, source in registered:
        if reg.complete:
            complete += 1
            continue
        if reg.fingerprint in requested:  # two drops with the same parameters: one run
            continue
        requested.add(reg.fingerprint)
        requests.append(RunRequest(run_key=f"{short(reg.fingerprint)}:{version[:12]}", job_name=recipe_job_name(reg.recipe),
                                   partition_key=partition_key(reg.record),
                                   tags={**registration_tags(reg.batch_id, reg.fingerprint), SOURCE_TAG: source}))
    if complete:
        context.log.info(f"{complete} experiments already complete: batch views only, no run")
    return requests
