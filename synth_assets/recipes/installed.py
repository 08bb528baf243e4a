"""The recipes the platform runs: the module of each that defines its `RECIPE` (one line per recipe).

`registry.py` imports them when a recipe is first looked up, so commands that need none start without them
(curation, say, loads scipy and an embedding library)."""

INSTALLED = (
    "synth_assets.recipes.openai_batch",
    "synth_assets.recipes.curation",
    "synth_assets.recipes.rephrase",
    "synth_assets.recipes.stories",
    "synth_assets.recipes.translation_judge",
)
