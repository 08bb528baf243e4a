"""Curation: the embeddings resource (the assets and the job come from the recipe, `defs.recipes`)."""

from __future__ import annotations

from dagster import Definitions

from synth_assets.core.root import state_dir
from synth_assets.defs.curation.resources import EmbeddingsResource


def definitions(root: str) -> Definitions:
    return Definitions(resources={"embeddings": EmbeddingsResource(cache_dir=str(state_dir(root) / ".cache" / "embeddings"))})
