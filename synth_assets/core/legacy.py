"""`synth import-legacy`: adopting a tree of the old tooling into a store.

`plan_import` reads the tree and the store and decides, per experiment, what importing would do
(`--dry-run` prints it and stops there); `import_legacy` carries the plan out. Reading the tree,
verifying the legacy fingerprints and the ids given to legacy experiments: `legacy_tree`.

Adopted experiments keep their verified legacy fingerprints: their id starts with it, their
registration records it, and their parameters are read from the experiment's config copy and
metadata (`legacy_params`). An experiment without split files is registered but not complete
(`synth batch` shows it as `no data`). Importing is idempotent; an experiment imported by an older
version (another id for the same legacy fingerprint) is re-imported under its current id, keeping
its batch memberships.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import dataclass, field
from datetime import timezone
from pathlib import Path
from typing import Any

from synth_assets.core.batch_ids import batch_date
from synth_assets.core.legacy_tree import (
    IMPORT_SCHEME,
    LegacyExperiment,
    LegacyTree,
    scan_legacy_tree,
)
from synth_assets.core.lineage import Lineage
from synth_assets.core.splits import split_keys
from synth_assets.core.store import TMP_PREFIX, Store
from synth_assets.core.store_local import LocalStore, read_fingerprint

RECIPE = "legacy"
IMPORT, PRESENT, REIMPORT, SKIP = "import", "already imported", "re-import", "skip"
CREATE, KEEP = "create", "keep"


@dataclass
class PlannedExperiment:
    exp: LegacyExperiment
    action: str  # IMPORT, PRESENT, REIMPORT or SKIP
    copy: bool = False  # its directory is copied into the store first
    replaces: str | None = None  # REIMPORT: the id of the earlier import
    reason: str | None = None  # SKIP: why


@dataclass
class PlannedView:
    batch_id: str
    key: tuple[str, str]
    path: Path
    action: str  # CREATE (a relative symlink) or KEEP (in place: the legacy entry as it is)


@dataclass
class LegacyImportReport:
    tree: LegacyTree
    root: Path
    planned: list[PlannedExperiment] = field(default_factory=list)
    views: list[PlannedView] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    imported: list[LegacyExperiment] = field(default_factory=list)

    @property
    def experiments(self) -> list[LegacyExperiment]:
        return self.tree.experiments

    @property
    def batches(self) -> dict[str, list[tuple[str, str]]]:
        return self.tree.batches

    @property
    def mismatches(self) -> list[LegacyExperiment]:
        return self.tree.mismatches


def has_data(store: Store, record: dict[str, Any]) -> bool:
    """False only for an imported legacy experiment without split files (shown as `no data`)."""
    return record.get("recipe") != RECIPE or bool(split_keys(store, record["dataset"], record["semantic_name"]))


def purpose_and_description(record: dict[str, Any]) -> tuple[str | None, str | None]:
    """An imported legacy record's own (from its metadata), else its config's `experiment` section."""
    section = (record.get("config") or {}).get("experiment") or {}
    return record.get("purpose", section.get("purpose")), record.get("description", section.get("description"))


def _plan_experiment(store: LocalStore, exp: LegacyExperiment, in_place: bool) -> PlannedExperiment:
    if not exp.matches:
        return PlannedExperiment(exp, SKIP, reason="fingerprint mismatch")
    dest = store.experiment_dir(exp.dataset, exp.name)
    copy = not in_place and not (dest.exists() or dest.is_symlink())
    if not in_place and not copy and read_fingerprint(dest) != exp.legacy_fingerprint:
        return PlannedExperiment(exp, SKIP, reason=(
            f"{dest} already exists with fingerprint {read_fingerprint(dest)} (not {exp.legacy_fingerprint}); "
            "not overwritten, not imported"))
    holder = store.name_holder(exp.dataset, exp.name)
    if holder is None:
        return PlannedExperiment(exp, IMPORT, copy)
    if holder == exp.new_fingerprint:
        return PlannedExperiment(exp, PRESENT, copy)
    earlier = store.record_by_name(exp.dataset, exp.name)
    if earlier and earlier.get("recipe") == RECIPE and earlier.get("legacy_fingerprint") == exp.legacy_fingerprint:
        return PlannedExperiment(exp, REIMPORT, copy, replaces=holder)
    return PlannedExperiment(exp, SKIP, reason=f"name {exp.dataset}/{exp.name} is reserved by another fingerprint "
                                               f"({holder[:12]}) in {store.root}; not imported")


def plan_import(path: str | Path, root: str | Path) -> LegacyImportReport:
    """What importing the tree at `path` into the store at `root` would do; reads only."""
    tree = scan_legacy_tree(path)
    store = LocalStore(root)
    in_place = tree.path.resolve() == store.root
    report = LegacyImportReport(tree, store.root, problems=list(tree.problems))
    for exp in tree.experiments:
        planned = _plan_experiment(store, exp, in_place)
        report.planned.append(planned)
        if planned.action == SKIP and exp.matches:
            report.problems.append(f"{exp.path}: {planned.reason}")
    adopted = {p.exp.key for p in report.planned if p.action != SKIP}
    for batch_id, members in tree.entries.items():
        for key, entry in members.items():
            if key not in adopted:
                continue
            if in_place:
                report.views.append(PlannedView(batch_id, key, entry, KEEP))
                continue
            view = store.view_path(batch_id, *key)
            if view.exists() and not view.is_symlink():
                report.problems.append(f"{view}: exists and is not a symlink; batch view not created")
            else:
                report.views.append(PlannedView(batch_id, key, view, CREATE))
    return report


def _copy_experiment(exp: LegacyExperiment, store: LocalStore) -> None:
    """Copy one shared directory into the store under a temporary name, then rename it into place."""
    dest = store.experiment_dir(exp.dataset, exp.name)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.parent / f"{TMP_PREFIX}{exp.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    try:
        shutil.copytree(exp.path, tmp, symlinks=True)
        os.rename(tmp, dest)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if read_fingerprint(dest) != exp.legacy_fingerprint:
            raise


def _registration(exp: LegacyExperiment) -> dict[str, Any]:
    return {
        "fingerprint": exp.new_fingerprint,
        "scheme": IMPORT_SCHEME,
        "dataset": exp.dataset,
        "recipe": RECIPE,
        "semantic_name": exp.name,
        "stages": {},
        "params": exp.params,
        "purpose": exp.purpose,
        "description": exp.description,
        "config": exp.config,
        "config_yaml": exp.config_yaml,
        "origin_batch": exp.origin_batch,
        "created_at": exp.created_at.replace(tzinfo=timezone.utc).isoformat(timespec="seconds"),
        "legacy_fingerprint": exp.legacy_fingerprint,
    }


def _adopt(planned: PlannedExperiment, store: LocalStore, lineage: Lineage) -> str | None:
    """Register one experiment (store and lineage); a problem string when its name was taken meanwhile."""
    exp = planned.exp
    carried: list[dict[str, Any]] = []
    if planned.replaces:
        carried = lineage.batches_using(planned.replaces)
        store.remove_registration(planned.replaces)
        store.release_name(exp.dataset, exp.name)
        lineage.remove_experiment(planned.replaces)
    if not store.claim_name(exp.dataset, exp.name, exp.new_fingerprint):
        return f"{exp.path}: name {exp.dataset}/{exp.name} was reserved by another fingerprint meanwhile; not imported"
    store.save_registration(_registration(exp))
    lineage.record_experiment(
        fingerprint=exp.new_fingerprint, scheme=IMPORT_SCHEME, dataset=exp.dataset, semantic_name=exp.name,
        shared_path=str(store.experiment_dir(exp.dataset, exp.name)), params=exp.params, config_yaml=exp.config_yaml,
        origin_batch=exp.origin_batch, created_at=exp.created_at, legacy_fingerprint=exp.legacy_fingerprint,
    )
    if exp.splits:
        lineage.mark_complete(exp.new_fingerprint, completed_at=exp.created_at)
    for member in carried:
        lineage.record_membership(batch_id=member["batch_id"], dataset=member["dataset"], fingerprint=exp.new_fingerprint,
                                  view_path=member["view_path"], reused=member["reused"])
    return None


def _joined(values: list[str | None]) -> str | None:
    """The distinct values in order, `; `-joined (None when there is none)."""
    return "; ".join(dict.fromkeys(v for v in values if v)) or None


def import_legacy(path: str | Path, root: str | Path, *, lineage: Lineage) -> LegacyImportReport:
    """Adopt the legacy tree at `path` into the store at `root` (idempotent).

    In place (`path` is `root`) nothing under `_shared` or `batch_*` is touched; otherwise the
    shared directories are copied (never over existing data) and batch views are made as relative
    symlinks. Mismatching or unreadable experiments are reported in `problems` and not imported.
    Data is copied first; then registrations and lineage, in one lineage transaction.
    """
    report = plan_import(path, root)
    store = LocalStore(root)
    for planned in (p for p in report.planned if p.copy):
        _copy_experiment(planned.exp, store)
    done: dict[tuple[str, str], LegacyExperiment] = {}
    with lineage.session():
        for planned in (p for p in report.planned if p.action != SKIP):
            problem = _adopt(planned, store, lineage)
            if problem:
                report.problems.append(problem)
            else:
                done[planned.exp.key] = planned.exp
        for batch_id, members in report.tree.entries.items():
            keys = [k for k in members if k in done]
            if not keys:
                continue
            origin = [done[k] for k in keys if done[k].origin_batch == batch_id]
            lineage.record_batch(batch_id, purpose=_joined([e.purpose for e in origin]),
                                 description=_joined([e.description for e in origin]),
                                 created_at=batch_date(batch_id) or min(done[k].created_at for k in keys))
        for view in (v for v in report.views if v.key in done):
            exp = done[view.key]
            path_ = view.path if view.action == KEEP else store.path(store.link(view.batch_id, *view.key))
            lineage.record_membership(batch_id=view.batch_id, dataset=exp.dataset, fingerprint=exp.new_fingerprint,
                                      view_path=str(path_), reused=view.batch_id != exp.origin_batch)
    report.imported = list(done.values())
    return report
