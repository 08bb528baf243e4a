"""Stage assets of every recipe."""

import warnings

from dagster import BetaWarning

# `backfill_policy` is beta in Dagster 1.13; we set it deliberately (see factory.ONE_RUN_PER_PARTITION)
warnings.filterwarnings("ignore", category=BetaWarning, message=".*backfill_policy.*")

from synth_assets.assets.factory import build_recipe_assets  # noqa: E402
from synth_assets.assets.recipe_stages import RECIPES  # noqa: E402

recipe_assets = {name: build_recipe_assets(recipe) for name, recipe in RECIPES.items()}
