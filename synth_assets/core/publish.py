"""Publishing: the training-ready experiment folder under `_shared/`."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

from synth_assets.core.config import Experiment
from synth_assets.core.fingerprint import short
from synth_assets.core.store import Store, building, write_jsonl


def _readme(record: dict[str, Any], summary: dict[str, Any]) -> str:
    gen = record["params"]["generation"]
    lines = [
        f"# {record['dataset']} / {record['semantic_name']}",
        "",
        f"- fingerprint: `{record['fingerprint']}` (scheme {record['scheme']})",
        f"- origin batch: {record['origin_batch']}, created at {record['created_at']}",
        f"- recipe: {record['recipe']}; backend {gen['backend']}, model {gen['model']}",
        f"- temperature {gen['temperature']}, top_p {gen['top_p']}, max_tokens {gen['max_tokens']}",
        "",
        "| split | rows |",
        "|---|---|",
        *[f"| {split} | {n} |" for split, n in summary["rows"].items()],
        "",
        f"- validation pass rate: {summary.get('pass_rate', 'n/a')}",
        f"- LLM tokens: {summary.get('prompt_tokens', 0)} prompt, {summary.get('completion_tokens', 0)} completion; "
        f"cost ${summary.get('cost_usd', 0.0):.4f}",
    ]
    return "\n".join(lines) + "\n"


def publish_experiment(store: Store, exp: Experiment, record: dict[str, Any], train_rows: list[dict], summary: dict[str, Any]) -> tuple[Path, str]:
    """Write `_shared/{Dataset}/{name}/` atomically; return its train file and content hash."""
    dataset, name, fingerprint = record["dataset"], record["semantic_name"], record["fingerprint"]
    final = store.experiment_dir(dataset, name)
    prefix = dataset.lower()
    summary = {**summary, "rows": {"train": len(train_rows)}}
    with building(final, fingerprint) as tmp:
        content_hash = write_jsonl(tmp / dataset / f"{prefix}_train.jsonl", train_rows)
        for split in ("validation", "test"):
            if split in exp.entry.splits and split != exp.config.dataset.split:
                target = tmp / dataset / f"{prefix}_{split}.jsonl"
                shutil.copyfile(exp.entry.split_path(split), target)
                summary["rows"][split] = sum(1 for line in target.open(encoding="utf-8") if line.strip())
        metadata = {
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "origin_batch": record["origin_batch"],
            "registered_at": record["created_at"],
            "purpose": exp.config.experiment.purpose,
            "description": exp.config.experiment.description,
            "dataset_name": dataset,
            "semantic_name": name,
            "parameter_fingerprint": fingerprint,
            "fingerprint_short": short(fingerprint),
            "fingerprint_scheme": record["scheme"],
            "stage_fingerprints": record["stages"],
            "params": record["params"],
            "summary": summary,
        }
        (tmp / "experiment_metadata.json").write_text(json.dumps(metadata, indent=2, ensure_ascii=False), encoding="utf-8")
        (tmp / "generation_config.yaml").write_text(record["config_yaml"], encoding="utf-8")
        (tmp / "README.md").write_text(_readme(record, summary), encoding="utf-8")
    return final / dataset / f"{prefix}_train.jsonl", content_hash
