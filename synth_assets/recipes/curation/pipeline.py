"""Curation without Dagster: fingerprints, registration, and the three stage computations.

Stages (each fingerprinted over its own parameters + its upstream stage fingerprint):

| stage        | parameters                                                                 |
|--------------|----------------------------------------------------------------------------|
| merged       | collection, every source (type, path, hf spec, style, field map, limit, malformed bound, sha256 of its data), by, exact, casefold |
| deduplicated | semantic on/off, model id (name + digest of the model files), backend, eps, min_samples, sweep, max_cluster_size, giant_clusters; `fuzzy` and `partition` only when set (older configs keep their fingerprints) |
| published    | output formats                                                             |

Not fingerprinted (scheduling only): batch_size, chunk_size, device, cache folder, progress,
description, batch_id. The embedding cache is keyed by (model id, text) only, so it is shared
by every eps, collection and run.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from synth_assets.core.fingerprint import Fingerprints, short, stage_fingerprints
from synth_assets.core.lineage import Lineage
from synth_assets.core.registry import Registration, draft_record, register_record
from synth_assets.core.store import DirWriter, Store, jsonl_bytes
from synth_assets.llm.embeddings import Encoder, model_id
from synth_assets.recipes.base import Published
from synth_assets.recipes.curation.config import Collection, load_collection
from synth_assets.recipes.curation.embedding_cache import EmbeddingCache, EmbedStats
from synth_assets.recipes.curation.formats import format_rows
from synth_assets.recipes.curation.fuzzy import ENGINE as FUZZY_ENGINE
from synth_assets.recipes.curation.fuzzy import SEED as FUZZY_SEED
from synth_assets.recipes.curation.fuzzy import fuzzy_dedup
from synth_assets.recipes.curation.merge import MergeResult, merge_sources
from synth_assets.recipes.curation.semantic import (
    SemanticResult,
    cluster_rows,
    per_source_summary,
)
from synth_assets.recipes.curation.sources import load_source, source_content_hash

SCHEME = "synth-curation/1"
STAGES = ("merged", "deduplicated", "published")
RECIPE = "curation"


def compute_fingerprints(col: Collection) -> Fingerprints:
    cfg = col.config
    sources = []
    for s in col.sources:
        spec = s.model_dump(mode="json", exclude={"description"})
        spec["data_sha256"] = source_content_hash(s)
        sources.append(spec)
    merged = {"collection": cfg.collection, "sources": sources, "by": cfg.dedup.by, "exact": cfg.dedup.exact, "casefold": cfg.dedup.casefold}
    d = cfg.dedup
    dedup: dict[str, Any] = {"semantic": d.semantic}
    if d.semantic:
        dedup.update({"model": model_id(d.model, d.backend), "backend": d.backend, "eps": d.eps, "min_samples": d.min_samples,
                      "sweep": d.sweep, "max_cluster_size": d.max_cluster_size, "giant_clusters": d.giant_clusters})
    if d.fuzzy is not None:
        dedup["fuzzy"] = {**d.fuzzy.model_dump(mode="json"), "engine": FUZZY_ENGINE, "seed": FUZZY_SEED}
    if d.semantic and d.partition is not None:
        dedup["partition"] = d.partition.model_dump(mode="json")
    stages = stage_fingerprints(SCHEME, {"merged": merged, "deduplicated": dedup, "published": {"formats": cfg.formats}})
    params = {"merged": {"scheme": SCHEME, "stage": "merged", **merged}, "deduplicated": dedup, "formats": cfg.formats}
    return Fingerprints(SCHEME, stages, params)


def _slug(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".").replace(".", "")


def semantic_name(col: Collection) -> str:
    """`sft_prompt_eps02_minilm`: format, dedup key, eps and embedding model."""
    d = col.config.dedup
    by = "prompt" if d.by == "prompt" else "promptsol"
    model = "".join(c for c in Path(d.model).name.lower().replace("all-minilm-l6-v2", "minilm") if c.isalnum())[:16] or "model"
    sem = f"eps{_slug(d.eps)}_{model}" if d.semantic else "exact"
    fuzzy = f"_mh{_slug(d.fuzzy.threshold)}" if d.fuzzy is not None else ""
    return f"{col.config.formats[0]}_{by}_{sem}{fuzzy}"


def register_collection(col: Collection | str | Path, store: Store, lineage: Lineage, today: dt.date | None = None) -> Registration:
    """Fingerprint a collection and register it in its batch (idempotent)."""
    if not isinstance(col, Collection):
        col = load_collection(col)
    fps = compute_fingerprints(col)
    config = col.config.model_dump(mode="json")
    draft = draft_record(fps, dataset=col.name, recipe=RECIPE, config=config, source_file=col.path,
                         config_yaml=yaml.safe_dump(config, sort_keys=False, allow_unicode=True), kind="curation",
                         source_files=col.source_files)
    return register_record(draft, semantic_name(col), store, lineage, batch_id=col.config.resolved_batch_id(today), purpose="curation",
                           description=col.config.description, job=col, fingerprints=fps)


def check_unchanged(col: Collection, record: dict[str, Any]) -> None:
    """Refuse to materialize a registration whose sources changed since (it would lie about its fingerprint)."""
    current = compute_fingerprints(col)
    if current.experiment != record["fingerprint"]:
        raise RuntimeError(
            f"collection {col.name} ({short(record['fingerprint'])}) no longer matches its inputs (now {short(current.experiment)}): "
            "a source file or the embedding model changed since it was registered; run `synth curate` on the config again"
        )


def artifacts_key(collection: str, stage: str, stage_fp: str) -> str:
    """Store key of a stage's artifacts (labels, cluster JSON, CSVs, PNGs, report.json)."""
    return f"_artifacts/{collection}/{stage}/{stage_fp[:16]}"


def read_report(store: Store, key: str) -> dict[str, Any] | None:
    try:
        return json.loads(store.read_bytes(f"{key}/report.json"))
    except FileNotFoundError:
        return None


# --- stage computations ---------------------------------------------------------------------------

def run_merge(col: Collection, log: Callable[[str], None] | None = None) -> tuple[MergeResult, list[dict[str, Any]]]:
    """(merge result, malformed rows as {source, row, reason})."""
    loaded = [load_source(s) for s in col.sources]
    malformed = [{"source": s.name, **m} for s in loaded for m in s.malformed]
    if log:
        for s in loaded:
            if s.malformed:
                shown = "; ".join(f"row {m['row']}: {m['reason']}" for m in s.malformed[:3])
                log(f"source {s.name}: {len(s.malformed)} malformed rows skipped and reported ({shown})")
    result = merge_sources(loaded, by=col.config.dedup.by, exact=col.config.dedup.exact, casefold=col.config.dedup.casefold)
    return result, malformed


def write_merge_artifacts(store: Store, key: str, stage_fp: str, result: MergeResult, malformed: list[dict]) -> dict[str, Any]:
    report = {"per_source": result.per_source, "malformed": len(malformed), "malformed_rows": malformed[:50],
              "malformed_path": store.uri(f"{key}/malformed.jsonl")}
    with store.building(key, stage_fp) as out:
        out.write_text("report.json", json.dumps(report, indent=2, default=str))
        out.write_bytes("malformed.jsonl", jsonl_bytes(malformed))
    return report


def run_semantic(
    rows: list[dict[str, Any]], col: Collection, cache: EmbeddingCache, encoder: Encoder | None, *,
    progress: bool = False, log: Callable[[str], None] | None = None,
) -> tuple[list[dict[str, Any]], SemanticResult, EmbedStats]:
    """The deduplicated stage: the fuzzy (MinHash) step when configured, then the semantic step on
    the rows it kept. Result arrays are indexed by `rows`; a row removed by the fuzzy step has
    semantic label -1."""
    d = col.config.dedup
    n = len(rows)
    fuzzy = None
    if d.fuzzy is not None and rows:
        fuzzy = fuzzy_dedup([r["_key"] for r in rows], d.fuzzy.threshold, d.fuzzy.ngram, d.fuzzy.num_perm)
        if log:
            log(f"fuzzy dedup: {fuzzy.pairs} pairs at Jaccard >= {d.fuzzy.threshold} ({fuzzy.candidates} LSH candidates), "
                f"{len(fuzzy.sizes)} clusters, {int(fuzzy.keep.sum())} of {n} rows kept")
    alive = np.flatnonzero(fuzzy.keep) if fuzzy is not None else np.arange(n)
    if not d.semantic or not rows:
        res = SemanticResult(np.zeros(n, bool), np.full(n, -1, np.int64), [], np.zeros(0, np.int64), [], fuzzy=fuzzy)
        res.keep[alive] = True
        return [rows[i] for i in alive], res, EmbedStats(texts=len(alive))
    encoder = encoder or Encoder(d.model, d.backend, d.batch_size)
    vectors, stats = cache.embed([rows[i]["_key"] for i in alive], encoder, chunk_size=d.chunk_size, progress=progress,
                                 description=f"embedding {col.name}", log=log)
    result = cluster_rows(vectors, d, progress=progress, log=log).expand(n, alive, fuzzy)
    kept = [r for r, k in zip(rows, result.keep) if k]
    return kept, result, stats


def semantic_report(rows: list[dict], result: SemanticResult, stats: EmbedStats, col: Collection, merge_counts: dict) -> tuple[list[dict], dict]:
    summary = per_source_summary(rows, result, merge_counts)
    sizes = sorted((int(s) for s in result.sizes), reverse=True)
    report = {
        "eps": col.config.dedup.eps, "min_samples": col.config.dedup.min_samples, "model": col.config.dedup.model,
        "by": col.config.dedup.by, "rows_in": len(rows), "rows_kept": int(result.keep.sum()),
        "clusters": len(sizes), "largest_clusters": sizes[:10], "giant_clusters": len(result.giant),
        "warnings": result.warnings, "embedding": stats.as_dict(), "sweep": result.sweep, "summary": summary,
    }
    if result.partitions is not None:
        report["partitions"] = result.partitions
    if result.fuzzy is not None:
        f, cfg = result.fuzzy, col.config.dedup.fuzzy
        fuzzy_sizes = sorted((int(s) for s in f.sizes), reverse=True)
        report["fuzzy"] = {**cfg.model_dump(mode="json"), "engine": FUZZY_ENGINE, "bands": f.bands, "rows_in": len(rows),
                           "rows_kept": int(f.keep.sum()), "candidates": f.candidates, "pairs": f.pairs,
                           "clusters": len(fuzzy_sizes), "largest_clusters": fuzzy_sizes[:10], "seconds": f.seconds}
    return summary, report


def publish_files(files: DirWriter, col: Collection, outputs: dict[str, list[dict]], summary_csv: bytes | None) -> Published:
    """One JSONL per format (+ summary.csv) in the experiment folder being built."""
    collection = col.name
    for fmt, rows in outputs.items():
        files.write_bytes(f"{collection}/{collection.lower()}_{fmt}.jsonl", jsonl_bytes(rows))
    if summary_csv is not None:
        files.write_bytes("summary.csv", summary_csv)
    first = col.config.formats[0]
    return Published(f"{collection}/{collection.lower()}_{first}.jsonl", {fmt: len(r) for fmt, r in outputs.items()},
                     {"collection": collection, "formats": list(outputs)})


def run_formats(rows: list[dict], col: Collection) -> dict[str, list[dict]]:
    styles = {s.name: s.style for s in col.sources}
    return {fmt: format_rows(rows, fmt, styles) for fmt in col.config.formats}
