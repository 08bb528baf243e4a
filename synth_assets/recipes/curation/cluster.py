"""DBSCAN on cosine distance without an N x N matrix, with exactly sklearn's labels.

1. `radius_pairs`: every pair i < j with cosine distance <= eps, found with float32 dot products
   of normalised vectors in (row block x column block) tiles of the upper triangle (memory:
   one tile + the pairs found). Tiles use a safety margin, and every candidate pair is re-decided
   exactly in float64 (1 - a.b / (|a||b|) <= eps), so float32 rounding never flips a decision.
2. `dbscan_from_pairs`: core points have >= min_samples neighbours *including themselves*
   (sklearn's definition); clusters are the connected components of the core-core graph
   (scipy.sparse.csgraph); a border point (not core, >= 1 core neighbour) joins the cluster of
   its core neighbours that sklearn creates first. sklearn expands clusters in order of their
   smallest core index and never relabels a point, so "first created" = the cluster with the
   smallest minimum core index, and cluster ids are numbered in that order. The result equals
   `sklearn.cluster.DBSCAN(eps, min_samples, metric="cosine").fit(X).labels_` for every
   min_samples (tested for 2 and larger), up to pairs whose distance is within ~1e-12 of eps
   where sklearn's own float rounding decides.
3. `representatives`: keep the first occurrence (lowest index) of every cluster and every noise
   point.

DBSCAN chains: a run of texts each within eps of the next (templates) becomes one giant cluster
even when its ends are far apart. `split_giant` re-processes a cluster above a size bound
greedily in input order (keep a member unless it is within eps of an already kept member), so
every removed text has a kept text within eps.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from synth_assets.recipes.curation.progress import progress_bar


def normalized(X: np.ndarray, dtype=np.float32) -> np.ndarray:
    X = np.asarray(X)
    norms = np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float64))
    return (X / np.maximum(norms, 1e-300)[:, None]).astype(dtype, copy=False)


def radius_pairs(
    X: np.ndarray,
    eps: float,
    *,
    row_block: int = 512,
    col_block: int = 4096,
    progress: bool = False,
    description: str = "clustering",
    max_rows: int | None = None,
    screen: str = "int8",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(I, J, D): pairs i < j with cosine distance D <= eps. `max_rows` stops after that many rows
    of the upper triangle (for timing extrapolation).

    Tiles of dot products screen for candidates with a margin that covers the screen's worst-case
    error; every candidate is then re-decided in float64, so the result is exact for any screen:
    - "int8" (default with torch): vectors quantised with one scale s, integer dot products
      (VNNI); for unit vectors |x.y - qx.qy/s^2| <= 2*sqrt(dim)*d + dim*d^2 with d = 0.5/s.
    - "fp16": torch float16 tiles, margin 0.02 (input rounding 2^-11 per component: <= ~1e-3).
    - "fp32": numpy float32 tiles, margin dim * 2^-24 (also the fallback without torch)."""
    X = np.asarray(X)
    n, dim = X.shape
    norms = np.sqrt(np.einsum("ij,ij->i", X, X, dtype=np.float64))
    norms = np.maximum(norms, 1e-300)
    Xn = (X / norms[:, None].astype(X.dtype if X.dtype == np.float64 else np.float32)).astype(np.float32, copy=False)
    threshold = 1.0 - eps
    try:
        import torch
    except ImportError:  # pragma: no cover - the curation extra installs torch
        torch = None
    if torch is None and screen != "fp32":
        screen = "fp32"
    if screen == "int8":
        scale = 127.0 / max(float(np.abs(Xn).max()), 1e-12)
        delta = 0.5 / scale
        margin = 2 * np.sqrt(dim) * delta + dim * delta * delta + 1e-6
        pad = (-n) % row_block, (-dim) % 8  # int_mm wants > 16 rows and k, n multiples of 8; zero rows never match
        Q = np.zeros((n + pad[0], dim + pad[1]), dtype=np.int8)
        Q[:n, :dim] = np.round(Xn * scale)
        tiles = torch.from_numpy(Q)
        columns = tiles.T.contiguous()
        cutoff = int(np.floor((threshold - margin) * scale * scale))

        def product(a: int, b: int, c: int, e: int):
            return torch._int_mm(tiles[a:b], columns[:, c:e])
    else:
        margin = 0.02 if screen == "fp16" else max(1e-4, 8 * dim * 2.0 ** -24)
        cutoff = threshold - margin
        if torch is not None:
            tiles = torch.from_numpy(np.ascontiguousarray(Xn))
            tiles = tiles.to(torch.float16) if screen == "fp16" else tiles
        else:
            tiles = Xn

        def product(a: int, b: int, c: int, e: int):
            return tiles[a:b] @ tiles[c:e].T
    out_i: list[np.ndarray] = []
    out_j: list[np.ndarray] = []
    out_d: list[np.ndarray] = []
    last = n if max_rows is None else min(n, max_rows)
    with progress_bar(progress, description, total=last, unit="rows") as advance:
        for a in range(0, last, row_block):
            b = min(a + row_block, n) if screen != "int8" else a + row_block
            for c in range(a - a % 8, n, col_block):
                e = min(c + col_block, n + (-n) % 8)
                ii, jj = _hits(product(a, b, c, e), cutoff, torch)
                if ii.size == 0:
                    continue
                gi, gj = ii + a, jj + c
                keep = (gj > gi) & (gj < n) & (gi < n)
                gi, gj = gi[keep], gj[keep]
                if gi.size == 0:
                    continue
                d = _exact_distance(X, norms, gi, gj)
                ok = d <= eps
                out_i.append(gi[ok].astype(np.int64))
                out_j.append(gj[ok].astype(np.int64))
                out_d.append(d[ok])
            advance(min(a + row_block, last) - a)
    if not out_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float64)
    return np.concatenate(out_i), np.concatenate(out_j), np.concatenate(out_d)


def _hits(S, cutoff, torch) -> tuple[np.ndarray, np.ndarray]:
    """(row, column) of the tile entries >= cutoff; rows without any are skipped before the scan."""
    if torch is None or not isinstance(S, torch.Tensor):
        return np.nonzero(S >= cutoff)
    rows = torch.nonzero(S.amax(dim=1) >= cutoff).view(-1)
    if rows.numel() == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    sub_i, jj = torch.nonzero(S[rows] >= cutoff, as_tuple=True)
    return rows[sub_i].numpy(), jj.numpy()


def _exact_distance(X: np.ndarray, norms: np.ndarray, gi: np.ndarray, gj: np.ndarray, step: int = 65536) -> np.ndarray:
    out = np.empty(gi.size, dtype=np.float64)
    for s in range(0, gi.size, step):
        i, j = gi[s:s + step], gj[s:s + step]
        a = X[i].astype(np.float64) / norms[i, None]
        b = X[j].astype(np.float64) / norms[j, None]
        out[s:s + step] = 1.0 - np.einsum("ij,ij->i", a, b)
    return out


def dbscan_from_pairs(n: int, I: np.ndarray, J: np.ndarray, min_samples: int) -> np.ndarray:
    """sklearn DBSCAN labels (-1 = noise) from the eps-neighbour pairs (i < j) of n points."""
    degree = 1 + np.bincount(I, minlength=n) + np.bincount(J, minlength=n)
    core = degree >= min_samples
    labels = np.full(n, -1, dtype=np.int64)
    if not core.any():
        return labels
    both = core[I] & core[J]
    graph = coo_matrix((np.ones(int(both.sum()), dtype=np.int8), (I[both], J[both])), shape=(n, n)).tocsr()
    _, component = connected_components(graph, directed=False)
    core_idx = np.flatnonzero(core)
    comps, first = np.unique(component[core_idx], return_index=True)  # first core (lowest index) of each component
    cluster_of = np.full(component.max() + 1, -1, dtype=np.int64)
    cluster_of[comps[np.argsort(first)]] = np.arange(comps.size)
    labels[core_idx] = cluster_of[component[core_idx]]
    # border points: the earliest-created cluster among their core neighbours
    to_j = core[I] & ~core[J]
    to_i = core[J] & ~core[I]
    border = np.concatenate([J[to_j], I[to_i]])
    if border.size:
        via = np.concatenate([labels[I[to_j]], labels[J[to_i]]])
        best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(best, border, via)
        hit = np.unique(border)
        labels[hit] = best[hit]
    return labels


def fast_dbscan(X: np.ndarray, eps: float, min_samples: int = 2, **kwargs) -> np.ndarray:
    I, J, _ = radius_pairs(X, eps, **kwargs)
    return dbscan_from_pairs(len(X), I, J, min_samples)


def representatives(labels: np.ndarray) -> np.ndarray:
    """Keep-mask: every noise point and the first occurrence of every cluster."""
    keep = labels < 0
    values, first = np.unique(labels, return_index=True)
    keep[first[values >= 0]] = True
    return keep


def cluster_sizes(labels: np.ndarray) -> np.ndarray:
    """Sizes of clusters 0..k-1 (noise excluded)."""
    return np.bincount(labels[labels >= 0]) if (labels >= 0).any() else np.zeros(0, dtype=np.int64)


def split_giant(X: np.ndarray, labels: np.ndarray, keep: np.ndarray, eps: float, max_size: int) -> tuple[np.ndarray, list[int]]:
    """Within clusters larger than max_size keep a member unless an earlier kept member is within eps."""
    keep = keep.copy()
    sizes = cluster_sizes(labels)
    giant = [int(c) for c in np.flatnonzero(sizes > max_size)]
    for c in giant:
        members = np.flatnonzero(labels == c)
        V = normalized(X[members], np.float64)
        kept = np.empty_like(V)
        count = 0
        for row, index in enumerate(members):
            if count == 0 or (1.0 - (kept[:count] @ V[row])).min() > eps:
                kept[count] = V[row]
                count += 1
                keep[index] = True
            else:
                keep[index] = False
    return keep, giant


def sweep(n: int, I: np.ndarray, J: np.ndarray, D: np.ndarray, eps_values: list[float], min_samples: int) -> list[dict]:
    """Kept rows, clusters and largest cluster for each eps, from pairs found at max(eps_values)."""
    table = []
    for eps in sorted(eps_values):
        m = D <= eps
        labels = dbscan_from_pairs(n, I[m], J[m], min_samples)
        sizes = cluster_sizes(labels)
        kept = int(representatives(labels).sum())
        table.append({"eps": eps, "kept": kept, "removed": n - kept, "clusters": int(sizes.size),
                      "largest_cluster": int(sizes.max()) if sizes.size else 0, "noise": int((labels < 0).sum())})
    return table
