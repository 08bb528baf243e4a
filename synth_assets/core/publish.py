"""Publishing: the files every experiment folder under `_shared/` has, and what follows a publish.

A recipe writes its data files into the folder being built; this module adds
`experiment_metadata.json`, `generation_config.yaml` and `README.md`, and after the folder is
complete marks the experiment complete in lineage and links the view of every batch that uses it.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from synth_assets.core.fingerprint import short
from synth_assets.core.lineage import Lineage
from synth_assets.core.store import METADATA_FILE, DirWriter, Store


def experiment_metadata(record: dict[str, Any], summary: dict[str, Any]) -> dict[str, Any]:
    config = record.get("config") or {}
    experiment = config.get("experiment") or {}
    return {
        "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "origin_batch": record["origin_batch"],
        "registered_at": record["created_at"],
        "recipe": record["recipe"],
        "purpose": experiment.get("purpose"),
        "description": experiment.get("description") or config.get("description", ""),
        "source_file": record.get("source_file"),
        "dataset_name": record["dataset"],
        "semantic_name": record["semantic_name"],
        "parameter_fingerprint": record["fingerprint"],
        "fingerprint_short": short(record["fingerprint"]),
        "fingerprint_scheme": record["scheme"],
        "stage_fingerprints": record["stages"],
        "params": record["params"],
        "summary": summary,
    }


def readme(record: dict[str, Any], summary: dict[str, Any], extra_lines: list[str]) -> str:
    lines = [
        f"# {record['dataset']} / {record['semantic_name']}",
        "",
        f"- fingerprint: `{record['fingerprint']}` (scheme {record['scheme']})",
        f"- recipe: {record['recipe']}; origin batch: {record['origin_batch']}, registered at {record['created_at']}",
        *extra_lines,
        "",
        "| file | rows |",
        "|---|---|",
        *[f"| {name} | {n} |" for name, n in summary.get("rows", {}).items()],
        "",
        f"- LLM tokens: {summary.get('prompt_tokens', 0)} prompt, {summary.get('completion_tokens', 0)} completion; "
        f"cost ${summary.get('cost_usd', 0.0):.4f}",
    ]
    return "\n".join(lines) + "\n"


def write_experiment_files(files: DirWriter, record: dict[str, Any], summary: dict[str, Any], extra_lines: list[str]) -> None:
    """The metadata, resolved config and README of a published experiment."""
    files.write_text(METADATA_FILE, json.dumps(experiment_metadata(record, summary), indent=2, ensure_ascii=False, default=str))
    files.write_text("generation_config.yaml", record["config_yaml"])
    files.write_text("README.md", readme(record, summary, extra_lines))


def link_views(store: Store, lineage: Lineage, record: dict[str, Any]) -> list[str]:
    """After a publish: the experiment is complete and every batch using it gets its view."""
    lineage.mark_complete(record["fingerprint"])
    members = [m["batch_id"] for m in lineage.batches_using(record["fingerprint"])]
    for batch_id in members:
        store.link(batch_id, record["dataset"], record["semantic_name"])
    return members
