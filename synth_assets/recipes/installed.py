"""The recipes the platform runs (one line per recipe); `registry.py` finds them by name."""

from synth_assets.recipes import batch_api, curation, rephrase, stories, translation_judge

INSTALLED = (batch_api.RECIPE, curation.RECIPE, rephrase.RECIPE, stories.RECIPE, translation_judge.RECIPE)
