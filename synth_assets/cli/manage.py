"""`synth rm` and `synth import-legacy`: changing what the store holds."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from synth_assets.cli.common import console, fail, lineage, print_table, store
from synth_assets.core.batch_ids import is_batch_id
from synth_assets.core.fingerprint import short
from synth_assets.core.leases import held
from synth_assets.core.legacy import PlannedExperiment, import_legacy, plan_import
from synth_assets.core.lineage import Lineage
from synth_assets.core.store import Store


MIN_PREFIX = 4  # a shorter fingerprint prefix is too easy to mistype into another experiment


def rm_command(target: str = typer.Argument(..., help="A batch (id or path), a batch view, a shared path or a fingerprint."),
               force: bool = typer.Option(False, "--force", help="Remove referencing batch views first.")) -> None:
    """Remove a batch view, or shared data no batch references (never data another batch uses, unless --force)."""
    s, lin = store(), lineage()
    if target.strip(" ./*?") == "" or any(c in target for c in "*?") or (len(target) < MIN_PREFIX and "/" not in target
                                                                          and not is_batch_id(target)):
        raise fail(f"refusing to remove {target!r}: name a batch, a view, a shared path or at least {MIN_PREFIX} characters "
                   "of a fingerprint", 2)
    if not s.inside(target):
        raise fail(f"refusing to remove {target}: it leads out of the store {s.root_uri}", 2)
    key = s.relative_key(target) or target
    parts = key.split("/")
    if len(parts) == 1 and (parts[0] in s.batches() or (is_batch_id(parts[0]) and lin.batch_members(parts[0]))):
        members = lin.batch_members(parts[0])
        link = s.batch_link(parts[0])
        if link is not None:  # a batch folder that is a symlink: remove the link, never the views of the folder it names
            s.delete(parts[0])
            removed_what = f"the link {parts[0]} (to {link}, whose views stay)"
        else:
            removed_what = f"batch {parts[0]}: {len(s.unlink(parts[0]))} views"
        count = lin.remove_membership(parts[0])
        lin.remove_batch(parts[0])
        dropped = _drop_unused_pending(s, lin, [m["fingerprint"] for m in members])
        console.print(f"removed {removed_what}, {count} memberships"
                      + (f", {len(dropped)} pending experiments no other batch uses" if dropped else "") + "; shared data untouched")
        return
    if parts[0] in s.batches() and len(parts) == 3 and s.read_view(key) is not None:
        record = s.record_by_name(*s.resolve(key))  # None: the view leads to nothing registered (a dangling link)
        s.unlink(*parts)
        if record is not None:
            lin.remove_membership(parts[0], parts[1], record["fingerprint"])
        console.print(f"removed view {target}; shared data untouched")
        return
    try:
        record = s.find(target)
    except KeyError as exc:
        raise fail(exc.args[0]) from None
    dataset, name = record["dataset"], record["semantic_name"]
    users = s.batches_linking(dataset, name)
    if users and not force:
        print_table(f"{dataset}/{name} is used by", ["batch"], ([b] for b in users))
        raise fail(f"refusing to remove {dataset}/{name} ({short(record['fingerprint'])}): {len(users)} batches reference it; "
                   "remove those views first or pass --force")
    for batch_id in users:
        s.unlink(batch_id, dataset, name)
        lin.remove_membership(batch_id, dataset, record["fingerprint"])
    s.remove_experiment(dataset, name)
    s.remove_registration(record["fingerprint"])
    s.release_name(dataset, name)
    lin.remove_experiment(record["fingerprint"])
    console.print(f"removed {dataset}/{name} ({short(record['fingerprint'])})" + (f" and {len(users)} views" if users else ""))


def _drop_unused_pending(s: Store, lin: Lineage, fingerprints: list[str]) -> list[str]:
    """Registrations without data that no batch uses any more are forgotten, releasing their names (a corrected
    config gets the name, not a `_suffix`); those with data, or with a run under way, stay."""
    dropped = []
    for fingerprint in dict.fromkeys(fingerprints):
        try:
            record = s.registration(fingerprint)
        except KeyError:
            continue
        dataset, name = record["dataset"], record["semantic_name"]
        keys = [s.experiment_key(dataset, name)] + [s.stage_key(dataset, stage, fp) for stage, fp in record.get("stages", {}).items()]
        if lin.batches_using(fingerprint) or s.record_complete(record) or any(held(s, key) for key in keys):
            continue
        s.remove_registration(fingerprint)
        s.clear_failure(fingerprint)
        if s.record_by_name(dataset, name) is None:
            s.release_name(dataset, name)
        lin.remove_experiment(fingerprint)
        dropped.append(fingerprint)
    return dropped


def import_legacy_command(path: Path = typer.Argument(..., exists=True, file_okay=False, help="Root of an old tooling tree."),
                          dry_run: bool = typer.Option(False, "--dry-run", help="Show what would happen; write nothing.")) -> None:
    """Adopt a tree of the old tooling: verify legacy fingerprints, register experiments and batches."""
    s = store()
    if not s.symlink_views:
        raise fail("import-legacy adopts local trees; use a local --root")
    try:
        report = plan_import(path, s.root_uri) if dry_run else import_legacy(path, s.root_uri, lineage=lineage())
    except ValueError as exc:
        raise fail(str(exc)) from None
    print_table("Would import (dry run: nothing written)" if dry_run else "Imported experiments",
                ["dataset", "experiment", "legacy fp", "verified", "data", "action", "origin batch", "created"], (
        [p.exp.dataset, p.exp.name, p.exp.legacy_fingerprint, "yes" if p.exp.matches else f"NO (computed {p.exp.computed_fingerprint})",
         ", ".join(p.exp.splits) or "no data", _action(p), p.exp.origin_batch, p.exp.created_at] for p in report.planned))
    views = Counter((v.batch_id, v.action) for v in report.views)
    print_table("Batches", ["batch", "experiments", "views"], (
        [b, len(members), ", ".join(f"{n} {action}" for (batch, action), n in views.items() if batch == b)]
        for b, members in report.batches.items()))
    for problem in report.problems:
        console.print(f"[yellow]problem:[/] {problem}")
    if report.mismatches:
        raise typer.Exit(1)


def _action(planned: PlannedExperiment) -> str:
    if planned.reason:
        return f"{planned.action}: {planned.reason}"
    notes = (["copy"] if planned.copy else []) + ([f"replaces {short(planned.replaces)}"] if planned.replaces else [])
    return f"{planned.action} ({', '.join(notes)})" if notes else planned.action
