"""Dagster assets of the curation pipeline, partitioned by (collection, fingerprint).

    curation/merged        stage "merged"        sources -> unified prompt records, exact dedup
    curation/deduplicated  stage "deduplicated"  embeddings (cached) + DBSCAN -> representatives
    curation/formatted     stage "published"     SFT / CoT / preference rows, published to _shared/

Partitions: dimension `dataset` (the collection name, dynamic set `curation_collection`) x
`fingerprint` (12-char prefix, dynamic set `curation_fingerprint`). Outputs go through the
shared-store IO manager (`shared_store`); a stage whose fingerprint is complete is reused.
Artifacts (labels .npy, cluster JSON, CSVs, PNGs) live in `{root}/_artifacts/{collection}/{stage}/{fp16}/`.
"""


import datetime as dt
from collections.abc import Iterator
from typing import Any

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetIn,
    AssetKey,
    AssetSelection,
    Definitions,
    DynamicPartitionsDefinition,
    MetadataValue,
    MultiPartitionsDefinition,
    Output,
    asset,
    define_asset_job,
)

from io_managers.shared_store import SharedStoreIOManager, StageOutput, partition_dims
from synth_assets.defs.curation.resources import EmbeddingsResource
from resources.store import StoreResource
from synth_assets.core.store import Store
from synth_assets.assets.factory import ONE_RUN_PER_PARTITION
from synth_assets.recipes.curation.config import Collection, collection_from_record
from synth_assets.recipes.curation.formats import REQUIRED
from synth_assets.recipes.curation.pipeline import (
    artifacts_key,
    check_unchanged,
    output_key,
    publish,
    read_report,
    run_formats,
    run_merge,
    run_semantic,
    semantic_report,
    write_merge_artifacts,
)
from synth_assets.recipes.curation.plots import markdown_image_bytes, markdown_table
from synth_assets.recipes.curation.semantic import artifact_names, write_artifacts

GROUP = "curation"
JOB_NAME = "curation_job"
PARTITION_SETS = {"dataset": "curation_collection", "fingerprint": "curation_fingerprint"}
curation_partitions = MultiPartitionsDefinition({dim: DynamicPartitionsDefinition(name=name) for dim, name in PARTITION_SETS.items()})
KEYS = {"merged": AssetKey([GROUP, "merged"]), "deduplicated": AssetKey([GROUP, "deduplicated"]), "published": AssetKey([GROUP, "formatted"])}
PROGRESS_TAG = "synth/progress"  # "off" disables the progress bars of a run


def _load(context: AssetExecutionContext, synth: StoreResource) -> tuple[Collection, dict[str, Any], str]:
    collection, fingerprint = partition_dims(context.partition_key)
    record = synth.store.registration(fingerprint)
    if record.get("kind") != "curation":
        raise ValueError(f"fingerprint {fingerprint} is not a curation collection (recipe {record.get('recipe')})")
    if record["dataset"] != collection:
        raise ValueError(f"fingerprint {fingerprint} belongs to collection {record['dataset']}, not {collection}")
    return collection_from_record(record), record, collection


def _upstream(context, store, collection: str, stage: str, record: dict) -> list[dict[str, str]]:
    return [{"asset": KEYS[stage].to_user_string(), "partition_key": str(context.partition_key),
             "path": store.uri(store.stage_key(collection, stage, record["stages"][stage]) + "/data.jsonl")}]


def _source_lineage(context, synth: StoreResource, col: Collection, record: dict, stage: str, counts: dict[str, int], started, reused: bool) -> None:
    """One lineage row per source and stage: how many of its rows survived this stage."""
    for source in col.sources:
        where = source.path or source.hf.path
        synth.lineage.record_materialization(
            asset=f"{KEYS[stage].to_user_string()}/source={source.name}", partition_key=str(context.partition_key),
            dataset=col.name, fingerprint=record["fingerprint"], stage_fingerprint=record["stages"][stage], run_id=context.run.run_id,
            path=where, rows=int(counts.get(source.name, 0)), content_hash=None, reused=reused, started_at=started,
            ended_at=dt.datetime.now(dt.timezone.utc), upstream=[{"asset": f"source:{source.name}", "partition_key": None, "path": where}],
        )


def _checks(rows: list[dict] | None, required: list[str]) -> Iterator[AssetCheckResult]:
    rows = rows or []
    yield AssetCheckResult(check_name="non_empty", passed=bool(rows), metadata={"rows": len(rows)})
    bad = sum(1 for r in rows if any(f not in r for f in required))
    yield AssetCheckResult(check_name="schema", passed=not bad, metadata={"required_fields": ", ".join(required), "rows_missing_fields": bad})


def _checks_specs(key: AssetKey, extra: list[AssetCheckSpec] = ()) -> list[AssetCheckSpec]:
    return [AssetCheckSpec("non_empty", asset=key), AssetCheckSpec("schema", asset=key), *extra]


def _progress(context: AssetExecutionContext, embeddings: EmbeddingsResource) -> bool:
    return embeddings.progress and context.run.tags.get(PROGRESS_TAG) != "off"


def _image(store, key: str, name: str, alt: str) -> str:
    try:
        return "\n\n" + markdown_image_bytes(store.read_bytes(f"{key}/{name}"), alt)
    except FileNotFoundError:
        return ""


MERGED_FIELDS = ["all_prompt_id", "source_prompt_id", "source", "prompt", "metadata"]


def _stored_report(store: Store, out: StageOutput, art_key: str) -> dict[str, Any] | None:
    """The report of a stage already complete in the store (and `out` marked reused), else None."""
    report = read_report(store, art_key) if store.stage_complete(out.dataset, out.stage, out.stage_fingerprint) else None
    if report is not None:
        out.reused = True
        out.key = store.stage_key(out.dataset, out.stage, out.stage_fingerprint) + "/data.jsonl"
    return report


@asset(key=KEYS["merged"], partitions_def=curation_partitions, backfill_policy=ONE_RUN_PER_PARTITION, io_manager_key="shared_store", metadata={"stage": "merged"},
       group_name=GROUP, check_specs=_checks_specs(KEYS["merged"]),
       description="All sources as unified prompt records; identical prompts removed (first kept)")
def curation_merged(context: AssetExecutionContext, synth: StoreResource):
    started = dt.datetime.now(dt.timezone.utc)
    col, record, collection = _load(context, synth)
    store, stage = synth.store, "merged"
    stage_fp = record["stages"][stage]
    check_unchanged(col, record)
    upstream = [{"asset": f"source:{s.name}", "partition_key": None, "path": s.path or s.hf.path} for s in col.sources]
    out = StageOutput(stage=stage, dataset=collection, record=record, rows=None, reused=False, started_at=started, upstream=upstream)
    art_key = artifacts_key(collection, stage, stage_fp)
    report = _stored_report(store, out, art_key)
    if report is not None:
        context.log.info(f"stage merged {stage_fp[:12]} already in the store: reused")
    else:
        result, malformed = run_merge(col, log=context.log.warning)
        report = write_merge_artifacts(store, art_key, stage_fp, result, malformed)
        out.rows = result.rows
    per_source = report["per_source"]
    table = [{"source": n, **c} for n, c in per_source.items()]
    malformed_table = markdown_table(report.get("malformed_rows", [])) if report.get("malformed_rows") else "none"
    out.metadata.update({
        "per_source": MetadataValue.md(markdown_table(table)),
        "malformed_rows": int(report["malformed"]),
        "malformed": MetadataValue.md(malformed_table),
        "malformed_path": MetadataValue.path(report["malformed_path"]),
        "exact_duplicates": sum(c["exact_duplicates"] for c in per_source.values()),
    })
    _source_lineage(context, synth, col, record, stage, {n: c["after_exact"] for n, c in per_source.items()}, started, out.reused)
    rows = out.read_rows(store)
    yield Output(out)
    yield from _checks(rows, MERGED_FIELDS)


@asset(key=KEYS["deduplicated"], ins={"merged": AssetIn(key=KEYS["merged"])}, partitions_def=curation_partitions, backfill_policy=ONE_RUN_PER_PARTITION,
       io_manager_key="shared_store", metadata={"stage": "deduplicated"}, group_name=GROUP,
       check_specs=_checks_specs(KEYS["deduplicated"], [AssetCheckSpec("cluster_size_bound", asset=KEYS["deduplicated"],
                                                                       description="no cluster above dedup.max_cluster_size")]),
       description="Semantic dedup: cached embeddings + DBSCAN (cosine); one representative per cluster + all noise points")
def curation_deduplicated(context: AssetExecutionContext, synth: StoreResource, embeddings: EmbeddingsResource, merged: list[dict]):
    started = dt.datetime.now(dt.timezone.utc)
    col, record, collection = _load(context, synth)
    store, stage = synth.store, "deduplicated"
    stage_fp = record["stages"][stage]
    out = StageOutput(stage=stage, dataset=collection, record=record, rows=None, reused=False, started_at=started,
                      upstream=_upstream(context, store, collection, "merged", record))
    art_key = artifacts_key(collection, stage, stage_fp)
    report = _stored_report(store, out, art_key)
    if report is not None:
        context.log.info(f"stage deduplicated {stage_fp[:12]} already in the store: reused, nothing embedded")
    else:
        check_unchanged(col, record)  # the embedding model may have changed since the merged stage ran
        d = col.config.dedup
        cache = embeddings.cache(store.root_uri)
        encoder = embeddings.encoder(d.model, d.backend, d.batch_size) if d.semantic else None
        if embeddings.chunk_size:
            d = d.model_copy(update={"chunk_size": embeddings.chunk_size})
            col = Collection(config=col.config.model_copy(update={"dedup": d}), path=col.path, source_files=col.source_files)
        kept, result, stats = run_semantic(merged, col, cache, encoder, progress=_progress(context, embeddings), log=context.log.warning)
        merge_counts = read_report(store, artifacts_key(collection, "merged", record["stages"]["merged"]))["per_source"]
        summary, report = semantic_report(merged, result, stats, col, merge_counts)
        write_artifacts(store, art_key, stage_fp, merged, result, col.config.dedup, summary, report)
        context.log.info(f"embeddings: {stats.hits} cached, {stats.embedded} embedded ({stats.seconds}s); "
                         f"kept {report['rows_kept']} of {report['rows_in']} rows")
        out.rows = kept
    art = report.get("artifacts", {})
    names = artifact_names(float(report["eps"]))
    out.metadata.update({
        "per_source": MetadataValue.md(markdown_table(report["summary"])),
        "eps_sweep": MetadataValue.md(markdown_table(report["sweep"]) + _image(store, art_key, names["sweep_chart"], "rows kept vs eps")),
        "cluster_sizes": MetadataValue.md(f"largest clusters: {report['largest_clusters']}" + _image(store, art_key, names["size_histogram"], "cluster sizes")),
        "largest_cluster": int(report["largest_clusters"][0]) if report["largest_clusters"] else 0,
        "clusters": int(report["clusters"]),
        "embedding_cache_hits": int(report["embedding"].get("hits", 0)),
        "texts_embedded": int(report["embedding"].get("embedded", 0)),
        "eps": float(report["eps"]),
        "warnings": "\n".join(report["warnings"]) or "none",
        **{f"artifact_{k}": MetadataValue.path(v) for k, v in art.items()},
    })
    _source_lineage(context, synth, col, record, stage, {r["source"]: r["after"] for r in report["summary"] if r["source"] != "TOTAL"}, started, out.reused)
    rows = out.read_rows(store)
    yield Output(out)
    yield from _checks(rows, MERGED_FIELDS)
    giant = int(report.get("giant_clusters", 0))
    yield AssetCheckResult(check_name="cluster_size_bound", passed=giant == 0, severity=AssetCheckSeverity.WARN,
                           metadata={"giant_clusters": giant, "max_cluster_size": col.config.dedup.max_cluster_size,
                                     "largest": int(report["largest_clusters"][0]) if report["largest_clusters"] else 0})


@asset(key=KEYS["published"], ins={"deduplicated": AssetIn(key=KEYS["deduplicated"])}, partitions_def=curation_partitions, backfill_policy=ONE_RUN_PER_PARTITION,
       io_manager_key="shared_store", metadata={"stage": "published"}, group_name=GROUP, check_specs=_checks_specs(KEYS["published"]),
       description="Unified SFT / CoT / preference rows, published to _shared/{collection}/{semantic_name}/")
def curation_formatted(context: AssetExecutionContext, synth: StoreResource, deduplicated: list[dict]):
    started = dt.datetime.now(dt.timezone.utc)
    col, record, collection = _load(context, synth)
    store = synth.store
    out = StageOutput(stage="published", dataset=collection, record=record, rows=None, reused=False, started_at=started,
                      upstream=_upstream(context, store, collection, "deduplicated", record))
    name, first = record["semantic_name"], col.config.formats[0]
    if store.is_complete(collection, name, record["fingerprint"]):
        out.reused = True
        out.key = output_key(record, first)
    else:
        outputs = run_formats(deduplicated, col)
        try:
            summary_csv = store.read_bytes(artifacts_key(collection, "deduplicated", record["stages"]["deduplicated"]) + "/summary.csv")
        except FileNotFoundError:
            summary_csv = None
        out.key, out.content_hash = publish(store, record, col, outputs, summary_csv)
        out.rows = outputs[first]
    out.metadata.update({"formats": ", ".join(col.config.formats),
                         "shared_path": MetadataValue.path(store.experiment_uri(collection, name))})
    rows = out.read_rows(store)
    yield Output(out)
    yield from _checks(rows, REQUIRED[first])


curation_assets = [curation_merged, curation_deduplicated, curation_formatted]
curation_job = define_asset_job(JOB_NAME, selection=AssetSelection.groups(GROUP))
curation_resources = {"embeddings": EmbeddingsResource()}


def curation_definitions(root: str | None = None) -> Definitions:
    """A self-contained code location with only the curation pipeline (tests, or before it is wired into `defs`)."""
    return Definitions(
        assets=curation_assets, jobs=[curation_job],
        resources={"shared_store": SharedStoreIOManager(root=root), "synth": StoreResource(root=root), **curation_resources},
    )
