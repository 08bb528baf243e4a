"""What must hold of a store after any fault: no view dangles, nothing partial is visible, no temporary file or
live lease is left behind, and the stage cache agrees with the published data."""

from __future__ import annotations

import json
import os
from pathlib import Path

from synth_assets.core.leases import _live
from synth_assets.core.pending_stages import CONTENT_FIELD, PENDING_PREFIX
from synth_assets.core.store import TMP_PREFIX
from synth_assets.core.store_local import LocalStore


def dangling_views(root: Path) -> list[str]:
    """Batch views whose target is not complete data (a `.fingerprint` and a readable train file)."""
    bad = []
    for view in root.glob("batch_*/*/*"):
        if not (view / ".fingerprint").is_file():
            bad.append(f"{view}: no complete data behind it")
    return bad


def temporary_files(root: Path) -> list[str]:
    """Temporary files and folders of writers anywhere in the store (`.tmp-*`)."""
    return [str(p) for p in root.rglob(f"{TMP_PREFIX}*")]


def pending_stages(root: Path) -> list[str]:
    return [str(p) for p in root.glob(f"_stages/*/*/{PENDING_PREFIX}*")]


def live_leases(root: Path) -> list[str]:
    """Leases held by a live holder (after the commands have ended: a lease nobody released)."""
    store = LocalStore(root)
    leases = root / ".synth" / "leases"
    found = []
    for lease in leases.rglob("*") if leases.is_dir() else []:
        if lease.is_file() and lease.name.isdigit() and _live(store, lease.relative_to(root).as_posix()):
            found.append(str(lease))
    return found


def stage_disagreements(root: Path) -> list[str]:
    """Complete experiments whose recorded stage contents differ from the stage folders now current."""
    store = LocalStore(root)
    bad = []
    for record in store.registrations():
        if not store.record_complete(record):
            continue
        summary = store.experiment_metadata(record["dataset"], record["semantic_name"])["summary"]
        for stage, content in summary.get(CONTENT_FIELD, {}).items():
            meta = store.stage_dir(record["dataset"], stage, record["stages"][stage]) / "meta.json"
            now = json.loads(meta.read_text())["content_sha256"] if meta.is_file() else None
            if now != content:
                bad.append(f"{record['semantic_name']}: stage {stage} holds {now}, the published data was made from {content}")
    return bad


def unmarked_complete(root: Path) -> list[str]:
    """Experiments lineage or a view shows as complete whose folder has no marker."""
    return [str(p) for p in root.glob("_shared/*/*") if not p.name.startswith(TMP_PREFIX) and os.path.isdir(p)
            and not (p / ".fingerprint").is_file() and any(v.resolve() == p.resolve() for v in root.glob("batch_*/*/*"))]


def after_kill(root: Path) -> list[str]:
    """What must hold right after a SIGKILL (temporary copies of the killed writer may remain: a rerun clears them)."""
    return dangling_views(root) + unmarked_complete(root) + stage_disagreements(root)


def settled(root: Path) -> list[str]:
    """What must hold once a command has run to its end after the faults."""
    return after_kill(root) + temporary_files(root) + pending_stages(root) + live_leases(root)
