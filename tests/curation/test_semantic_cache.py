"""Semantic dedup with the real MiniLM model (few texts) and the chunked embedding cache."""

from __future__ import annotations

import numpy as np
import pytest

from synth_assets.recipes.curation.config import Collection, CollectionConfig
from synth_assets.recipes.curation.embedding_cache import EmbeddingCache
from synth_assets.recipes.curation.pipeline import run_semantic

PLANTED = [
    ("What is the capital of France?", "what is the capital of france"),  # case + punctuation
    ("Explain how photosynthesis works.", "Explain, how photosynthesis works!"),  # punctuation
    ("List three benefits of regular exercise.", "List three benefits of exercise regular."),  # word swap
    ("Who wrote the novel Pride and Prejudice?", "WHO WROTE THE NOVEL PRIDE AND PREJUDICE"),
]
DISTINCT = ["How many legs does a spider have?", "Give me a recipe for pancakes.", "What causes tides in the ocean?",
            "Translate 'thank you' into Japanese.", "Write a haiku about autumn leaves.", "Is a tomato a fruit?"]


def _collection(eps=0.2, chunk_size=4):
    cfg = CollectionConfig.model_validate({
        "collection": "t", "sources": [{"name": "s", "path": "x.jsonl", "fields": {"prompt": "text"}}],
        "dedup": {"eps": eps, "chunk_size": chunk_size, "sweep": [0.1, 0.2]},
    })
    return Collection(config=cfg, path="x.yaml")


def _rows(texts):
    return [{"all_prompt_id": i, "source_prompt_id": f"{i}_s", "source": "s", "prompt": t, "metadata": "{}", "_key": t}
            for i, t in enumerate(texts)]


def test_finds_planted_near_duplicates_and_cache_hits_on_eps_change(tmp_path, encoder):
    texts = [a for a, _ in PLANTED] + DISTINCT + [b for _, b in PLANTED]
    cache = EmbeddingCache(tmp_path / "cache")
    kept, result, stats = run_semantic(_rows(texts), _collection(0.2), cache, encoder)
    assert stats.embedded == len(texts) and stats.hits == 0
    assert [r["prompt"] for r in kept] == [a for a, _ in PLANTED] + DISTINCT  # the first occurrences survive
    n = len(PLANTED)
    for i in range(n):
        assert result.labels[i] >= 0 and result.labels[i] == result.labels[len(texts) - n + i]
    before = encoder.texts_encoded
    kept2, _, stats2 = run_semantic(_rows(texts), _collection(0.1), cache, encoder)
    assert stats2.hits == len(texts) and stats2.embedded == 0 and encoder.texts_encoded == before  # counted cache hits
    assert len(kept2) >= len(kept)


def test_interrupted_embedding_resumes_from_last_finished_chunk(tmp_path, encoder):
    texts = [f"Question number {i}: what is {i} plus {i + 1}?" for i in range(20)]
    cache = EmbeddingCache(tmp_path / "cache")

    def crash_after_second_chunk(number):
        if number == 1:
            raise RuntimeError("simulated crash")

    with pytest.raises(RuntimeError, match="simulated crash"):
        cache.embed(texts, encoder, chunk_size=6, on_chunk=crash_after_second_chunk)
    assert cache.count(encoder.id) == 12  # two finished chunks persisted
    vectors, stats = cache.embed(texts, encoder, chunk_size=6)
    assert (stats.hits, stats.embedded, stats.chunk_sizes) == (12, 8, [6, 2])
    direct = encoder.encode(texts)
    assert np.allclose(vectors, direct, atol=1e-5)


def test_unfinished_chunk_is_ignored(tmp_path, encoder):
    cache = EmbeddingCache(tmp_path / "cache")
    cache.embed(["alpha beta", "gamma delta"], encoder, chunk_size=1)
    folder = cache.folder(encoder.id)
    keys = sorted(folder.glob("*.keys"))
    keys[-1].unlink()  # as if the process died between the vectors and the keys file
    _, stats = cache.embed(["alpha beta", "gamma delta"], encoder, chunk_size=1)
    assert (stats.hits, stats.embedded) == (1, 1)
