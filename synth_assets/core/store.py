"""The shared store: one layout, on a local filesystem or on S3.

```
{root}/_shared/{Dataset}/{semantic_name}/     one physical copy per fingerprint
    .fingerprint  experiment_metadata.json  generation_config.yaml  README.md
    {Dataset}/{dataset}_{split}.jsonl
{root}/_stages/{Dataset}/{stage}/{stage_fp}/  intermediate stage outputs (data.jsonl, meta.json, .fingerprint)
{root}/batch_{...}/{Dataset}/{semantic_name}  batch view: a relative symlink (local) or a manifest object (S3)
{root}/.synth/experiments/{fingerprint}.json  registered experiments (config + stage fingerprints)
{root}/.synth/names/{Dataset}/{semantic_name} reservation of a name by a fingerprint
```
`.fingerprint` is written last: locally the whole directory is built under a temporary name and
renamed into place; on S3 the data objects go first and the marker last. Nothing without its
marker is ever complete. Everything below works on keys relative to the root; `uri(key)` turns
a key into a path or an `s3://` URL.
"""

from __future__ import annotations

import abc
import contextlib
import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from synth_assets.core.batch_ids import is_batch_id
from synth_assets.core.leases import Lease, claim
from synth_assets.core.store_views import BatchViews

FINGERPRINT_FILE = ".fingerprint"
TMP_PREFIX = ".tmp-"
SHARED, STAGES, META = "_shared", "_stages", ".synth"
METADATA_FILE = "experiment_metadata.json"  # a published experiment's parameters and summary (core/publish.py writes it)


def _name_marker(dataset: str, name: str) -> str:
    """The key whose content is the fingerprint holding a semantic name."""
    return f"{META}/names/{dataset}/{name}"


def jsonl_bytes(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")


def parse_jsonl(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


class Rejected(Exception):
    """Raised in `Store.building` when a blocking check rejects the new copy: never complete (no `.fingerprint`). A first
    copy stays in place unmarked, for inspection (the next build replaces it); a replacing copy is dropped."""


class DirWriter(abc.ABC):
    """Files of one directory being built; committed by `Store.building`."""

    @abc.abstractmethod
    def write_bytes(self, relative: str, data: bytes) -> None: ...

    @abc.abstractmethod
    def read_bytes(self, relative: str) -> bytes: ...  # a file written so far (checks before the commit read it)

    def write_text(self, relative: str, text: str) -> None:
        self.write_bytes(relative, text.encode("utf-8"))

    def copy_file(self, source: Path, relative: str) -> None:
        self.write_bytes(relative, Path(source).read_bytes())


class Store(BatchViews):
    """Logical operations of the store over a few storage primitives.

    `synth_assets.core.stores.open_store(root)` opens the right backend: `S3Store` for `s3://bucket/prefix`, else `LocalStore`.
    """

    root_uri: str
    symlink_views = False  # views are real symlinks one can read files through (local) or manifests (S3)

    # --- primitives ----------------------------------------------------------------------------
    @abc.abstractmethod
    def uri(self, key: str) -> str: ...

    @abc.abstractmethod
    def read_bytes(self, key: str) -> bytes:
        """Raise FileNotFoundError when absent."""

    @abc.abstractmethod
    def write_bytes(self, key: str, data: bytes) -> None:
        """Write one object/file atomically."""

    @abc.abstractmethod
    def create_exclusive(self, key: str, data: bytes) -> bool:
        """Create `key` only if absent; False when it already exists."""

    @abc.abstractmethod
    def delete(self, key: str) -> None: ...

    @abc.abstractmethod
    def delete_prefix(self, prefix: str) -> None:
        """Delete a directory and everything under it."""

    @abc.abstractmethod
    def children(self, prefix: str) -> list[str]:
        """Names directly under a directory prefix (files and folders)."""

    @abc.abstractmethod
    def building(self, prefix: str, fingerprint: str, *, replace: bool = False) -> contextlib.AbstractContextManager[DirWriter]:
        """Build a directory; on success it appears complete at `prefix` with `.fingerprint` last.

        `replace`: copy-on-write over a complete directory, swapped in atomically once the new copy is
        complete (readers never see a missing or partial directory; a failure leaves the old one)."""

    @abc.abstractmethod
    def promote(self, source: str, prefix: str, fingerprint: str) -> None:
        """Make the complete directory `source` the one at `prefix` (replaced atomically), then remove `source`."""

    @abc.abstractmethod
    def clear_leftovers(self, prefix: str) -> None:
        """Remove what killed writers of `prefix` left behind (only while holding the claim on it)."""

    def claim(self, key: str, done: Callable[[], bool], on_wait: Callable[[str], None] | None = None) -> Lease | None:
        """One worker per `key` (see `leases`): the lease, or None once `done()` holds."""
        return claim(self, key, done, on_wait=on_wait)

    @abc.abstractmethod
    def write_view(self, view_key: str, target_key: str, fingerprint: str) -> None: ...

    @abc.abstractmethod
    def read_view(self, view_key: str) -> str | None:
        """The target key of a batch view, or None when `view_key` is no view."""

    @abc.abstractmethod
    def relative_key(self, target: str | Path) -> str | None:
        """The key of a path/URL inside this store (paths may be relative to the store root), or None."""

    def inside(self, target: str | Path) -> bool:
        """`target` does not lead out of the store (S3 keys cannot)."""
        return True

    # --- layout ----------------------------------------------------------------------------------
    @staticmethod
    def experiment_key(dataset: str, name: str) -> str:
        return f"{SHARED}/{dataset}/{name}"

    @staticmethod
    def stage_key(dataset: str, stage: str, stage_fp: str) -> str:
        return f"{STAGES}/{dataset}/{stage}/{stage_fp[:16]}"

    @staticmethod
    def view_key(batch_id: str, dataset: str, name: str) -> str:
        return f"{batch_id}/{dataset}/{name}"

    def experiment_uri(self, dataset: str, name: str) -> str:
        return self.uri(self.experiment_key(dataset, name))

    def view_uri(self, batch_id: str, dataset: str, name: str) -> str:
        return self.uri(self.view_key(batch_id, dataset, name))

    def fingerprint_at(self, prefix: str) -> str | None:
        try:
            return self.read_bytes(f"{prefix}/{FINGERPRINT_FILE}").decode("utf-8").strip() or None
        except (FileNotFoundError, NotADirectoryError):
            return None

    # --- experiments -----------------------------------------------------------------------------
    def is_complete(self, dataset: str, name: str, fingerprint: str) -> bool:
        return self.fingerprint_at(self.experiment_key(dataset, name)) == fingerprint

    def record_complete(self, record: dict[str, Any]) -> bool:
        """A registration's data is complete (by its own or, for imported trees, its legacy fingerprint)."""
        marker = self.fingerprint_at(self.experiment_key(record["dataset"], record["semantic_name"]))
        return marker is not None and marker in (record["fingerprint"], record.get("legacy_fingerprint"))

    # --- run outcomes --------------------------------------------------------------------------
    def record_failure(self, fingerprint: str, *, run_id: str, stage: str, error: str) -> None:
        """A run of this registration failed (shown as `failed` until a run completes it)."""
        status = {"status": "failed", "run_id": run_id, "stage": stage, "error": error[:2000],
                  "at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        self.write_bytes(f"{META}/status/{fingerprint}.json", json.dumps(status, indent=2).encode())

    def clear_failure(self, fingerprint: str) -> None:
        self.delete(f"{META}/status/{fingerprint}.json")

    def failure(self, fingerprint: str) -> dict[str, Any] | None:
        """The last failure of a registration that no run has completed since, or None."""
        try:
            return json.loads(self.read_bytes(f"{META}/status/{fingerprint}.json"))
        except FileNotFoundError:
            return None

    def reserve_name(self, dataset: str, preferred: str, fingerprint: str) -> str:
        """The preferred semantic name, or a deterministic `_{fp6}` suffix when another fingerprint has it.

        The name marker under `.synth/names/` is the authority: every writer of `_shared` (runs and
        `import-legacy`) reserves its name there first.
        """
        for name in (preferred, f"{preferred}_{fingerprint[:6]}", f"{preferred}_{fingerprint[:12]}"):
            if self.claim_name(dataset, name, fingerprint):
                return name
        raise RuntimeError(f"no free semantic name for {dataset}/{preferred}")

    def claim_name(self, dataset: str, name: str, fingerprint: str) -> bool:
        """Hold `name` for `fingerprint` (race-free); False when another fingerprint holds it."""
        return self.create_exclusive(_name_marker(dataset, name), fingerprint.encode()) or self.name_holder(dataset, name) == fingerprint

    def name_holder(self, dataset: str, name: str) -> str | None:
        """The fingerprint holding `name` (its name marker), None when nobody holds it."""
        try:
            return self.read_bytes(_name_marker(dataset, name)).decode().strip() or None
        except FileNotFoundError:
            return None

    def failed_holder(self, dataset: str, name: str) -> str | None:
        """The fingerprint holding `name` if its run failed and it never completed (it holds no data), else None."""
        holder = self.name_holder(dataset, name)
        if holder is None or self.failure(holder) is None or self.is_complete(dataset, name, holder):
            return None
        return holder

    def release_name(self, dataset: str, name: str) -> None:
        self.delete(_name_marker(dataset, name))

    def save_registration(self, record: dict[str, Any]) -> dict[str, Any]:
        """Save a new registration; the first one saved wins. Returns the registration in force."""
        key = f"{META}/experiments/{record['fingerprint']}.json"
        if self.create_exclusive(key, json.dumps(record, indent=2, sort_keys=True).encode()):
            return record
        return json.loads(self.read_bytes(key))

    def update_registration(self, record: dict[str, Any]) -> None:
        """Replace a saved registration by one of the same fingerprint (settings that change no data, e.g. failure budgets)."""
        key = f"{META}/experiments/{record['fingerprint']}.json"
        saved = json.loads(self.read_bytes(key))
        if any(saved[k] != record[k] for k in ("fingerprint", "stages", "params", "semantic_name", "dataset", "recipe")):
            raise ValueError(f"registration {record['fingerprint'][:12]}: only settings outside the fingerprint may change")
        self.write_bytes(key, json.dumps(record, indent=2, sort_keys=True).encode())

    def list_registrations(self) -> None:
        """Remember which fingerprints are registered (one listing), so that looking up the new ones
        of a large drop costs no request each. Safe against other writers: `save_registration`
        is first-wins, so a registration made meanwhile is found there."""
        self._listed = {n[: -len(".json")] for n in self.children(f"{META}/experiments") if n.endswith(".json")}

    def remove_registration(self, fingerprint: str) -> None:
        self.delete(f"{META}/experiments/{fingerprint}.json")

    def registration(self, fingerprint: str) -> dict[str, Any]:
        """A registered experiment by full fingerprint or unique prefix."""
        if len(fingerprint) == 64:
            if fingerprint not in getattr(self, "_listed", {fingerprint}):
                raise KeyError(f"no registered experiment with fingerprint {fingerprint!r} under {self.root_uri}")
            try:
                return json.loads(self.read_bytes(f"{META}/experiments/{fingerprint}.json"))
            except FileNotFoundError:
                raise KeyError(f"no registered experiment with fingerprint {fingerprint!r} under {self.root_uri}") from None
        matches = sorted(n for n in self.children(f"{META}/experiments") if n.startswith(fingerprint) and n.endswith(".json"))
        if not matches:
            raise KeyError(f"no registered experiment with fingerprint {fingerprint!r} under {self.root_uri}")
        if len(matches) > 1:
            raise KeyError(f"fingerprint prefix {fingerprint!r} is ambiguous: {[m[:12] for m in matches]}")
        return json.loads(self.read_bytes(f"{META}/experiments/{matches[0]}"))

    def registrations(self) -> list[dict[str, Any]]:
        return [json.loads(self.read_bytes(f"{META}/experiments/{n}")) for n in sorted(self.children(f"{META}/experiments")) if n.endswith(".json")]

    def complete_experiments(self) -> Iterator[tuple[str, str, str]]:
        """(dataset, name, fingerprint) for every complete experiment in `_shared`."""
        for dataset in sorted(self.children(SHARED)):
            for name in sorted(self.children(f"{SHARED}/{dataset}")):
                fingerprint = self.fingerprint_at(self.experiment_key(dataset, name))
                if fingerprint:
                    yield dataset, name, fingerprint

    def files_key_of(self, prefix: str) -> str:
        """Where the files of a complete directory are (S3 folders replaced copy-on-write keep them in a version)."""
        return prefix

    def files_key(self, dataset: str, name: str) -> str:
        return self.files_key_of(self.experiment_key(dataset, name))

    def experiment_metadata(self, dataset: str, name: str) -> Any:
        """The published experiment's `experiment_metadata.json` (FileNotFoundError before it is published; ValueError if malformed)."""
        return json.loads(self.read_bytes(f"{self.files_key(dataset, name)}/{METADATA_FILE}"))

    def published_data_file(self, dataset: str, name: str) -> str:
        """The key of a published experiment's main data file (as its metadata records it)."""
        try:
            summary = self.experiment_metadata(dataset, name).get("summary", {})
        except (FileNotFoundError, ValueError):
            summary = {}
        return f"{self.files_key(dataset, name)}/{summary.get('data_file') or f'{dataset}/{dataset.lower()}_train.jsonl'}"

    def remove_experiment(self, dataset: str, name: str) -> None:
        self.delete_prefix(self.experiment_key(dataset, name))

    # --- stages ----------------------------------------------------------------------------------
    def stage_complete(self, dataset: str, stage: str, stage_fp: str) -> bool:
        return self.fingerprint_at(self.stage_key(dataset, stage, stage_fp)) == stage_fp

    def write_stage(
        self, dataset: str, stage: str, stage_fp: str, rows: list[dict], meta: dict, extra_files: dict[str, bytes] | None = None,
        *, at: str | None = None,
    ) -> tuple[str, str]:
        """Write a stage's rows (and side files, e.g. a quarantine) atomically (`at`: a rebuild's pending folder, built
        afresh); return the data key and content hash."""
        prefix = at or self.stage_key(dataset, stage, stage_fp)
        data = jsonl_bytes(rows)
        content_hash = hashlib.sha256(data).hexdigest()
        if at is not None:
            self.delete_prefix(at)
        with self.building(prefix, stage_fp) as out:
            out.write_bytes("data.jsonl", data)
            for relative, content in (extra_files or {}).items():
                out.write_bytes(relative, content)
            out.write_text("meta.json", json.dumps({**meta, "content_sha256": content_hash}, indent=2, default=str))
        return f"{self.files_key_of(prefix)}/data.jsonl", content_hash

    def read_stage(self, dataset: str, stage: str, stage_fp: str, at: str | None = None) -> list[dict[str, Any]]:
        prefix = at or self.stage_key(dataset, stage, stage_fp)
        if self.fingerprint_at(prefix) != stage_fp:
            raise FileNotFoundError(f"stage {stage} {stage_fp[:12]} of {dataset} is not complete ({self.uri(prefix)})")
        return self.read_jsonl(f"{self.files_key_of(prefix)}/data.jsonl")

    def read_jsonl(self, key: str) -> list[dict[str, Any]]:
        return parse_jsonl(self.read_bytes(key))

    def resolve(self, target: str | Path) -> tuple[str, str] | None:
        """(dataset, name) of the experiment a batch path, shared path (or a file inside either) points at."""
        key = self.relative_key(target)
        if key is None:
            return None
        parts = key.split("/")
        if parts[0] == SHARED and len(parts) >= 3:
            return parts[1], parts[2]
        if is_batch_id(parts[0]) and len(parts) >= 3:
            view = self.read_view("/".join(parts[:3]))
            if view is not None:
                return tuple(view.split("/")[1:3])  # type: ignore[return-value]
        return None

    def find(self, target: str | Path) -> dict[str, Any]:
        """A registered experiment by batch path, shared path (or a file inside) or fingerprint prefix."""
        located = self.resolve(target)
        if located is None:
            if self.relative_key(target) is not None and "/" in str(target):
                raise KeyError(f"{target} is neither a shared experiment nor a batch view in {self.root_uri}")
            return self.registration(str(target))
        record = self.record_by_name(*located)
        if record is None:
            raise KeyError(f"{target} is not a registered experiment")
        return record

    def record_by_name(self, dataset: str, name: str) -> dict[str, Any] | None:
        """The registration holding a semantic name (its name marker names the fingerprint)."""
        holder = self.name_holder(dataset, name)
        try:
            return self.registration(holder) if holder else None
        except KeyError:
            return None

