"""Dagster resource for sentence embeddings with the persistent (model, text sha256) cache."""

from __future__ import annotations

from pathlib import Path

from dagster import ConfigurableResource

from synth_assets.llm.embeddings import Encoder
from synth_assets.recipes.curation.embedding_cache import EmbeddingCache


class EmbeddingsResource(ConfigurableResource):
    """Embeds texts for curation; vectors are cached under `cache_dir` (the definitions set it to
    `{state dir of the root}/.cache/embeddings`, i.e. `{root}/.cache/embeddings` for a local root).

    The model itself comes from the collection config (it is part of the fingerprint); this
    resource only decides where and how to run it.
    """

    cache_dir: str
    device: str = "cpu"
    batch_size: int | None = None  # overrides dedup.batch_size (scheduling only)
    chunk_size: int | None = None  # overrides dedup.chunk_size (scheduling only)
    progress: bool = True  # rich progress bars with ETA on stderr

    def cache(self) -> EmbeddingCache:
        return EmbeddingCache(Path(self.cache_dir))

    def encoder(self, model: str, backend: str = "sentence-transformers", batch_size: int = 64) -> Encoder:
        return Encoder(model, backend, self.batch_size or batch_size, self.device)
