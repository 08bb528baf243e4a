"""Adopting trees written by the old tooling (`synth import-legacy`).

A legacy tree looks like
```
{root}/_shared/{Dataset}/{name}/   .fingerprint (12 hex, legacy md5 scheme)
                                   experiment_metadata.json  generation_config.yaml  {Dataset}/...
{root}/batch_{YYYYMMDD}_{purpose}/{Dataset}/{name} -> ../../_shared/{Dataset}/{name}
```
Batch entries are relative symlinks, or (where a copy flattened them) small text files whose
content is the relative link target; both are understood.

The source data of legacy experiments is gone, so they cannot be re-fingerprinted with `synth/1`.
Each one gets a deterministic id of scheme `legacy-import/1`: the sha256 of the canonical JSON of
`{"scheme", "legacy_fingerprint", "config"}` where config is the parsed `generation_config.yaml`
without its `experiment` section (batch id, purpose, description organise, they do not make data,
as in `synth/1`). The legacy `.fingerprint` file is never rewritten: the mapping new -> legacy lives
in the store registration and in lineage.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from synth_assets.core.fingerprint import digest, legacy_fingerprint
from synth_assets.core.lineage import Lineage
from synth_assets.core.store import FINGERPRINT_FILE
from synth_assets.core.store_local import LocalStore, read_fingerprint

IMPORT_SCHEME = "legacy-import/1"
CONFIG_FILE = "generation_config.yaml"
METADATA_FILE = "experiment_metadata.json"
_LINK_TEXT_MAX_BYTES = 4096
_BATCH_RE = re.compile(r"^batch_(\d{8})_(.+)$")


@dataclass
class LegacyExperiment:
    dataset: str
    name: str
    path: Path
    legacy_fingerprint: str  # content of `.fingerprint`
    computed_fingerprint: str  # legacy scheme over generation_config.yaml
    matches: bool
    new_fingerprint: str  # `legacy-import/1` id
    origin_batch: str | None
    created_at: datetime  # naive UTC
    purpose: str | None
    description: str | None
    config: dict[str, Any] = field(default_factory=dict, repr=False)
    config_yaml: str = field(default="", repr=False)

    @property
    def key(self) -> tuple[str, str]:
        return (self.dataset, self.name)


@dataclass
class LegacyImportReport:
    experiments: list[LegacyExperiment] = field(default_factory=list)
    # batch_id -> [(dataset, name)] of the shared experiments its entries point at
    batches: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    # batch_id -> {(dataset, name): entry path} (the view paths found in the legacy tree)
    entries: dict[str, dict[tuple[str, str], Path]] = field(default_factory=dict, repr=False)
    imported: list[LegacyExperiment] = field(default_factory=list)

    @property
    def mismatches(self) -> list[LegacyExperiment]:
        return [e for e in self.experiments if not e.matches]


def new_fingerprint(legacy_fp: str, config: dict[str, Any]) -> str:
    """The deterministic `legacy-import/1` fingerprint of a legacy experiment."""
    content = {k: v for k, v in config.items() if k != "experiment"}
    return digest({"scheme": IMPORT_SCHEME, "legacy_fingerprint": legacy_fp, "config": content})


def batch_date(batch_id: str) -> datetime | None:
    match = _BATCH_RE.match(batch_id)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%d")
    except ValueError:
        return None


def batch_purpose(batch_id: str) -> str | None:
    match = _BATCH_RE.match(batch_id)
    return match.group(2) if match else None


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


def _entry_target(entry: Path, shared: Path) -> tuple[str, str] | None | str:
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


def _read_experiment(directory: Path, first_batch: str | None, problems: list[str]) -> LegacyExperiment | None:
    dataset, name = directory.parent.name, directory.name
    stored = read_fingerprint(directory)
    if stored is None:
        problems.append(f"{directory}: no {FINGERPRINT_FILE}, skipped (incomplete experiment?)")
        return None
    config_path, meta_path = directory / CONFIG_FILE, directory / METADATA_FILE
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
    meta: dict[str, Any] = {}
    if meta_path.exists():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            if not isinstance(meta, dict):
                raise ValueError("not an object")
        except (json.JSONDecodeError, ValueError, UnicodeDecodeError) as exc:
            problems.append(f"{meta_path}: malformed JSON ({exc}), skipped")
            return None
    try:
        computed = legacy_fingerprint(config)
        new_fp = new_fingerprint(stored, config)
    except (TypeError, ValueError, AttributeError) as exc:
        problems.append(f"{config_path}: cannot fingerprint ({exc}), skipped")
        return None
    exp_section = config.get("experiment") if isinstance(config.get("experiment"), dict) else {}
    origin = meta.get("batch_id") or exp_section.get("batch_id") or first_batch
    created = _parse_time(meta.get("created_at"))
    if created is None and origin is not None:
        created = batch_date(origin)
    if created is None and first_batch is not None:
        created = batch_date(first_batch)
    if created is None:
        created = _mtime(directory)
    declared = meta.get("parameter_fingerprint")
    if declared and declared != stored:
        problems.append(f"{meta_path}: parameter_fingerprint {declared} differs from {FINGERPRINT_FILE} {stored}")
    return LegacyExperiment(
        dataset=dataset,
        name=name,
        path=directory,
        legacy_fingerprint=stored,
        computed_fingerprint=computed,
        matches=computed == stored,
        new_fingerprint=new_fp,
        origin_batch=origin,
        created_at=created,
        purpose=meta.get("experiment_purpose") or exp_section.get("purpose"),
        description=meta.get("experiment_description") or exp_section.get("description"),
        config=config,
        config_yaml=config_text,
    )


def scan_legacy_tree(path: str | Path) -> LegacyImportReport:
    """Read a legacy tree and check every experiment's fingerprint; writes nothing."""
    tree = Path(path)
    shared = tree / "_shared"
    if not shared.is_dir():
        raise ValueError(f"{tree} is not a legacy tree: it has no _shared directory")
    report = LegacyImportReport()
    for batch in sorted(p for p in tree.glob("batch_*") if p.is_dir() and not p.is_symlink()):
        members: dict[tuple[str, str], Path] = {}
        for entry in sorted(batch.glob("*/*")):
            if entry.name.startswith("."):
                continue
            target = _entry_target(entry, shared)
            if isinstance(target, str):
                report.problems.append(f"{entry}: batch entry {target}, ignored")
            elif target in members:
                report.problems.append(f"{entry}: second entry for {target[0]}/{target[1]} in {batch.name}, ignored")
            else:
                members[target] = entry
        report.entries[batch.name] = members
        report.batches[batch.name] = list(members)
    first_batch: dict[tuple[str, str], str] = {}
    for batch_id in sorted(report.batches, key=lambda b: (batch_date(b) or datetime.max, b)):
        for key in report.batches[batch_id]:
            first_batch.setdefault(key, batch_id)
    for directory in sorted(p for p in shared.glob("*/*") if p.is_dir() and not p.name.startswith(".")):
        key = (directory.parent.name, directory.name)
        exp = _read_experiment(directory, first_batch.get(key), report.problems)
        if exp is None:
            continue
        report.experiments.append(exp)
        if not exp.matches:
            report.problems.append(
                f"{directory}: fingerprint mismatch: {FINGERPRINT_FILE} says {exp.legacy_fingerprint}, "
                f"{CONFIG_FILE} gives {exp.computed_fingerprint}; not imported"
            )
    return report


def _reserve(store: LocalStore, exp: LegacyExperiment) -> str | None:
    """Reserve the legacy name for the new fingerprint; None when another fingerprint holds it.

    The legacy name is kept exactly (no suffix), and only when its directory is this experiment.
    """
    if read_fingerprint(store.experiment_dir(exp.dataset, exp.name)) not in (None, exp.legacy_fingerprint, exp.new_fingerprint):
        return None
    return exp.name if store.claim_name(exp.dataset, exp.name, exp.new_fingerprint) else None


def _copy_experiment(exp: LegacyExperiment, store: LocalStore) -> str | None:
    """Copy one shared directory into the store; a problem string when it cannot."""
    dest = store.experiment_dir(exp.dataset, exp.name)
    if dest.exists() or dest.is_symlink():
        found = read_fingerprint(dest)
        if found == exp.legacy_fingerprint:
            return None  # same experiment already there: keep it
        return (f"{exp.path}: {dest} already exists with fingerprint {found} "
                f"(not {exp.legacy_fingerprint}); not overwritten, not imported")
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f".tmp-{exp.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        shutil.copytree(exp.path, tmp, symlinks=True)
        os.rename(tmp, dest)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if read_fingerprint(dest) != exp.legacy_fingerprint:
            raise
    return None


def import_legacy(path: str | Path, root: str | Path, *, lineage: Lineage) -> LegacyImportReport:
    """Adopt the legacy tree at `path` into the store at `root` (idempotent).

    In place (`path` is `root`) nothing under `_shared` or `batch_*` is touched; otherwise the
    shared directories are copied (never over existing data) and batch views are made as relative
    symlinks. Mismatching or unreadable experiments are reported in `problems` and not imported.
    """
    report = scan_legacy_tree(path)
    store = LocalStore(root)
    in_place = Path(path).resolve() == store.root
    done: dict[tuple[str, str], LegacyExperiment] = {}
    for exp in report.experiments:
        if not exp.matches:
            continue
        if not in_place:
            problem = _copy_experiment(exp, store)
            if problem:
                report.problems.append(problem)
                continue
        if _reserve(store, exp) != exp.name:
            report.problems.append(
                f"{exp.path}: name {exp.dataset}/{exp.name} is reserved by another fingerprint in {store.root}; not imported")
            continue
        created_iso = exp.created_at.replace(tzinfo=timezone.utc).isoformat(timespec="seconds")
        store.save_registration({
            "fingerprint": exp.new_fingerprint,
            "scheme": IMPORT_SCHEME,
            "dataset": exp.dataset,
            "recipe": "legacy",
            "semantic_name": exp.name,
            "stages": {},
            "params": {},
            "config": exp.config,
            "config_yaml": exp.config_yaml,
            "origin_batch": exp.origin_batch,
            "created_at": created_iso,
            "legacy_fingerprint": exp.legacy_fingerprint,
        })
        lineage.record_experiment(
            fingerprint=exp.new_fingerprint,
            scheme=IMPORT_SCHEME,
            dataset=exp.dataset,
            semantic_name=exp.name,
            shared_path=str(store.experiment_dir(exp.dataset, exp.name)),
            params={},
            config_yaml=exp.config_yaml,
            origin_batch=exp.origin_batch,
            created_at=exp.created_at,
            legacy_fingerprint=exp.legacy_fingerprint,
        )
        lineage.mark_complete(exp.new_fingerprint, completed_at=exp.created_at)
        done[exp.key] = exp
    for batch_id, members in report.entries.items():
        keys = [k for k in members if k in done]
        if not keys:
            continue
        created = batch_date(batch_id) or min(done[k].created_at for k in keys)
        lineage.record_batch(batch_id, purpose=batch_purpose(batch_id), created_at=created)
        for key in keys:
            exp = done[key]
            if in_place:
                view = members[key]  # left exactly as it is: it works already
            else:
                view = store.view_path(batch_id, *key)
                if view.exists() and not view.is_symlink():
                    report.problems.append(f"{view}: exists and is not a symlink; batch view not created")
                    continue
                view = store.path(store.link(batch_id, *key))
            lineage.record_membership(
                batch_id=batch_id,
                dataset=exp.dataset,
                fingerprint=exp.new_fingerprint,
                view_path=str(view),
                reused=batch_id != exp.origin_batch,
            )
    report.imported = list(done.values())
    return report
