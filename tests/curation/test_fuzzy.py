"""MinHash-LSH fuzzy dedup: planted near-duplicates of known Jaccard are found, unrelated rows are not;
the config adds fingerprint keys only when the new options are used."""

from __future__ import annotations

import json
import random
from pathlib import Path

import numpy as np
import pytest

from synth_assets.core.fingerprint import digest
from synth_assets.recipes.curation.config import Collection, CollectionConfig
from synth_assets.recipes.curation.embedding_cache import EmbeddingCache
from synth_assets.recipes.curation.fuzzy import fuzzy_dedup, jaccard, shingles
from synth_assets.recipes.curation.pipeline import SCHEME, compute_fingerprints, run_semantic, semantic_name, semantic_report


def corpus(n_base=300, seed=3):
    """Unrelated base prompts plus edited copies; returns texts and (base, copy, exact Jaccard) triples."""
    rnd = random.Random(seed)
    words = ["".join(rnd.choices("abcdefghijklmnopqrstuvwxyz", k=rnd.randint(3, 9))) for _ in range(3000)]
    texts = [" ".join(rnd.choices(words, k=rnd.randint(25, 40))) for _ in range(n_base)]
    planted = []
    for i in range(0, n_base, 3):
        tokens = texts[i].split()
        edits = rnd.choice([1, 4, 12])  # one word, a few words, many words replaced
        for pos in rnd.sample(range(len(tokens)), edits):
            tokens[pos] = rnd.choice(words)
        texts.append(" ".join(tokens).upper() if edits == 1 else " ".join(tokens))
        planted.append((i, len(texts) - 1))
    return texts, [(a, b, jaccard(shingles(texts[a], 5), shingles(texts[b], 5))) for a, b in planted]


def test_planted_near_duplicates_found_and_unrelated_rows_not():
    texts, planted = corpus()
    result = fuzzy_dedup(texts, threshold=0.7, ngram=5, num_perm=128)
    high = [(a, b) for a, b, j in planted if j >= 0.8]
    low = [(a, b) for a, b, j in planted if j < 0.6]
    assert len(high) > 30 and len(low) > 20  # both kinds are planted
    assert all(result.labels[a] >= 0 and result.labels[a] == result.labels[b] for a, b in high)
    assert all(result.labels[a] != result.labels[b] or result.labels[a] < 0 for a, b in low)  # below threshold: never merged
    assert not result.keep[[b for _, b in high]].any() and result.keep[[a for a, _ in high]].all()  # first occurrence kept
    unrelated = np.ones(len(texts), bool)
    unrelated[[x for a, b, _ in planted for x in (a, b)]] = False
    assert (result.labels[unrelated] == -1).all()
    assert result.pairs <= result.candidates


def test_labels_numbered_by_first_row():
    texts = ["the quick brown fox jumps", "lorem ipsum dolor sit amet", "The quick brown fox jumps!", "lorem ipsum dolor sit amet."]
    result = fuzzy_dedup(texts, threshold=0.7, ngram=3, num_perm=64)
    assert result.labels.tolist() == [0, 1, 0, 1] and result.keep.tolist() == [True, True, False, False]


def _collection(dedup: dict) -> Collection:
    cfg = CollectionConfig.model_validate({"collection": "t", "sources": [{"name": "s", "path": "x.jsonl", "fields": {"prompt": "text"}}],
                                           "dedup": dedup})
    return Collection(config=cfg, path="x.yaml")


def test_fingerprints_change_only_when_new_options_are_used(monkeypatch):
    monkeypatch.setattr("synth_assets.recipes.curation.pipeline.source_content_hash", lambda s: "0" * 64)
    plain = compute_fingerprints(_collection({"semantic": False}))
    # the formula before the fuzzy and partition options existed
    merged = {"scheme": SCHEME, "stage": "merged", "collection": "t", "sources": plain.params["merged"]["sources"],
              "by": "prompt", "exact": True, "casefold": False}
    assert plain.merged == digest(merged)
    assert plain.deduplicated == digest({"scheme": SCHEME, "stage": "deduplicated", "upstream": plain.merged, "semantic": False})
    fuzzy = compute_fingerprints(_collection({"semantic": False, "fuzzy": {"threshold": 0.8}}))
    assert fuzzy.merged == plain.merged and fuzzy.deduplicated != plain.deduplicated
    assert fuzzy.params["deduplicated"]["fuzzy"] == {"threshold": 0.8, "ngram": 5, "num_perm": 128, "engine": "rensa.RMinHash", "seed": 0}
    other = compute_fingerprints(_collection({"semantic": False, "fuzzy": {"threshold": 0.8, "ngram": 7}}))
    assert other.deduplicated != fuzzy.deduplicated
    assert semantic_name(_collection({"semantic": False})) == "sft_prompt_exact"
    assert semantic_name(_collection({"semantic": False, "fuzzy": {"threshold": 0.85}})) == "sft_prompt_exact_mh085"


@pytest.mark.parametrize("bad", [{"threshold": 0}, {"threshold": 1.5}, {"ngram": 0}, {"num_perm": 4}, {"thresold": 0.8}])
def test_bad_fuzzy_options_are_rejected(bad):
    with pytest.raises(ValueError):
        _collection({"fuzzy": bad})


def test_stage_report_and_summary_with_fuzzy_only(tmp_path):
    texts, planted = corpus(60)
    rows = [{"all_prompt_id": i, "source_prompt_id": f"{i}_s", "source": "s", "prompt": t, "metadata": "{}", "_key": t}
            for i, t in enumerate(texts)]
    col = _collection({"semantic": False, "fuzzy": {"threshold": 0.7}})
    kept, result, stats = run_semantic(rows, col, EmbeddingCache(tmp_path), None)
    assert len(kept) == int(result.fuzzy.keep.sum()) < len(rows)
    counts = {"s": {"rows_read": len(rows), "malformed": 0, "usable": len(rows), "after_exact": len(rows), "exact_duplicates": 0}}
    summary, report = semantic_report(rows, result, stats, col, counts)
    assert summary[0]["fuzzy_duplicates"] == len(rows) - len(kept) and summary[0]["semantic_duplicates"] == 0
    assert summary[0]["after"] == len(kept) == report["rows_kept"] == report["fuzzy"]["rows_kept"]
    assert report["fuzzy"]["clusters"] == len(result.fuzzy.sizes) > 0

    from synth_assets.core.stores import open_store
    from synth_assets.recipes.curation.semantic import write_artifacts

    store = open_store(str(tmp_path / "root"))
    uris = write_artifacts(store, "_artifacts/t/deduplicated/x", "f" * 64, rows, result, col.config.dedup, summary, report)
    clusters = json.loads(Path(uris["fuzzy_clusters"]).read_text())
    assert clusters[0]["size"] == int(result.fuzzy.sizes.max()) and clusters[0]["members"][0]["text"] in texts
    assert np.array_equal(np.load(uris["fuzzy_labels"]), result.fuzzy.labels) and Path(uris["fuzzy_size_histogram"]).is_file()
    assert Path(uris["labels"]).name == "labels_eps0.2.npy" and Path(uris["labels"]).is_file()


def test_fuzzy_then_semantic_indexes_every_row(tmp_path, encoder):
    texts = ["What is the capital of France?", "what is the capital of france", "Explain how photosynthesis works.",
             "Explain, how photosynthesis works!", "Give me a recipe for pancakes."]
    rows = [{"all_prompt_id": i, "source_prompt_id": f"{i}_s", "source": "s", "prompt": t, "metadata": "{}", "_key": t}
            for i, t in enumerate(texts)]
    col = _collection({"fuzzy": {"threshold": 0.9, "ngram": 3}, "eps": 0.2, "sweep": [0.2]})
    kept, result, stats = run_semantic(rows, col, EmbeddingCache(tmp_path), encoder)
    assert result.fuzzy.keep.tolist() == [True, False, True, True, True]  # identical after casefolding and punctuation-free
    assert stats.texts == 4 and len(result.labels) == len(rows) and result.labels[1] == -1
    assert [r["prompt"] for r in kept] == [texts[0], texts[2], texts[4]]  # the semantic step removed the punctuation variant
