"""Curation: merge sources into unified prompt records, deduplicate, format for training.

Stages: `merged` (unified prompt records, identical prompts removed) -> `deduplicated` (cached
embeddings + exact DBSCAN; one representative per cluster) -> `published` (asset `formatted`:
SFT / CoT / preference rows in `_shared/{collection}/{name}/`). Parameters per stage are listed in
`pipeline.py`; artifacts (labels, clusters, CSVs, PNGs) live in `{root}/_artifacts/{collection}/{stage}/{fp16}/`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from synth_assets.core.run_tags import PROGRESS_TAG
from synth_assets.core.store import DirWriter, Store
from synth_assets.recipes.base import Check, CheckResult, FilePath, Markdown, Published, Recipe, Rows, Stage, StageRun
from synth_assets.recipes.curation import export, resources
from synth_assets.recipes.curation.config import Collection, collection_from_record
from synth_assets.recipes.curation.formats import REQUIRED
from synth_assets.recipes.curation.pipeline import (
    RECIPE as NAME,
    artifacts_key,
    check_unchanged,
    publish_files,
    read_report,
    run_formats,
    run_merge,
    run_semantic,
    semantic_report,
    write_merge_artifacts,
)
from synth_assets.recipes.curation.plots import markdown_image_bytes, markdown_table
from synth_assets.recipes.curation.semantic import artifact_names, write_artifacts

MERGED_FIELDS = ["all_prompt_id", "source_prompt_id", "source", "prompt", "metadata"]


def load(record: dict[str, Any], store: Store) -> Collection:
    if record.get("kind") != "curation":
        raise ValueError(f"fingerprint {record['fingerprint'][:12]} is not a curation collection (recipe {record.get('recipe')})")
    col = collection_from_record(record)
    check_unchanged(col, record)
    return col


def _report(run: StageRun, stage: str | None = None) -> dict[str, Any]:
    name = stage or run.stage.name
    return read_report(run.store, artifacts_key(run.dataset, name, run.record["stages"][name])) or {}


def _source_lineage(run: StageRun, counts: dict[str, int]) -> None:
    """One lineage row per source and stage: how many of its rows survived this stage."""
    col: Collection = run.job
    now = dt.datetime.now(dt.timezone.utc)
    for source in col.sources:
        where = source.path or source.hf.path
        run.lineage.record_materialization(
            asset=f"{NAME}/{run.stage.asset}/source={source.name}", partition_key=run.partition_key, dataset=col.name,
            fingerprint=run.record["fingerprint"], stage_fingerprint=run.stage_fingerprint, run_id=run.run_id, path=where,
            rows=int(counts.get(source.name, 0)), content_hash=None, reused=False, started_at=now, ended_at=now,
            upstream=[{"asset": f"source:{source.name}", "partition_key": None, "path": where}])


def _merge(run: StageRun) -> Rows:
    col: Collection = run.job
    result, malformed = run_merge(col, log=run.log.warning)
    report = write_merge_artifacts(run.store, artifacts_key(col.name, "merged", run.stage_fingerprint), run.stage_fingerprint,
                                   result, malformed)
    _source_lineage(run, {n: c["after_exact"] for n, c in report["per_source"].items()})
    return result.rows


def _merged_metadata(run: StageRun, rows: Rows) -> dict[str, Any]:
    report = _report(run)
    per_source = report["per_source"]
    malformed = report.get("malformed_rows", [])
    return {
        "per_source": Markdown(markdown_table([{"source": n, **c} for n, c in per_source.items()])),
        "malformed_rows": int(report["malformed"]),
        "malformed": Markdown(markdown_table(malformed) if malformed else "none"),
        "malformed_path": FilePath(report["malformed_path"]),
        "exact_duplicates": sum(c["exact_duplicates"] for c in per_source.values()),
    }


def _deduplicate(run: StageRun) -> Rows:
    col: Collection = run.job
    embeddings = run.resources["embeddings"]
    d = col.config.dedup
    encoder = embeddings.encoder(d.model, d.backend, d.batch_size) if d.semantic else None
    if embeddings.chunk_size:
        d = d.model_copy(update={"chunk_size": embeddings.chunk_size})
        col = Collection(config=col.config.model_copy(update={"dedup": d}), path=col.path, source_files=col.source_files)
    progress = embeddings.progress and run.tags.get(PROGRESS_TAG) == "bar"
    kept, result, stats = run_semantic(run.upstream, col, embeddings.cache(), encoder, progress=progress,
                                       log=run.log.warning)
    summary, report = semantic_report(run.upstream, result, stats, col, _report(run, "merged")["per_source"])
    write_artifacts(run.store, artifacts_key(col.name, "deduplicated", run.stage_fingerprint), run.stage_fingerprint, run.upstream,
                    result, col.config.dedup, summary, report)
    run.log.info(f"embeddings: {stats.hits} cached, {stats.embedded} embedded ({stats.seconds}s); "
                 f"kept {report['rows_kept']} of {report['rows_in']} rows")
    _source_lineage(run, {r["source"]: r["after"] for r in report["summary"] if r["source"] != "TOTAL"})
    return kept


def _image(run: StageRun, name: str, alt: str) -> str:
    try:
        return "\n\n" + markdown_image_bytes(run.store.read_bytes(f"{artifacts_key(run.dataset, 'deduplicated', run.stage_fingerprint)}/{name}"), alt)
    except FileNotFoundError:
        return ""


def _deduplicated_metadata(run: StageRun, rows: Rows) -> dict[str, Any]:
    report = _report(run)
    names = artifact_names(float(report["eps"]))
    largest = report["largest_clusters"]
    return {
        "per_source": Markdown(markdown_table(report["summary"])),
        "eps_sweep": Markdown(markdown_table(report["sweep"]) + _image(run, names["sweep_chart"], "rows kept vs eps")),
        "cluster_sizes": Markdown(f"largest clusters: {largest}" + _image(run, names["size_histogram"], "cluster sizes")),
        "largest_cluster": int(largest[0]) if largest else 0,
        "clusters": int(report["clusters"]),
        "embedding_cache_hits": int(report["embedding"].get("hits", 0)),
        "texts_embedded": int(report["embedding"].get("embedded", 0)),
        "eps": float(report["eps"]),
        "warnings": "\n".join(report["warnings"]) or "none",
        **_fuzzy_metadata(run, report),
        **({f"partitions_{k}": v for k, v in report["partitions"].items() if isinstance(v, (int, float))} if report.get("partitions") else {}),
        **{f"artifact_{k}": FilePath(v) for k, v in report.get("artifacts", {}).items()},
    }


def _fuzzy_metadata(run: StageRun, report: dict[str, Any]) -> dict[str, Any]:
    """MinHash near-duplicate clusters, when the fuzzy mode ran."""
    fuzzy = report.get("fuzzy")
    if not fuzzy:
        return {}
    threshold = run.job.config.dedup.fuzzy.threshold
    histogram = _image(run, artifact_names(float(report["eps"]), threshold)["fuzzy_size_histogram"], "fuzzy cluster sizes")
    return {k if k.startswith("fuzzy") else f"fuzzy_{k}": v for k, v in fuzzy.items() if isinstance(v, (int, float))} | (
        {"fuzzy_cluster_sizes": Markdown(histogram)} if histogram else {})


def _cluster_size_bound(run: StageRun, rows: Rows) -> CheckResult:
    report = _report(run)
    giant = int(report.get("giant_clusters", 0))
    largest = report["largest_clusters"]
    return CheckResult(giant == 0, {"giant_clusters": giant, "max_cluster_size": run.job.config.dedup.max_cluster_size,
                                    "largest": int(largest[0]) if largest else 0})


def _publish(run: StageRun, rows: Rows, files: DirWriter) -> Published:
    col: Collection = run.job
    try:
        summary_csv = run.store.read_bytes(artifacts_key(col.name, "deduplicated", run.record["stages"]["deduplicated"]) + "/summary.csv")
    except FileNotFoundError:
        summary_csv = None
    return publish_files(files, col, run_formats(rows, col), summary_csv)


def _formatted_fields(col: Collection) -> list[str]:
    return REQUIRED[col.config.formats[0]]


RECIPE = Recipe(
    name=NAME,
    description="Merge prompt sources into unified records, deduplicate (exact + semantic), format for SFT / CoT / preference training.",
    stages=(
        Stage("merged", "merged", "All sources as unified prompt records; identical prompts removed (first kept).", _merge,
              reads_upstream=False, required_fields=lambda col: MERGED_FIELDS, metadata=_merged_metadata),
        Stage("deduplicated", "deduplicated", "Semantic dedup: cached embeddings + DBSCAN (cosine); one representative per cluster + all noise points.",
              _deduplicate, resources=("embeddings",), required_fields=lambda col: MERGED_FIELDS, metadata=_deduplicated_metadata,
              checks=(Check("cluster_size_bound", "No cluster above dedup.max_cluster_size.", _cluster_size_bound, warn_only=True),)),
        Stage("published", "formatted", "Unified SFT / CoT / preference rows, published to _shared/{collection}/{semantic_name}/.",
              lambda run: run.upstream, required_fields=_formatted_fields),
    ),
    load=load,
    publish=_publish,
    dimension="collection",
    readme_lines=lambda record, summary: [f"- formats: {', '.join(record['params']['formats'])}"],
    cli="synth_assets.recipes.curation.cli:app",
    resources={"embeddings": resources.for_root},
    export_configs=export.export_configs,
    export_sources=export.export_sources,
)
