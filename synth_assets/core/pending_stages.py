"""Stage folders rebuilt by `synth regenerate`, copy-on-write up to the publish.

A rebuilt stage is written beside its current folder, at `pending_key(prefix)` (`.next-{fp16}`), and read from
there by the rest of the same run. The new `_shared` folder records the content hash of every stage it was made
from (`stage_content_sha256` in its summary); once it is swapped in, each pending folder whose hash it records
becomes current (`settle`). A run killed before the swap leaves pending folders the published data does not
record: `settle` drops them, and the old stages stay current. A run killed between the swap and the promotion
leaves pending folders it does record: `settle` promotes them. `settle` runs after a regenerate's publish, under its
claim, and when a dead run of this machine is reported (the next `synth run` or `regenerate`), so the stage cache
and the published data agree.
"""

from __future__ import annotations

import json
from typing import Any

from synth_assets.core.store import Store

PENDING_PREFIX = ".next-"
CONTENT_FIELD = "stage_content_sha256"


def pending_key(prefix: str) -> str:
    parent, _, leaf = prefix.rpartition("/")
    return f"{parent}/{PENDING_PREFIX}{leaf}"


def content_hash(store: Store, prefix: str) -> str | None:
    """The content hash a complete stage folder records in its `meta.json` (None: incomplete or absent)."""
    if store.fingerprint_at(prefix) is None:
        return None
    return _recorded_hash(store, prefix)


def _recorded_hash(store: Store, prefix: str) -> str | None:
    try:
        return json.loads(store.read_bytes(f"{store.files_key_of(prefix)}/meta.json")).get("content_sha256")
    except (FileNotFoundError, ValueError):
        return None


def stage_prefix(store: Store, record: dict[str, Any], stage: str, pending: bool) -> str:
    """Where a stage of a registration is read from: its pending folder when this run rebuilt it (and it is complete)."""
    prefix = store.stage_key(record["dataset"], stage, record["stages"][stage])
    if pending and store.fingerprint_at(pending_key(prefix)) is not None:
        return pending_key(prefix)
    return prefix


def contents(store: Store, record: dict[str, Any], rebuilt: tuple[str, ...] | list[str], *, without: str | None = None) -> dict[str, str]:
    """The content hash of every stage a publish is made from (the pending folder of those rebuilt), one marker and one
    `meta.json` read per stage; `without`: the publishing stage, which has no stage folder."""
    out = {}
    for stage, fingerprint in record["stages"].items():
        if stage == without:
            continue
        prefix = store.stage_key(record["dataset"], stage, fingerprint)
        if stage in rebuilt and store.fingerprint_at(pending_key(prefix)) is not None:
            found = _recorded_hash(store, pending_key(prefix))
        else:
            found = content_hash(store, prefix)
        if found:
            out[stage] = found
    return out


def published_contents(store: Store, record: dict[str, Any]) -> dict[str, str]:
    if not store.record_complete(record):
        return {}
    try:
        summary = store.experiment_metadata(record["dataset"], record["semantic_name"]).get("summary", {})
    except (FileNotFoundError, ValueError):
        return {}
    return summary.get(CONTENT_FIELD) or {}


def settle(store: Store, record: dict[str, Any]) -> dict[str, str]:
    """Promote the pending stage folders the published data was made from, drop the others; what was done per stage."""
    published = published_contents(store, record)
    done = {}
    for stage, fingerprint in record.get("stages", {}).items():
        prefix = store.stage_key(record["dataset"], stage, fingerprint)
        pending = pending_key(prefix)
        if not store.children(pending):
            continue
        found = content_hash(store, pending)
        if found is not None and published.get(stage) == found:
            store.promote(pending, prefix, fingerprint)
            done[stage] = "promoted"
        else:
            store.delete_prefix(pending)
            done[stage] = "dropped"
    return done
