"""`export_target`: write an export folder atomically (a temporary folder beside it, renamed into place)."""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from synth_assets.core.lineage import Lineage
from synth_assets.core.store import Store
from synth_assets.export.card import dataset_card
from synth_assets.export.collect import ExportError, collect
from synth_assets.export.write import FORMATS, WrittenSplit, write_configs


@dataclass
class ExportResult:
    out: Path
    written: dict[str, list[WrittenSplit]] = field(default_factory=dict)  # dataset folder ("" = out) -> its splits
    warnings: list[str] = field(default_factory=list)


def _grouped(splits: list[WrittenSplit], prefix: str = "", config_prefix: str = "") -> dict[str, list[WrittenSplit]]:
    """Splits by config name; an index card names each experiment's configs `{prefix}` + config and prefixes their paths."""
    configs: dict[str, list[WrittenSplit]] = {}
    for s in splits:
        name = s.config
        if config_prefix:
            name = config_prefix if s.config == "default" else f"{config_prefix}--{s.config}"
        configs.setdefault(name, []).append(WrittenSplit(name, s.split, prefix + s.path, s.num_examples, s.num_bytes, s.size, s.features))
    return configs


def _replace(tmp: Path, out: Path) -> None:
    """Rename the finished folder into place; an existing `out` (only with force) is swapped out, then deleted."""
    if not out.exists():
        os.rename(tmp, out)
        return
    old = out.with_name(f".old-{out.name}-{uuid.uuid4().hex[:8]}")
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        os.rename(old, out)
        raise
    shutil.rmtree(old)


def export_target(store: Store, target: str, out: str | Path, fmt: str, *, lineage: Lineage | None = None,
                  single: bool = False, force: bool = False) -> ExportResult:
    """Export an experiment, a curation output or a batch to `out` (see `collect`) with a dataset card each."""
    if fmt not in FORMATS:
        raise ExportError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    out = Path(out).resolve()
    if out.exists() and not out.is_dir():
        raise ExportError(f"{out} is a file, not a folder")
    if out.exists() and not force and any(out.iterdir()):
        raise ExportError(f"{out} exists; pass --force to replace it")
    datasets, warnings = collect(store, target, single=single, lineage=lineage)
    result = ExportResult(out, warnings=warnings)
    batch_title = target.rstrip("/").rsplit("/", 1)[-1]  # a batch id, or the last part of a batch path
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".tmp-{out.name}-{uuid.uuid4().hex[:8]}")
    try:
        for dataset in datasets:
            folder = tmp / dataset.folder
            title = dataset.experiments[0].label if len(dataset.experiments) == 1 else batch_title
            written = write_configs(dataset.configs, fmt, folder, title)
            (folder / "README.md").write_text(dataset_card(
                title=title, experiments=dataset.experiments, configs=_grouped(written), fmt=fmt,
                root=store.root_uri, lineage=lineage), encoding="utf-8")
            result.written[dataset.folder] = written
        if any(d.folder for d in datasets):  # a batch, one folder per experiment: an index card over all of them
            configs = {}
            for d in datasets:
                configs |= _grouped(result.written[d.folder], f"{d.folder}/", d.folder.replace("/", "--"))
            (tmp / "README.md").write_text(dataset_card(
                title=batch_title, experiments=[e for d in datasets for e in d.experiments], configs=configs, fmt=fmt,
                root=store.root_uri, lineage=lineage), encoding="utf-8")
        _replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return result
