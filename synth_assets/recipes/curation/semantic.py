"""Semantic dedup of merged records: embed (cached), cluster (DBSCAN, cosine), keep representatives,
and write the artifacts: labels_eps{eps}.npy, clusters_top500.json, summary.csv, sweep.csv,
sweep.png, cluster_sizes.png, report.json; with the fuzzy step also labels_fuzzy{threshold}.npy,
fuzzy_clusters_top500.json and fuzzy_cluster_sizes.png."""

from __future__ import annotations

import csv
import json
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from synth_assets.recipes.curation.cluster import (
    cluster_sizes,
    dbscan_from_pairs,
    radius_pairs,
    representatives,
    split_giant,
    sweep,
)
from synth_assets.recipes.curation.config import DedupConfig
from synth_assets.recipes.curation.fuzzy import FuzzyResult
from synth_assets.recipes.curation.partition import partitioned_radius_pairs
from synth_assets.recipes.curation.plots import size_histogram, sweep_chart

TOP_CLUSTERS = 500


@dataclass
class SemanticResult:
    keep: np.ndarray
    labels: np.ndarray
    sweep: list[dict]
    sizes: np.ndarray
    giant: list[int]
    warnings: list[str] = field(default_factory=list)
    fuzzy: FuzzyResult | None = None  # the MinHash step that ran first, over all rows
    partitions: dict | None = None  # partition-then-exact statistics, when that mode ran

    def expand(self, n: int, rows: np.ndarray, fuzzy: FuzzyResult | None) -> "SemanticResult":
        """This result (computed on `rows` of n) indexed by all n rows: the others are not kept, label -1."""
        if fuzzy is None and rows.size == n:
            return self
        keep = np.zeros(n, dtype=bool)
        keep[rows] = self.keep
        labels = np.full(n, -1, dtype=np.int64)
        labels[rows] = self.labels
        return SemanticResult(keep, labels, self.sweep, self.sizes, self.giant, self.warnings, fuzzy, self.partitions)


def eps_label(eps: float) -> str:
    return f"{eps:g}"


def cluster_rows(vectors: np.ndarray, dedup: DedupConfig, *, progress: bool = False, log: Callable[[str], None] | None = None) -> SemanticResult:
    """Cluster at dedup.eps and every sweep eps (one pass at the largest eps)."""
    n = len(vectors)
    eps_values = sorted(set(dedup.sweep) | {dedup.eps})
    if n == 0:
        empty = np.zeros(0, dtype=np.int64)
        return SemanticResult(np.zeros(0, bool), empty, [], empty, [])
    part = dedup.partition
    partitions = None
    if part is not None and n > part.above:
        I, J, D, partitions = partitioned_radius_pairs(vectors, max(eps_values), rows_per_partition=part.rows_per_partition,
                                                       border_partitions=part.border_partitions, seed=part.seed, progress=progress)
        if log:
            log(f"partition-then-exact: {partitions['partitions']} k-means partitions, {partitions['border_rows']} border rows added")
    else:
        I, J, D = radius_pairs(vectors, max(eps_values), progress=progress, description=f"clustering {n} rows")
    m = D <= dedup.eps
    labels = dbscan_from_pairs(n, I[m], J[m], dedup.min_samples)
    keep = representatives(labels)
    sizes = cluster_sizes(labels)
    warnings = []
    giant = [int(c) for c in np.flatnonzero(sizes > dedup.max_cluster_size)]
    if giant:
        top = sorted((int(sizes[c]) for c in giant), reverse=True)[:5]
        warnings.append(
            f"{len(giant)} clusters exceed max_cluster_size={dedup.max_cluster_size} (largest: {top}); DBSCAN may be chaining "
            f"template-like texts at eps={dedup.eps}: lower eps, or set giant_clusters: split"
        )
        if dedup.giant_clusters == "split":
            keep, _ = split_giant(vectors, labels, keep, dedup.eps, dedup.max_cluster_size)
            warnings.append(f"giant clusters re-split greedily: {int(keep.sum())} rows kept")
    if log:
        for w in warnings:
            log(w)
    table = sweep(n, I, J, D, eps_values, dedup.min_samples)
    return SemanticResult(keep, labels, table, sizes, giant, warnings, partitions=partitions)


def per_source_summary(rows: list[dict], result: SemanticResult, merge_counts: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """Rows per source before, removed by each step, and after (a fuzzy_duplicates column only with the fuzzy step)."""
    after = Counter(r["source"] for r, k in zip(rows, result.keep) if k)
    after_fuzzy = Counter(r["source"] for r, k in zip(rows, result.fuzzy.keep) if k) if result.fuzzy is not None else None
    out = []
    for name, counts in merge_counts.items():
        before = counts["rows_read"]
        kept = after.get(name, 0)
        row = {"source": name, "before": before, "malformed": counts["malformed"], "exact_duplicates": counts["exact_duplicates"]}
        semantic_in = counts["after_exact"]
        if after_fuzzy is not None:
            semantic_in = after_fuzzy.get(name, 0)
            row["fuzzy_duplicates"] = counts["after_exact"] - semantic_in
        out.append({**row, "semantic_duplicates": semantic_in - kept, "after": kept, "removed": before - kept})
    total = {k: sum(r[k] for r in out) for k in out[0] if k != "source"} if out else {}
    if out:
        out.append({"source": "TOTAL", **total})
    return out


def top_clusters(rows: list[dict], labels: np.ndarray, sizes: np.ndarray, limit: int = TOP_CLUSTERS) -> list[dict]:
    order = np.argsort(-sizes, kind="stable")[:limit]
    members: dict[int, list[int]] = {int(c): [] for c in order}
    for index, label in enumerate(labels):
        if int(label) in members:
            members[int(label)].append(index)
    return [{
        "cluster": int(c), "size": int(sizes[c]),
        "kept": rows[members[int(c)][0]]["source_prompt_id"],
        "members": [{"source_prompt_id": rows[i]["source_prompt_id"], "text": rows[i]["_key"]} for i in members[int(c)]],
    } for c in order]


ARTIFACT_NAMES = {
    "clusters": "clusters_top500.json",
    "summary": "summary.csv",
    "sweep_table": "sweep.csv",
    "sweep_chart": "sweep.png",
    "size_histogram": "cluster_sizes.png",
    "report": "report.json",
}


def artifact_names(eps: float, fuzzy_threshold: float | None = None) -> dict[str, str]:
    names = {"labels": f"labels_eps{eps_label(eps)}.npy", **ARTIFACT_NAMES}
    if fuzzy_threshold is not None:
        names.update({"fuzzy_labels": f"labels_fuzzy{eps_label(fuzzy_threshold)}.npy", "fuzzy_clusters": "fuzzy_clusters_top500.json",
                      "fuzzy_size_histogram": "fuzzy_cluster_sizes.png"})
    return names


def write_artifacts(store, key: str, stage_fp: str, rows: list[dict], result: SemanticResult, dedup: DedupConfig,
                    summary: list[dict], report: dict) -> dict[str, str]:
    """Build every artifact in a local temporary folder, then commit them to the store under `key`
    in one `store.building` (atomic: the folder appears complete or not at all). Return their URIs."""
    names = artifact_names(dedup.eps, dedup.fuzzy.threshold if result.fuzzy is not None else None)
    uris = {k: store.uri(f"{key}/{v}") for k, v in names.items()}
    report["artifacts"] = uris
    with tempfile.TemporaryDirectory(prefix="curation-artifacts-") as tmpdir:
        tmp = Path(tmpdir)
        np.save(tmp / names["labels"], result.labels)
        (tmp / names["clusters"]).write_text(json.dumps(top_clusters(rows, result.labels, result.sizes), ensure_ascii=False, indent=1), encoding="utf-8")
        _csv(tmp / names["summary"], summary)
        _csv(tmp / names["sweep_table"], result.sweep)
        sweep_chart(result.sweep, dedup.eps, tmp / names["sweep_chart"], len(rows))
        size_histogram(result.sizes, tmp / names["size_histogram"])
        if result.fuzzy is not None:
            f = result.fuzzy
            np.save(tmp / names["fuzzy_labels"], f.labels)
            (tmp / names["fuzzy_clusters"]).write_text(json.dumps(top_clusters(rows, f.labels, f.sizes), ensure_ascii=False, indent=1), encoding="utf-8")
            size_histogram(f.sizes, tmp / names["fuzzy_size_histogram"])
        (tmp / names["report"]).write_text(json.dumps(report, indent=2, default=str), encoding="utf-8")
        with store.building(key, stage_fp) as out:
            for name in names.values():
                out.copy_file(tmp / name, name)
    return uris


def _csv(path: Path, rows: list[dict]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        if not rows:
            return
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
