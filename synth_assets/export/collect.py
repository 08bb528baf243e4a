"""What an export holds: the experiments a target names and their rows, read from the store.

A target is an experiment (batch path, shared path, fingerprint or legacy id, as `synth resolve`
takes them), a recipe output with its own export configs (its `export_configs` hook: a curation
output's formats are configs with one `train` split) or a batch (`batch_...` id or path: one dataset per experiment, or with `single`
one dataset whose rows carry an `experiment` column).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from synth_assets.core.batch_ids import is_batch_id
from synth_assets.core.fingerprint import short
from synth_assets.core.lineage import Lineage
from synth_assets.core.splits import split_keys
from synth_assets.core.store import METADATA_FILE, Store
from synth_assets.recipes.registry import recipes

Configs = dict[str, dict[str, list[dict[str, Any]]]]  # config -> split -> rows
EXPERIMENT_COLUMN = "experiment"


class ExportError(Exception):
    """A target that cannot be exported, named with the reason."""


class NothingToExport(ExportError):
    """An experiment without published data (not complete, or a legacy one without split files)."""


@dataclass
class ExportedExperiment:
    record: dict[str, Any]  # the registration
    metadata: dict[str, Any]  # its experiment_metadata.json ({} when there is none)
    configs: Configs
    files: dict[str, str] = field(default_factory=dict)  # split file name -> store URI
    skipped: list[str] = field(default_factory=list)  # empty splits, not exported

    @property
    def label(self) -> str:
        return f"{self.record['dataset']}/{self.record['semantic_name']}"


@dataclass
class ExportDataset:
    """One dataset of the export: a folder (relative to the export root; "" is the root) with its own card."""

    folder: str
    experiments: list[ExportedExperiment]
    configs: Configs


def _rows(store: Store, key: str) -> list[dict[str, Any]]:
    """JSON lines of one split file; a bad line is an error naming file and line."""
    uri, rows = store.uri(key), []
    try:
        text = store.read_bytes(key).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExportError(f"{uri}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ExportError(f"{uri}:{number}: invalid JSON ({exc.msg}, column {exc.colno})") from None
        if not isinstance(row, dict):
            raise ExportError(f"{uri}:{number}: a JSON object expected, got {type(row).__name__}")
        rows.append(row)
    return rows


def _metadata(store: Store, dataset: str, name: str) -> dict[str, Any]:
    try:
        meta = store.experiment_metadata(dataset, name)
    except FileNotFoundError:
        return {}
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        raise ExportError(f"{store.uri(store.files_key(dataset, name))}/{METADATA_FILE}: malformed JSON ({exc})") from None
    return meta if isinstance(meta, dict) else {}


def load_experiment(store: Store, record: dict[str, Any]) -> ExportedExperiment:
    """The published rows of one registered experiment."""
    dataset, name = record["dataset"], record["semantic_name"]
    where = store.experiment_uri(dataset, name)
    if not store.record_complete(record):
        raise NothingToExport(f"{dataset}/{name} ({short(record['fingerprint'])}) is not complete: nothing is published at {where}")
    splits = split_keys(store, dataset, name)
    if not splits:
        raise NothingToExport(f"{dataset}/{name} ({short(record['fingerprint'])}) has no data: no split files under {where}")
    rows = {split: _rows(store, key) for split, key in splits.items()}
    skipped = [f"{dataset}/{name}: split {split} has no rows, not exported" for split, r in rows.items() if not r]
    rows = {split: r for split, r in rows.items() if r}
    if not rows:
        raise NothingToExport(f"{dataset}/{name} ({short(record['fingerprint'])}) has no rows in {', '.join(splits)} under {where}")
    recipe = recipes().get(record.get("recipe", ""))
    configs = recipe.export_configs(rows) if recipe is not None and recipe.export_configs else {"default": rows}
    files = {split: store.uri(key) for split, key in splits.items()}
    return ExportedExperiment(record, _metadata(store, dataset, name), configs, files, skipped)


def _with_experiment_column(experiments: list[ExportedExperiment]) -> Configs:
    merged: Configs = {}
    for exp in experiments:
        for config, splits in exp.configs.items():
            for split, rows in splits.items():
                if any(EXPERIMENT_COLUMN in row for row in rows):
                    raise ExportError(f"{exp.label} ({config}/{split}): rows already have an {EXPERIMENT_COLUMN!r} "
                                      "column; export the batch without --single")
                merged.setdefault(config, {}).setdefault(split, []).extend({**row, EXPERIMENT_COLUMN: exp.label} for row in rows)
    return merged


def _batch_members(store: Store, batch_id: str, lineage: Lineage | None) -> list[tuple[str, str]]:
    """(dataset, name) of the batch's views, and of its lineage members (legacy link-text entries, pending ones)."""
    members = {(dataset, name) for dataset, name, _ in store.views(batch_id)}
    if lineage is not None:
        members |= {(m["dataset"], m["semantic_name"]) for m in lineage.batch_members(batch_id) if m["semantic_name"]}
    return sorted(members)


def _batch(store: Store, batch_id: str, single: bool, lineage: Lineage | None) -> tuple[list[ExportDataset], list[str]]:
    members = _batch_members(store, batch_id, lineage)
    if not members:
        raise ExportError(f"no batch {batch_id!r} under {store.root_uri}")
    experiments, warnings = [], []
    for dataset, name in members:
        record = store.record_by_name(dataset, name)
        if record is None:
            warnings.append(f"{batch_id}/{dataset}/{name}: no registered experiment; skipped")
            continue
        try:
            experiments.append(load_experiment(store, record))
        except NothingToExport as exc:
            warnings.append(f"{exc}; skipped")
            continue
        warnings.extend(experiments[-1].skipped)
    if not experiments:
        raise ExportError(f"batch {batch_id} has nothing to export: " + "; ".join(warnings))
    if single:
        return [ExportDataset("", experiments, _with_experiment_column(experiments))], warnings
    return [ExportDataset(exp.label, [exp], exp.configs) for exp in experiments], warnings


def collect(store: Store, target: str, *, single: bool = False,
            lineage: Lineage | None = None) -> tuple[list[ExportDataset], list[str]]:
    """The datasets an export of `target` writes, and warnings about what it skipped."""
    key = store.relative_key(target) or target.rstrip("/")
    if is_batch_id(key) and "/" not in key:
        return _batch(store, key, single, lineage)
    if single:
        raise ExportError("--single applies to a batch; the target is one experiment")
    try:
        record = store.find(target)
    except KeyError as exc:
        raise ExportError(exc.args[0]) from None
    exp = load_experiment(store, record)
    return [ExportDataset("", [exp], exp.configs)], exp.skipped
