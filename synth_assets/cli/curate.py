"""`synth curate CONFIG`: register a collection, run its curation job through Dagster, print the summary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer
from dagster import DagsterInstance, JobDefinition, MultiPartitionKey

from synth_assets.core.yaml_lines import ConfigError
from synth_assets.recipes.curation.embeddings import EmbeddingModelError

JobProvider = Callable[[], JobDefinition]


def default_job() -> JobDefinition:
    """The curation job of the code location (`synth_assets.definitions.defs`), else a standalone one."""
    from synth_assets.defs.curation.assets import JOB_NAME, curation_definitions

    try:
        from synth_assets.definitions import defs

        return defs.resolve_job_def(JOB_NAME)
    except Exception:  # not wired into the code location (yet)
        return curation_definitions().resolve_job_def(JOB_NAME)


_job_provider: JobProvider = default_job


def set_job_provider(provider: JobProvider) -> None:
    """Point `synth curate` at another job source (e.g. `lambda: defs.resolve_job_def("curation_job")`)."""
    global _job_provider
    _job_provider = provider


def add_partitions(instance: DagsterInstance, partition_key: dict[str, str]) -> None:
    from synth_assets.defs.curation.assets import PARTITION_SETS

    for dim, key in partition_key.items():
        if not instance.has_dynamic_partition(PARTITION_SETS[dim], key):
            instance.add_dynamic_partitions(PARTITION_SETS[dim], [key])


def curate(config: Path, root: str | Path, *, progress: bool = True, log_level: str = "WARNING", job: JobDefinition | None = None,
           instance: DagsterInstance | None = None) -> dict:
    """Register and materialize a collection in-process; return {registration, success, run_id, summary}."""
    from synth_assets.core.lineage import Lineage
    from synth_assets.core.root import lineage_path
    from synth_assets.core.store import Store
    from synth_assets.recipes.curation.pipeline import artifacts_key, read_report, register_collection
    from synth_assets.cli.materialize import dagster_instance

    store = Store(str(root))
    reg = register_collection(config, store, Lineage(lineage_path(str(root))))
    instance = instance or dagster_instance(str(root))
    add_partitions(instance, reg.partition_key)
    job = job or _job_provider()
    result = job.execute_in_process(
        partition_key=MultiPartitionKey(reg.partition_key), instance=instance, raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        tags={"synth/batch": reg.batch_id, "synth/progress": "bar" if progress else "off"},
    )
    report = read_report(store, artifacts_key(reg.collection.name, "deduplicated", reg.fingerprints.deduplicated)) or {}
    error = None
    if not result.success:
        for event in result.all_events:
            if event.is_failure and event.step_failure_data is not None:
                error = event.step_failure_data.error.message.strip()
                break
    return {"registration": reg, "success": result.success, "run_id": result.run_id, "report": report, "error": error,
            "shared_path": store.experiment_uri(reg.collection.name, reg.record["semantic_name"])}


def curate_command(
    config: Path = typer.Argument(..., exists=False, help="Collection YAML (sources, dedup, format)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bars with ETA for embedding and clustering."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Merge, deduplicate (exact + semantic) and format a collection of sources; print the per-source summary."""
    from synth_assets.cli.common import console, fail, print_json, print_table
    from synth_assets.core.root import default_root

    if not config.is_file():
        raise fail(f"{config}: no such collection config")
    try:
        root = default_root()
        outcome = curate(config, root if str(root).startswith("s3://") else Path(root).resolve(), progress=progress)
    except (ConfigError, EmbeddingModelError, ValueError) as exc:
        raise fail(str(exc)) from None
    reg = outcome["registration"]
    report = outcome["report"]
    if json_out:
        print_json({"collection": reg.collection.name, "fingerprint": reg.fingerprint, "semantic_name": reg.record["semantic_name"],
                    "success": outcome["success"], "run_id": outcome["run_id"], "shared_path": outcome["shared_path"],
                    "summary": report.get("summary", []), "sweep": report.get("sweep", []), "warnings": report.get("warnings", []),
                    "error": outcome["error"]})
    else:
        columns = ["source", "before", "malformed", "exact_duplicates", "semantic_duplicates", "after", "removed"]
        print_table(f"{reg.collection.name} — {reg.record['semantic_name']} ({reg.fingerprint[:12]})", columns,
                    [[r.get(c) for c in columns] for r in report.get("summary", [])])
        if report.get("sweep"):
            print_table("eps sweep", ["eps", "kept", "removed", "clusters", "largest_cluster"],
                        [[r["eps"], r["kept"], r["removed"], r["clusters"], r["largest_cluster"]] for r in report["sweep"]])
        for warning in report.get("warnings", []):
            console.print(f"[yellow]warning:[/] {warning}")
        emb = report.get("embedding", {})
        if emb:
            console.print(f"embeddings: {emb.get('hits', 0)} cached, {emb.get('embedded', 0)} embedded ({emb.get('model_id')})")
        console.print(f"output: {outcome['shared_path']}")
    if not outcome["success"]:
        raise fail(f"curation run {outcome['run_id']} failed: {outcome['error']}")
