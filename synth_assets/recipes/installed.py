"""The recipes the platform runs: importing a recipe's package registers it (one line per recipe)."""

from synth_assets.recipes import curation, openai_batch, rephrase, stories, translation_judge  # noqa: F401
