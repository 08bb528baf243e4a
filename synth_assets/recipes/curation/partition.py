"""Partition-then-exact radius search for large inputs (SemDeDup-style k-means partitions, plus borders).

1. k-means (scikit-learn, fitted on a sample of at most 40 rows per centroid) splits the unit
   vectors into k = ceil(n / rows_per_partition) partitions; every row goes to its nearest centroid.
2. Borders: a pair within cosine distance eps is within Euclidean distance r = sqrt(2 eps) (unit
   vectors). If x is in partition A and y in B, y lies within r of the hyperplane that bisects
   centroids A and B, at distance (|y - c_A|^2 - |y - c_B|^2) / (2 |c_A - c_B|). So each row is
   also added as a guest to the partitions whose bisector it is within r of, at most
   `border_partitions` of them (the closest ones). With no cap the pair set equals the exact one;
   with a cap it is a subset whose pair recall `benchmarks/dedup_libraries.py` measures.
3. Each widened partition runs the exact `radius_pairs` (screened tiles + float64 re-decision);
   the pairs of all partitions are merged and deduplicated. DBSCAN then runs on them as usual.

Memory: the vectors, one widened partition's copy and the pairs found; time ~ sum of the squared
widened partition sizes instead of n^2.
"""

from __future__ import annotations

import math
import time

import numpy as np

from synth_assets.recipes.curation.cluster import normalized, radius_pairs
from synth_assets.recipes.curation.progress import progress_bar

SAMPLE_PER_CENTROID = 40
BLOCK = 65536


def kmeans_centroids(X: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Unit-norm k-means centroids fitted on a seeded sample of the (normalised) rows."""
    from sklearn.cluster import KMeans

    rng = np.random.default_rng(seed)
    sample = np.sort(rng.choice(len(X), size=min(len(X), k * SAMPLE_PER_CENTROID), replace=False))
    model = KMeans(n_clusters=k, n_init=1, max_iter=25, random_state=seed).fit(normalized(X[sample]))
    return model.cluster_centers_.astype(np.float32)


def assign(X: np.ndarray, centroids: np.ndarray, eps: float, border_partitions: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(home partition per row, guest rows, guest partitions): a row is a guest of partition B when
    it lies within sqrt(2 eps) of the bisector between its home centroid and B (closest B first, at
    most border_partitions per row)."""
    radius = math.sqrt(2 * eps)
    c_sq = np.einsum("ij,ij->i", centroids, centroids)
    home = np.empty(len(X), dtype=np.int64)
    guest_rows: list[np.ndarray] = []
    guest_parts: list[np.ndarray] = []
    gap = np.sqrt(np.maximum(c_sq[:, None] + c_sq[None, :] - 2 * centroids @ centroids.T, 1e-12))  # |c_A - c_B|
    for start in range(0, len(X), BLOCK):
        V = normalized(X[start:start + BLOCK])
        sq = c_sq[None, :] - 2 * (V @ centroids.T)  # |x - c|^2 - |x|^2
        own = np.argmin(sq, axis=1)
        home[start:start + len(V)] = own
        if border_partitions == 0 or len(centroids) == 1:
            continue
        to_bisector = (sq - sq[np.arange(len(V)), own][:, None]) / (2 * gap[own])
        to_bisector[np.arange(len(V)), own] = np.inf
        take = min(border_partitions, len(centroids) - 1)
        nearest = np.argpartition(to_bisector, take - 1, axis=1)[:, :take]
        within = np.take_along_axis(to_bisector, nearest, axis=1) <= radius
        rows, slot = np.nonzero(within)
        guest_rows.append(rows + start)
        guest_parts.append(nearest[rows, slot])
    empty = np.zeros(0, np.int64)
    return home, np.concatenate(guest_rows) if guest_rows else empty, np.concatenate(guest_parts) if guest_parts else empty


def partitioned_radius_pairs(
    X: np.ndarray, eps: float, *, rows_per_partition: int = 2000, border_partitions: int = 2, seed: int = 0,
    progress: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict]:
    """(I, J, D, stats): pairs i < j at cosine distance D <= eps found inside widened k-means partitions."""
    started = time.perf_counter()
    n = len(X)
    k = max(1, math.ceil(n / rows_per_partition))
    centroids = kmeans_centroids(X, k, seed)
    fitted = time.perf_counter()
    home, guest_rows, guest_parts = assign(X, centroids, eps, border_partitions)
    assigned = time.perf_counter()
    k = len(centroids)
    members_home = np.argsort(home, kind="stable")
    home_bounds = np.searchsorted(home[members_home], np.arange(k + 1))
    order = np.argsort(guest_parts, kind="stable")
    guest_rows, guest_parts = guest_rows[order], guest_parts[order]
    guest_bounds = np.searchsorted(guest_parts, np.arange(k + 1))
    found_i, found_j, found_d = [], [], []
    sizes = []
    with progress_bar(progress, f"clustering {n} rows in {k} partitions", total=n, unit="rows") as advance:
        for part in range(k):
            members = np.concatenate([members_home[home_bounds[part]:home_bounds[part + 1]],
                                      guest_rows[guest_bounds[part]:guest_bounds[part + 1]]])
            sizes.append(members.size)
            if members.size > 1:
                I, J, D = radius_pairs(X[members], eps)
                gi, gj = members[I], members[J]
                found_i.append(np.minimum(gi, gj))
                found_j.append(np.maximum(gi, gj))
                found_d.append(D)
            advance(int(home_bounds[part + 1] - home_bounds[part]))
    if found_i:
        I, J, D = np.concatenate(found_i), np.concatenate(found_j), np.concatenate(found_d)
        _, first = np.unique(I * n + J, return_index=True)  # a pair seen in two partitions counts once
        I, J, D = I[first], J[first], D[first]
    else:
        I = J = np.zeros(0, np.int64)
        D = np.zeros(0, np.float64)
    stats = {"partitions": k, "border_rows": int(guest_rows.size), "largest_partition": int(max(sizes)),
             "border_partitions": border_partitions, "seconds": round(time.perf_counter() - started, 2),
             "kmeans_seconds": round(fitted - started, 2), "assign_seconds": round(assigned - fitted, 2)}
    return I, J, D, stats
