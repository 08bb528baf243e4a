"""Every registered recipe as Dagster assets (one per stage, built by `stage_assets`) and a job per recipe."""

from __future__ import annotations

import warnings

from dagster import AssetSelection, BetaWarning, Definitions, RunRequest, SensorEvaluationContext, define_asset_job

from synth_assets.core.fingerprint import short
from synth_assets.core.registry import Registration
from synth_assets.core.run_tags import SOURCE_TAG, registration_tags
from synth_assets.defs.executor import executor_from_env
from synth_assets.defs.partitions import add_partitions, partition_key
from synth_assets.recipes.registry import recipes

# `backfill_policy` is beta in Dagster 1.13; we set it deliberately (see partitions.ONE_RUN_PER_PARTITION)
warnings.filterwarnings("ignore", category=BetaWarning, message=".*backfill_policy.*")

from synth_assets.defs.stage_assets import build_stage_assets  # noqa: E402


def recipe_job_name(recipe: str) -> str:
    return f"{recipe}_job"


def definitions(root: str) -> Definitions:
    all_recipes = recipes().values()
    return Definitions(
        assets=[a for recipe in all_recipes for a in build_stage_assets(recipe)],
        jobs=[define_asset_job(recipe_job_name(r.name), selection=AssetSelection.groups(r.name), description=r.description,
                               executor_def=executor_from_env()) for r in all_recipes],
    )


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
