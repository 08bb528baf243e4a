"""Reading a tree written by the old tooling (what `synth import-legacy` adopts); writes nothing.

A legacy tree looks like
```
{root}/_shared/{Dataset}/{name}/   .fingerprint (12 hex, legacy md5 scheme)
                                   experiment_metadata.json  generation_config.yaml  {Dataset}/{dataset}_{split}.jsonl
{root}/batch_{YYYYMMDD}_{purpose}/{Dataset}/{name} -> ../../_shared/{Dataset}/{name}
```
Batch entries are relative symlinks, or (where a copy flattened them) small text files whose
content is the relative link target; both are understood.

The source data of legacy experiments is gone, so they cannot be re-fingerprinted with `synth/1`.
Each one gets a deterministic id of scheme `legacy-import/2`: its verified 12-hex legacy
fingerprint followed by 52 hex of the sha256 of the canonical JSON of
`{"scheme", "legacy_fingerprint", "config"}` (config: the parsed `generation_config.yaml` without its
`experiment` section, which organises and does not make data, as in `synth/1`). The short form of
the id is therefore the legacy fingerprint itself, and every command that takes a fingerprint
prefix takes a legacy id. The legacy `.fingerprint` file is never rewritten.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from synth_assets.core.batch_ids import BATCH_PREFIX, batch_date
from synth_assets.core.fingerprint import digest, legacy_fingerprint
from synth_assets.core.legacy_params import legacy_params
from synth_assets.core.splits import split_keys
from synth_assets.core.store import FINGERPRINT_FILE
from synth_assets.core.store_local import LocalStore, read_fingerprint

IMPORT_SCHEME = "legacy-import/2"
CONFIG_FILE = "generation_config.yaml"
METADATA_FILE = "experiment_metadata.json"
_LINK_TEXT_MAX_BYTES = 4096


@dataclass
class LegacyExperiment:
    dataset: str
    name: str
    path: Path
    legacy_fingerprint: str  # content of `.fingerprint`
    computed_fingerprint: str  # legacy scheme over generation_config.yaml
    matches: bool
    new_fingerprint: str  # `legacy-import/2` id
    origin_batch: str | None
    created_at: datetime  # naive UTC
    purpose: str | None
    description: str | None
    splits: list[str] = field(default_factory=list)  # split files found; empty: no data
    params: dict[str, Any] = field(default_factory=dict, repr=False)
    config: dict[str, Any] = field(default_factory=dict, repr=False)
    config_yaml: str = field(default="", repr=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.dataset, self.name)


@dataclass
class LegacyTree:
    """What a legacy tree holds; `problems` name file and reason for everything not understood."""

    path: Path
    experiments: list[LegacyExperiment] = field(default_factory=list)
    # batch_id -> {(dataset, name): entry path} of the shared experiments its entries point at
    entries: dict[str, dict[tuple[str, str], Path]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def batches(self) -> dict[str, list[tuple[str, str]]]:
        return {batch_id: list(members) for batch_id, members in self.entries.items()}

    @property
    def mismatches(self) -> list[LegacyExperiment]:
        return [e for e in self.experiments if not e.matches]


def new_fingerprint(legacy_fp: str, config: dict[str, Any]) -> str:
    """The deterministic `legacy-import/2` id: the legacy fingerprint, then 52 hex of a sha256."""
    content = {k: v for k, v in config.items() if k != "experiment"}
    return legacy_fp + digest({"scheme": IMPORT_SCHEME, "legacy_fingerprint": legacy_fp, "config": content})[: 64 - len(legacy_fp)]


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    try:
        parsed = datetime.strptime(text, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        try:
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    return parsed


def _mtime(directory: Path) -> datetime:
    target = directory / FINGERPRINT_FILE
    stat = (target if target.exists() else directory).stat()
    return datetime.fromtimestamp(stat.st_mtime, timezone.utc).replace(tzinfo=None)


def _entry_target(entry: Path, shared: Path) -> tuple[str, str] | str:
    """(dataset, name) a batch entry points at; a string explains why it points nowhere."""
    if entry.is_symlink():
        link = os.readlink(entry)
        target = Path(os.path.realpath(entry))
    elif entry.is_file():
        if entry.stat().st_size > _LINK_TEXT_MAX_BYTES:
            return "is a regular file, not a link"
        try:
            link = entry.read_text(encoding="utf-8").strip()
        except (UnicodeDecodeError, OSError):
            return "is a regular file, not a link"
        if not link or "\n" in link or os.path.isabs(link):
            return "is a regular file, not a link"
        target = Path(os.path.realpath(entry.parent / link))
    else:
        return "is a directory, not a link" if entry.is_dir() else "is not a link"
    try:
        rel = target.relative_to(Path(os.path.realpath(shared)))
    except ValueError:
        return f"points outside _shared ({link})"
    if len(rel.parts) != 2 or not target.is_dir():
        return f"does not point at an existing _shared/{{Dataset}}/{{name}} directory ({link})"
    return rel.parts[0], rel.parts[1]


def _read_config(directory: Path, problems: list[str]) -> tuple[dict[str, Any], str] | None:
    config_path = directory / CONFIG_FILE
    try:
        config_text = config_path.read_text(encoding="utf-8")
        config = yaml.safe_load(config_text)
        if not isinstance(config, dict):
            raise ValueError("not a mapping")
    except FileNotFoundError:
        problems.append(f"{config_path}: missing, skipped")
        return None
    except (yaml.YAMLError, ValueError, UnicodeDecodeError) as exc:
        problems.append(f"{config_path}: malformed YAML ({str(exc).splitlines()[0]}), skipped")
        return None
    return config, config_text


def _read_metadata(directory: Path, problems: list[str]) -> dict[str, Any] | None:
    meta_path = directory / METADATA_FILE
    if not meta_path.exists():
        return {}
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        if not isinstance(meta, dict):
            raise ValueError("not an object")
    except (json.JSONDecodeError, ValueError, UnicodeDecodeError) as exc:
        problems.append(f"{meta_path}: malformed JSON ({exc}), skipped")
        return None
    return meta


def _read_experiment(tree: LocalStore, directory: Path, first_batch: str | None, problems: list[str]) -> LegacyExperiment | None:
    dataset, name = directory.parent.name, directory.name
    stored = read_fingerprint(directory)
    if stored is None:
        problems.append(f"{directory}: no {FINGERPRINT_FILE}, skipped (incomplete experiment?)")
        return None
    read = _read_config(directory, problems)
    meta = _read_metadata(directory, problems)
    if read is None or meta is None:
        return None
    config, config_text = read
    try:
        computed = legacy_fingerprint(config)
        new_fp = new_fingerprint(stored, config)
        params, notes = legacy_params(dataset, config, meta)
    except (TypeError, ValueError, AttributeError) as exc:
        problems.append(f"{directory / CONFIG_FILE}: cannot read its parameters ({exc}), skipped")
        return None
    problems.extend(f"{directory / METADATA_FILE}: {note}" for note in notes)
    exp_section = config.get("experiment") if isinstance(config.get("experiment"), dict) else {}
    origin = meta.get("batch_id") or exp_section.get("batch_id") or first_batch
    created = _parse_time(meta.get("created_at"))
    for fallback in (origin, first_batch):
        if created is None and fallback is not None:
            created = batch_date(fallback)
    declared = meta.get("parameter_fingerprint")
    if declared and declared != stored:
        problems.append(f"{directory / METADATA_FILE}: parameter_fingerprint {declared} differs from {FINGERPRINT_FILE} {stored}")
    return LegacyExperiment(
        dataset=dataset,
        name=name,
        path=directory,
        legacy_fingerprint=stored,
        computed_fingerprint=computed,
        matches=computed == stored,
        new_fingerprint=new_fp,
        origin_batch=origin,
        created_at=created or _mtime(directory),
        purpose=meta.get("experiment_purpose") or exp_section.get("purpose"),
        description=meta.get("experiment_description") or exp_section.get("description"),
        splits=list(split_keys(tree, dataset, name)),
        params=params,
        config=config,
        config_yaml=config_text,
    )


def scan_legacy_tree(path: str | Path) -> LegacyTree:
    """Read a legacy tree and check every experiment's fingerprint; writes nothing."""
    tree = LegacyTree(Path(path))
    shared = tree.path / "_shared"
    if not shared.is_dir():
        raise ValueError(f"{tree.path} is not a legacy tree: it has no _shared directory")
    for batch in sorted(p for p in tree.path.glob(f"{BATCH_PREFIX}*") if p.is_dir() and not p.is_symlink()):
        members: dict[tuple[str, str], Path] = {}
        for entry in sorted(batch.glob("*/*")):
            if entry.name.startswith("."):
                continue
            target = _entry_target(entry, shared)
            if isinstance(target, str):
                tree.problems.append(f"{entry}: batch entry {target}, ignored")
            elif target in members:
                tree.problems.append(f"{entry}: second entry for {target[0]}/{target[1]} in {batch.name}, ignored")
            else:
                members[target] = entry
        tree.entries[batch.name] = members
    first_batch: dict[tuple[str, str], str] = {}
    for batch_id in sorted(tree.entries, key=lambda b: (batch_date(b) or datetime.max, b)):
        for key in tree.entries[batch_id]:
            first_batch.setdefault(key, batch_id)
    reader = LocalStore(tree.path)
    for directory in sorted(p for p in shared.glob("*/*") if p.is_dir() and not p.name.startswith(".")):
        exp = _read_experiment(reader, directory, first_batch.get((directory.parent.name, directory.name)), tree.problems)
        if exp is None:
            continue
        tree.experiments.append(exp)
        if not exp.matches:
            tree.problems.append(
                f"{directory}: fingerprint mismatch: {FINGERPRINT_FILE} says {exp.legacy_fingerprint}, "
                f"{CONFIG_FILE} gives {exp.computed_fingerprint}; not imported"
            )
    return tree
