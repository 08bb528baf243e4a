"""The `README.md` dataset card of an export, as Hugging Face dataset cards are written.

YAML front matter: `license` (the source datasets' licences from the catalog, `unknown` where it
records none), `pretty_name`, `tags`, `configs` (data files per config and split) and
`dataset_info` (features, rows and bytes per split) written by `datasets`' own card helpers, and
`synth`: per experiment its fingerprint and scheme, parameters, sources, quality metrics (lineage's,
reviewed precision included, else the `quality` section of `experiment_metadata.json`), LLM cost and
lineage. The store is named without local paths (`local:{folder}` or its `s3://` URL; stage paths
relative to it), so a published card leaks no one's disk layout. The body says the same for people.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import yaml
from datasets import DatasetInfo, SplitDict, SplitInfo
from datasets.info import DatasetInfosDict
from datasets.utils.metadata import MetadataConfigs
from huggingface_hub import DatasetCardData

from synth_assets.core.legacy import purpose_and_description
from synth_assets.core.lineage import Lineage
from synth_assets.export.collect import ExportedExperiment
from synth_assets.core.catalog import UNKNOWN_LICENSE
from synth_assets.export.sources import source_datasets
from synth_assets.export.write import WrittenSplit
from synth_assets.quality.figures import current_quality, notes_markdown

_FORMATS = {"hf": "a Hugging Face `datasets` folder (`save_to_disk`)", "parquet": "Parquet files", "jsonl": "JSON lines"}
_COST_KEYS = ("prompt_tokens", "completion_tokens", "cost_usd")


def _cost(exp: ExportedExperiment, lineage: Lineage | None) -> dict[str, Any] | None:
    summary = exp.metadata.get("summary") or {}
    if any(k in summary for k in _COST_KEYS):
        return {**{k: summary.get(k, 0) for k in _COST_KEYS}, "from": "experiment_metadata.json"}
    if lineage is not None:
        usage = lineage.query(
            "SELECT count(*) AS n, coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(completion_tokens), 0) "
            "AS completion_tokens, coalesce(sum(cost_usd), 0) AS cost_usd FROM llm_usage WHERE fingerprint = ?",
            [exp.record["fingerprint"]])[0]
        if usage.pop("n"):
            return {**usage, "from": "lineage"}
    return None


def store_name(root: str) -> str:
    """How a card names the store: an S3 URL as it is, a local store by its folder's name (`local:data`), never the
    absolute path of someone's disk."""
    return root if root.startswith("s3://") else f"local:{Path(root).name}"


def _in_store(path: str, root: str) -> str:
    """A path inside the store relative to its root (`_stages/Copa/generated/...`); other paths as they are."""
    base = root if root.startswith("s3://") else os.path.abspath(root)
    return path[len(base) + 1:] if path and path.startswith(base.rstrip("/") + "/") else path


def _materializations(exp: ExportedExperiment, root: str, lineage: Lineage | None) -> list[dict[str, Any]]:
    """The stage outputs that made this experiment (not later reuses), oldest first; paths relative to the store."""
    if lineage is None:
        return []
    rows = lineage.query("SELECT asset, rows, run_id, path FROM materializations "
                         "WHERE fingerprint = ? AND NOT reused ORDER BY id", [exp.record["fingerprint"]])
    return [{**row, "path": _in_store(row["path"], root)} for row in rows]


def _evaluations(exp: ExportedExperiment, lineage: Lineage | None) -> list[dict[str, Any]] | None:
    """The training effect measured on this experiment (the newest row per evaluator in lineage)."""
    from synth_assets.core.lineage.evaluations import EXPORTED, evaluations_of, latest

    rows = latest(evaluations_of(lineage, [exp.record["fingerprint"]])).values() if lineage is not None else []
    return [{k: row.get(k) for k in EXPORTED} for row in rows] or None


def experiment_facts(exp: ExportedExperiment, root: str, lineage: Lineage | None) -> dict[str, Any]:
    """What the card says about one experiment (also its `synth.experiments` entry)."""
    record, meta = exp.record, exp.metadata
    origin = (lineage.origin(record["fingerprint"]) if lineage is not None else None) or {}
    purpose, description = purpose_and_description(record)
    facts = {
        "experiment": exp.label,
        "fingerprint": record["fingerprint"],
        "scheme": record["scheme"],
        "legacy_fingerprint": record.get("legacy_fingerprint"),
        "recipe": record.get("recipe"),
        "purpose": purpose,
        "description": description,
        "origin_batch": origin.get("batch_id") or record.get("origin_batch"),
        "created_at": str(origin.get("created_at") or meta.get("created_at") or record.get("created_at") or "") or None,
        "batches": [b["batch_id"] for b in lineage.batches_using(record["fingerprint"])] if lineage is not None else None,
        "stages": meta.get("stage_fingerprints") or record.get("stages") or None,
        "sources": source_datasets(record, root),
        "parameters": record.get("params"),
        "quality": current_quality(record["fingerprint"], meta, lineage),
        "cost": _cost(exp, lineage),
        "evaluations": _evaluations(exp, lineage),
    }
    return {k: v for k, v in facts.items() if v is not None}


def _front_matter(title: str, facts: list[dict[str, Any]], configs: dict[str, list[WrittenSplit]], synth: dict[str, Any]) -> str:
    licences = sorted({s["license"] for f in facts for s in f["sources"]}) or [UNKNOWN_LICENSE]
    data = DatasetCardData(license=licences[0] if len(licences) == 1 else licences, pretty_name=title,
                           tags=["synthetic", "synth-assets"], synth=synth)
    MetadataConfigs({config: {"data_files": [{"split": s.split, "path": s.path} for s in splits]}
                     for config, splits in configs.items()}).to_dataset_card_data(data)
    infos = {}
    for config, splits in configs.items():
        split_dict = SplitDict()
        for s in splits:
            split_dict.add(SplitInfo(name=s.split, num_bytes=s.num_bytes, num_examples=s.num_examples))
        infos[config] = DatasetInfo(features=splits[0].features, splits=split_dict, download_size=sum(s.size for s in splits),
                                    dataset_size=sum(s.num_bytes for s in splits))
    DatasetInfosDict(infos).to_dataset_card_data(data)
    return f"---\n{data.to_yaml()}\n---\n"


def _table(columns: list[str], rows: list[list[Any]]) -> list[str]:
    cell = lambda v: str(v if v is not None else "").replace("|", "\\|").replace("\n", " ")  # noqa: E731
    return [f"| {' | '.join(columns)} |", "|" + "---|" * len(columns), *(f"| {' | '.join(cell(v) for v in r)} |" for r in rows)]


def _flat(prefix: str, value: Any) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [item for k, v in value.items() for item in _flat(f"{prefix}.{k}" if prefix else str(k), v)]
    return [(prefix, json.dumps(value) if isinstance(value, (list, bool)) or value is None else value)]


def _experiment_section(facts: dict[str, Any], materialized: list[dict[str, Any]]) -> list[str]:
    legacy = f"; legacy fingerprint `{facts['legacy_fingerprint']}`" if "legacy_fingerprint" in facts else ""
    lines = [f"## {facts['experiment']}", "",
             f"- Fingerprint: `{facts['fingerprint']}` (scheme `{facts['scheme']}`){legacy}",
             f"- Recipe: {facts.get('recipe', '')}; purpose: {facts.get('purpose', '')}; description: {facts.get('description', '')}",
             f"- Origin batch: {facts.get('origin_batch', '')}, created {facts.get('created_at', '')}"
             + (f"; in batches: {', '.join(facts['batches'])}" if facts.get("batches") else ""),
             "", "### Parameters", "", "```yaml",
             yaml.safe_dump(facts.get("parameters") or {}, sort_keys=False, allow_unicode=True).rstrip(), "```", "", "### Quality", ""]
    quality = facts.get("quality")
    lines += _table(["metric", "value"], [list(kv) for kv in _flat("", quality)]) + ["", notes_markdown().rstrip()] if quality else [
        "No `quality` section in this experiment's `experiment_metadata.json`."]
    if facts.get("evaluations"):
        from synth_assets.evaluation.effect import baseline_text, delta_text, value_text

        lines += ["", "### Training effect", ""] + _table(
            ["evaluator", "metric", "value [95% CI]", "original rows [95% CI]", "difference [95% CI]", "n", "run"],
            [[e["evaluator"], e["metric"], value_text(e), baseline_text(e), delta_text(e), e.get("n"), e.get("run_id")]
             for e in facts["evaluations"]])
    cost = facts.get("cost")
    lines += ["", "### Cost", "", (f"{cost['prompt_tokens']} prompt and {cost['completion_tokens']} completion tokens, "
                                   f"${cost['cost_usd']:.4f} (from {cost['from']})") if cost else "No LLM usage recorded."]
    lines += ["", "### Lineage", ""]
    if facts.get("stages"):
        lines += _table(["stage", "stage fingerprint"], [[k, f"`{v}`"] for k, v in facts["stages"].items()]) + [""]
    if materialized:
        lines += _table(["asset", "rows", "run", "path"], [[m["asset"], m["rows"], m["run_id"], m["path"]] for m in materialized]) + [""]
    if not facts.get("stages") and not materialized:
        lines += ["Adopted from the old tooling: no stage outputs recorded.", ""]
    return lines


def dataset_card(*, title: str, experiments: list[ExportedExperiment], configs: dict[str, list[WrittenSplit]],
                 fmt: str, root: str, lineage: Lineage | None) -> str:
    """The card of one export folder whose data files are `configs` (paths relative to the folder)."""
    facts = [experiment_facts(e, root, lineage) for e in experiments]
    synth = {"exported_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "format": fmt,
             "store": store_name(root), "experiments": facts}
    load = ("`datasets.load_from_disk(folder)`" + (" (a config: `folder/CONFIG`)" if set(configs) != {"default"} else "")
            if fmt == "hf" else "`datasets.load_dataset(folder)` (a config: `load_dataset(folder, CONFIG)`)")
    sources = {(s["name"], s["source"], s["license"]) for f in facts for s in f["sources"]}
    lines = [f"# {title}", "",
             f"Synthetic data made with synth-assets: {len(experiments)} experiment(s) exported as {_FORMATS[fmt]} from `{store_name(root)}`. "
             f"Load it with {load}.", "", "## Data", ""]
    lines += _table(["config", "split", "rows", "bytes", "files"],
                    [[c, s.split, s.num_examples, s.size, f"`{s.path}`"] for c, splits in configs.items() for s in splits])
    lines += ["", "## Source datasets", ""] + _table(["dataset", "source", "licence"], sorted(map(list, sources))) + [""]
    for fact, exp in zip(facts, experiments):
        lines += _experiment_section(fact, _materializations(exp, root, lineage))
    return _front_matter(title, facts, configs, synth) + "\n" + "\n".join(lines).rstrip() + "\n"
