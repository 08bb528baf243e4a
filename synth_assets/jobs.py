"""One job per recipe: all of its stages for one (dataset, fingerprint) partition."""

from dagster import AssetSelection, define_asset_job

from synth_assets.assets.recipe_stages import RECIPES
from synth_assets.recipes.translation_judge.drops import RECIPE as JUDGE


def recipe_job_name(recipe: str) -> str:
    return f"{recipe}_job"


recipe_jobs = [
    define_asset_job(recipe_job_name(name), selection=AssetSelection.groups(name))
    for name in [*RECIPES, JUDGE]
]
