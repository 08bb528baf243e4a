"""Partition-then-exact: with uncapped borders it finds exactly the pairs of the full radius search."""

from __future__ import annotations

import numpy as np

from synth_assets.recipes.curation.cluster import radius_pairs
from synth_assets.recipes.curation.partition import partitioned_radius_pairs


def planted(n=3000, dim=32, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, dim)).astype(np.float32)
    copies = X[rng.integers(0, n, n // 3)] + rng.standard_normal((n // 3, dim)).astype(np.float32) * rng.uniform(0.05, 0.6, (n // 3, 1)).astype(np.float32)
    X = np.concatenate([X, copies])
    return X[rng.permutation(len(X))]


def pair_set(I, J):
    return set(zip(I.tolist(), J.tolist()))


def test_uncapped_borders_give_the_exact_pairs():
    X = planted()
    exact = pair_set(*radius_pairs(X, 0.2)[:2])
    I, J, D, stats = partitioned_radius_pairs(X, 0.2, rows_per_partition=400, border_partitions=10_000)
    assert stats["partitions"] == 10 and stats["border_rows"] > 0
    assert pair_set(I, J) == exact and len(exact) > 500
    assert np.all(I < J) and np.all(D <= 0.2)


def test_capped_borders_find_a_subset_and_more_than_no_borders():
    X = planted(seed=1)
    exact = pair_set(*radius_pairs(X, 0.2)[:2])
    none = pair_set(*partitioned_radius_pairs(X, 0.2, rows_per_partition=400, border_partitions=0)[:2])
    two = pair_set(*partitioned_radius_pairs(X, 0.2, rows_per_partition=400, border_partitions=2)[:2])
    assert none <= two <= exact
    assert len(none) < len(two)
