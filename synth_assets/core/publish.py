"""Publishing: the training-ready experiment folder under `_shared/`."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

from synth_assets.core.config import Experiment
from synth_assets.core.fingerprint import short
from synth_assets.core.store import Store, jsonl_bytes


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


def train_key(store: Store, dataset: str, name: str) -> str:
    return f"{store.experiment_key(dataset, name)}/{dataset}/{dataset.lower()}_train.jsonl"


def publish_experiment(store: Store, exp: Experiment, record: dict[str, Any], train_rows: list[dict], summary: dict[str, Any]) -> tuple[str, str]:
    """Write `_shared/{Dataset}/{name}/` atomically (marker last); return its train file key and content hash."""
    dataset, name, fingerprint = record["dataset"], record["semantic_name"], record["fingerprint"]
    prefix = dataset.lower()
    summary = {**summary, "rows": {"train": len(train_rows)}}
    data = jsonl_bytes(train_rows)
    with store.building(store.experiment_key(dataset, name), fingerprint) as out:
        out.write_bytes(f"{dataset}/{prefix}_train.jsonl", data)
        for split in ("validation", "test"):
            if split in exp.entry.splits and split != exp.config.dataset.split:
                content = exp.entry.split_path(split).read_bytes()
                out.write_bytes(f"{dataset}/{prefix}_{split}.jsonl", content)
                summary["rows"][split] = sum(1 for line in content.splitlines() if line.strip())
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
        out.write_text("experiment_metadata.json", json.dumps(metadata, indent=2, ensure_ascii=False))
        out.write_text("generation_config.yaml", record["config_yaml"])
        out.write_text("README.md", _readme(record, summary))
    return train_key(store, dataset, name), hashlib.sha256(data).hexdigest()
