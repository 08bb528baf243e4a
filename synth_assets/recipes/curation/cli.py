"""`synth curate CONFIG`: register a collection, run its curation job through Dagster, print the summary (mounted by
`synth` through the recipe's `cli` hook)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from synth_assets.cli.common import console, fail, print_json, print_table, root
from synth_assets.cli.materialize import materialize, progress_tags
from synth_assets.core.lineage import Lineage
from synth_assets.core.root import lineage_path
from synth_assets.core.stores import open_store
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.llm.embeddings import EmbeddingModelError
from synth_assets.recipes.curation.pipeline import artifacts_key, read_report, register_collection

app = typer.Typer()


def curate(config: Path, root: str | Path, *, progress: bool = True, log_level: str = "WARNING") -> dict:
    """Register and materialize a collection in-process; return {registration, success, run_id, report, error, shared_path}."""
    store = open_store(str(root))
    reg = register_collection(config, store, Lineage(lineage_path(str(root))))
    rerun = dataclasses.replace(reg, complete=False)  # a complete collection runs again: every stage reused, nothing embedded
    outcome = materialize([rerun], str(root), log_level=log_level,
                          tags=progress_tags(progress)).get(reg.fingerprint)
    report = read_report(store, artifacts_key(reg.dataset, "deduplicated", reg.record["stages"]["deduplicated"])) or {}
    return {"registration": reg, "success": outcome is None or outcome.success, "run_id": outcome.run_id if outcome else None,
            "report": report, "error": outcome.error if outcome else None, "shared_path": store.experiment_uri(reg.dataset, reg.name)}


@app.command("curate")
def curate_command(
    config: Path = typer.Argument(..., exists=False, help="Collection YAML (sources, dedup, format)."),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Progress bars with ETA for embedding and clustering."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of tables."),
) -> None:
    """Merge, deduplicate (exact + semantic) and format a collection of sources; print the per-source summary."""
    if not config.is_file():
        raise fail(f"{config}: no such collection config")
    try:
        outcome = curate(config, root(), progress=progress)
    except (ConfigError, EmbeddingModelError, ValueError) as exc:
        raise fail(str(exc), 2) from None
    reg = outcome["registration"]
    report = outcome["report"]
    if json_out:
        print_json({"collection": reg.dataset, "fingerprint": reg.fingerprint, "semantic_name": reg.record["semantic_name"],
                    "success": outcome["success"], "run_id": outcome["run_id"], "shared_path": outcome["shared_path"],
                    "summary": report.get("summary", []), "sweep": report.get("sweep", []), "warnings": report.get("warnings", []),
                    "error": outcome["error"]})
    else:
        summary = report.get("summary", [])
        columns = list(summary[0]) if summary else ["source", "before", "after"]
        print_table(f"{reg.dataset} — {reg.record['semantic_name']} ({reg.fingerprint[:12]})", columns,
                    [[r.get(c) for c in columns] for r in summary])
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
