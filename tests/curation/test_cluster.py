"""The blocked fast path reproduces sklearn's DBSCAN(metric="cosine") labels exactly."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.cluster import DBSCAN

from synth_assets.recipes.curation.cluster import (
    cluster_sizes, dbscan_from_pairs, fast_dbscan, radius_pairs, representatives, split_giant, sweep,
)


def planted(n_base=400, copies=4, dim=48, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n_base, dim))
    parts = [base] + [base + rng.standard_normal(base.shape) * s for s in np.linspace(0.15, 0.7, copies - 1)]
    X = np.concatenate(parts)
    return X[rng.permutation(len(X))]


@pytest.mark.parametrize("min_samples", [1, 2, 3, 5])
@pytest.mark.parametrize("eps", [0.1, 0.25])
def test_equals_sklearn_synthetic(min_samples, eps):
    X = planted()
    ours = fast_dbscan(X, eps, min_samples, row_block=256, col_block=512)
    theirs = DBSCAN(eps=eps, min_samples=min_samples, metric="cosine").fit(X).labels_
    assert np.array_equal(ours, theirs)  # same partition AND same cluster numbering (border points included)


def test_border_points_follow_sklearn_order():
    # a chain where point 2 is a border point reachable from two clusters
    X = np.array([[1, 0.0], [np.cos(0.3), np.sin(0.3)], [np.cos(0.6), np.sin(0.6)], [np.cos(0.9), np.sin(0.9)], [np.cos(1.2), np.sin(1.2)]])
    X = np.concatenate([X, X[[0, 4]] * 1.0001])
    eps = 1 - np.cos(0.31)
    for ms in (2, 3, 4):
        assert np.array_equal(fast_dbscan(X, eps, ms), DBSCAN(eps=eps, min_samples=ms, metric="cosine").fit(X).labels_)


def test_representatives_keep_first_occurrence_and_noise():
    labels = np.array([1, 0, -1, 1, 0, -1, 2])
    assert representatives(labels).tolist() == [True, True, True, False, False, True, True]


def test_sweep_matches_direct_runs():
    X = planted(200, 3)
    I, J, D = radius_pairs(X, 0.3)
    table = sweep(len(X), I, J, D, [0.1, 0.2, 0.3], 2)
    for row in table:
        labels = fast_dbscan(X, row["eps"], 2)
        assert row["kept"] == int(representatives(labels).sum())
        assert row["clusters"] == int(cluster_sizes(labels).size)


def test_split_giant_breaks_chains():
    angles = np.linspace(0, 1.5, 40)  # a chain: neighbours close, ends far apart
    X = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    eps = 1 - np.cos(0.05)
    labels = fast_dbscan(X, eps, 2)
    assert cluster_sizes(labels).max() == 40
    keep, giant = split_giant(X, labels, representatives(labels), eps, max_size=10)
    assert giant == [0] and keep.sum() > 10
    kept = X[keep]
    for x in X:  # every removed point has a kept point within eps
        assert (1 - kept @ x).min() <= eps + 1e-12


def test_equals_sklearn_on_real_minilm_vectors(encoder):
    """Real MiniLM vectors of ~120 texts + noisy copies (~1900 vectors)."""
    import json
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    texts = [json.loads(l)["text"] for l in (repo / "examples/curation/near_dups.jsonl").read_text().splitlines()]
    texts += [json.loads(l)["premise"] for l in (repo / "datasets/superglue/Copa/copa_train.jsonl").read_text().splitlines()[:90]]
    V = encoder.encode(texts).astype(np.float64)
    rng = np.random.default_rng(1)
    X = np.concatenate([V] + [V + rng.standard_normal(V.shape) * s for s in np.linspace(0.005, 0.04, 15)])
    for ms in (2, 4):
        ours = fast_dbscan(X, 0.2, ms, row_block=300, col_block=700)
        theirs = DBSCAN(eps=0.2, min_samples=ms, metric="cosine").fit(X).labels_
        assert np.array_equal(ours, theirs)
    assert dbscan_from_pairs(3, np.array([], np.int64), np.array([], np.int64), 2).tolist() == [-1, -1, -1]
