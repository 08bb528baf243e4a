"""Every registered recipe in Dagster: assets (one per stage, built by `stage_assets`), a job per recipe, and what its
hooks declare: jobs over some stages, resources, drop sensors (`drop_sensors.py`) and polling sensors (`pollers.py`)."""

from __future__ import annotations

import warnings

from dagster import AssetSelection, BetaWarning, Definitions, JobDefinition, define_asset_job

from synth_assets.lib.drop_sensors import build_drop_sensor
from synth_assets.lib.executor import executor_from_env
from synth_assets.lib.pollers import build_poll_sensor
from synth_assets.lib.run_requests import recipe_job_name
from synth_assets.recipes.base import Recipe
from synth_assets.recipes.hooks import JobSpec
from synth_assets.recipes.registry import recipes


# `backfill_policy` is beta in Dagster 1.13; we set it deliberately (see partitions.ONE_RUN_PER_PARTITION)
warnings.filterwarnings("ignore", category=BetaWarning, message=".*backfill_policy.*")

from synth_assets.lib.stage_assets import asset_key, build_stage_assets  # noqa: E402


def _stage_job(recipe: Recipe, spec: JobSpec) -> JobDefinition:
    keys = [asset_key(recipe, recipe.stage(stage)) for stage in spec.stages]
    return define_asset_job(spec.name, selection=AssetSelection.assets(*keys), description=spec.description)


def definitions(root: str) -> Definitions:
    all_recipes = recipes().values()
    return Definitions(
        assets=[a for recipe in all_recipes for a in build_stage_assets(recipe)],
        jobs=[define_asset_job(recipe_job_name(r.name), selection=AssetSelection.groups(r.name), description=r.description,
                               executor_def=executor_from_env()) for r in all_recipes]
        + [_stage_job(r, spec) for r in all_recipes for spec in r.jobs],
        sensors=[build_drop_sensor(source) for r in all_recipes for source in r.drop_sources]
        + [build_poll_sensor(r, poller) for r in all_recipes for poller in r.pollers],
        resources={name: make(root) for r in all_recipes for name, make in r.resources.items()},
    )
