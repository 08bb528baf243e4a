"""Stage assets of every recipe."""

from synth_assets.assets.factory import build_recipe_assets
from synth_assets.assets.recipe_stages import RECIPES

recipe_assets = {name: build_recipe_assets(recipe) for name, recipe in RECIPES.items()}
