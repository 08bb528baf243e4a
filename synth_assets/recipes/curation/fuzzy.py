"""Near-duplicate (fuzzy) dedup: MinHash + LSH with `rensa`, candidates verified by exact Jaccard.

1. Shingles: the character n-grams of `normalize_text(text, casefold=True)` (a text shorter than
   n is one shingle).
2. `rensa.RMinHash` signatures (num_perm, fixed seed) and `rensa.RMinHashLSH` banding: rows that
   share a band are candidates. Bands x rows are chosen like datasketch does (the split of num_perm
   that minimises the false-positive + false-negative probability mass around the threshold), with
   false negatives weighted 4x: a false positive only costs one exact check in step 3.
3. Every candidate pair is re-decided with the exact Jaccard of its shingle sets (>= threshold),
   so no pair below the threshold is ever merged; LSH only decides which pairs are looked at.
   Shingle sets are kept only a batch at a time (hashing) and for candidate rows (checking).
4. Clusters are the connected components of the verified pairs, numbered in order of their first
   row; the first row of every cluster and every unclustered row are kept.

rensa was chosen over datasketch by `benchmarks/dedup_libraries.py` (same shingles, same bands,
same verification: see README for rows/s and recall of planted near-duplicates).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
from scipy.integrate import quad
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from synth_assets.recipes.curation.cluster import cluster_sizes, representatives
from synth_assets.recipes.curation.exact import normalize_text

ENGINE = "rensa.RMinHash"
SEED = 0
BATCH = 65536  # rows shingled and hashed at a time


@dataclass
class FuzzyResult:
    keep: np.ndarray
    labels: np.ndarray  # cluster id per row, -1 = no near-duplicate
    sizes: np.ndarray  # size of clusters 0..k-1
    candidates: int  # pairs proposed by LSH
    pairs: int  # pairs at Jaccard >= threshold
    bands: int
    seconds: dict[str, float] = field(default_factory=dict)


def shingles(text: str, ngram: int) -> set[str]:
    norm = normalize_text(text, casefold=True)
    if len(norm) <= ngram:
        return {norm}
    return {norm[i:i + ngram] for i in range(len(norm) - ngram + 1)}


def jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b)


FALSE_POSITIVE_WEIGHT, FALSE_NEGATIVE_WEIGHT = 0.2, 0.8


def lsh_bands(threshold: float, num_perm: int) -> int:
    """Number of bands (a divisor of num_perm) minimising the weighted false-positive + false-negative area."""
    best, best_error = 1, float("inf")
    for bands in (b for b in range(1, num_perm + 1) if num_perm % b == 0):
        rows = num_perm // bands
        false_pos = quad(lambda s: 1 - (1 - s ** rows) ** bands, 0.0, threshold)[0]
        false_neg = quad(lambda s: (1 - s ** rows) ** bands, threshold, 1.0)[0]
        error = FALSE_POSITIVE_WEIGHT * false_pos + FALSE_NEGATIVE_WEIGHT * false_neg
        if error < best_error:
            best, best_error = bands, error
    return best


def lsh_candidates(texts: list[str], ngram: int, threshold: float, num_perm: int, bands: int) -> tuple[np.ndarray, np.ndarray]:
    """(I, J), I < J: row pairs whose rensa MinHash signatures share at least one LSH band. Shingles
    are built a batch at a time and dropped once hashed: memory is the signatures, not the sets."""
    from rensa import RMinHash, RMinHashLSH

    lsh = RMinHashLSH(threshold, num_perm, bands)
    minhashes = []
    for start in range(0, len(texts), BATCH):
        batch = RMinHash.from_token_sets([shingles(t, ngram) for t in texts[start:start + BATCH]], num_perm, SEED)
        lsh.insert_many(batch, start_key=start)
        minhashes.extend(batch)
    found = lsh.query_all(minhashes)
    lengths = np.fromiter((len(f) for f in found), dtype=np.int64, count=len(found))
    I = np.repeat(np.arange(len(found), dtype=np.int64), lengths)
    J = np.fromiter((k for f in found for k in f), dtype=np.int64, count=int(lengths.sum()))
    upper = I < J
    return I[upper], J[upper]


def verify(texts: list[str], I: np.ndarray, J: np.ndarray, threshold: float, ngram: int) -> np.ndarray:
    """Mask of the candidate pairs whose exact Jaccard is >= threshold (shingles of candidate rows only)."""
    sets = {int(row): shingles(texts[row], ngram) for row in np.unique(np.concatenate([I, J]))}
    return np.fromiter((jaccard(sets[i], sets[j]) >= threshold for i, j in zip(I.tolist(), J.tolist())), dtype=bool, count=I.size)


def components(n: int, I: np.ndarray, J: np.ndarray) -> np.ndarray:
    """Cluster labels from pairs: connected components with >= 2 rows, numbered by first row; -1 elsewhere."""
    labels = np.full(n, -1, dtype=np.int64)
    if I.size == 0:
        return labels
    graph = coo_matrix((np.ones(I.size, dtype=np.int8), (I, J)), shape=(n, n)).tocsr()
    _, component = connected_components(graph, directed=False)
    counts = np.bincount(component)
    clustered = np.flatnonzero(counts[component] >= 2)
    comps, first = np.unique(component[clustered], return_index=True)  # first (lowest) row of each component
    number = np.full(component.max() + 1, -1, dtype=np.int64)
    number[comps[np.argsort(clustered[first])]] = np.arange(comps.size)
    labels[clustered] = number[component[clustered]]
    return labels


def fuzzy_dedup(texts: list[str], threshold: float, ngram: int, num_perm: int) -> FuzzyResult:
    """MinHash-LSH near-duplicate clusters of `texts` and the keep-mask (first row of each cluster)."""
    bands = lsh_bands(threshold, num_perm)
    started = time.perf_counter()
    I, J = lsh_candidates(texts, ngram, threshold, num_perm, bands) if texts else (np.zeros(0, np.int64), np.zeros(0, np.int64))
    hashed = time.perf_counter()
    ok = verify(texts, I, J, threshold, ngram)
    labels = components(len(texts), I[ok], J[ok])
    seconds = {"minhash_lsh": round(hashed - started, 3), "verify_cluster": round(time.perf_counter() - hashed, 3)}
    return FuzzyResult(representatives(labels), labels, cluster_sizes(labels), int(I.size), int(ok.sum()), bands, seconds)
