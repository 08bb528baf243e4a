"""The shared store on a local filesystem.

```
{root}/_shared/{Dataset}/{semantic_name}/     one physical copy per fingerprint
    .fingerprint  experiment_metadata.json  generation_config.yaml  README.md
    {Dataset}/{dataset}_{split}.jsonl
{root}/_stages/{Dataset}/{stage}/{stage_fp}/  intermediate stage outputs (data.jsonl, meta.json, .fingerprint)
{root}/batch_{...}/{Dataset}/{semantic_name} -> ../../_shared/{Dataset}/{semantic_name}
{root}/.synth/experiments/{fingerprint}.json  registered experiments (config + stage fingerprints)
{root}/.synth/names/{Dataset}/{semantic_name} reservation of a name by a fingerprint
```
Every directory is built under a temporary name and renamed into place; `.fingerprint` is written
last, so nothing partial ever looks complete.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

FINGERPRINT_FILE = ".fingerprint"


def atomic_write_text(path: Path, text: str) -> None:
    """Write a file so that readers see the old content or the new, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".tmp-{path.name}-{uuid.uuid4().hex[:8]}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> str:
    """Write rows as JSONL; return the sha256 of the bytes written."""
    data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows).encode("utf-8")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def read_rows(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_fingerprint(directory: Path) -> str | None:
    try:
        return (directory / FINGERPRINT_FILE).read_text(encoding="utf-8").strip() or None
    except (FileNotFoundError, NotADirectoryError):
        return None


@contextlib.contextmanager
def building(final: Path, fingerprint: str) -> Iterator[Path]:
    """Yield a temporary directory; on success mark it with `.fingerprint` and rename it to `final`."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".tmp-{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        atomic_write_text(tmp / FINGERPRINT_FILE, fingerprint + "\n")
        if final.exists() and read_fingerprint(final) is None:
            shutil.rmtree(final)  # leftovers without a marker are never complete data
        try:
            os.rename(tmp, final)
        except OSError:
            if read_fingerprint(final) != fingerprint:
                raise
            shutil.rmtree(tmp)  # another process finished the same fingerprint first
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class Store:
    """Paths and atomic operations of one store root."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.shared = self.root / "_shared"
        self.stages = self.root / "_stages"
        self.meta = self.root / ".synth"

    # --- experiments -------------------------------------------------------------------------
    def experiment_dir(self, dataset: str, name: str) -> Path:
        return self.shared / dataset / name

    def is_complete(self, dataset: str, name: str, fingerprint: str) -> bool:
        return read_fingerprint(self.experiment_dir(dataset, name)) == fingerprint

    def reserve_name(self, dataset: str, preferred: str, fingerprint: str) -> str:
        """The preferred semantic name, or a deterministic `_{fp6}` suffix when another fingerprint has it."""
        for name in (preferred, f"{preferred}_{fingerprint[:6]}", f"{preferred}_{fingerprint[:12]}"):
            marker = self.meta / "names" / dataset / name
            marker.parent.mkdir(parents=True, exist_ok=True)
            existing = read_fingerprint(self.experiment_dir(dataset, name))
            if existing not in (None, fingerprint):
                continue
            try:
                fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
                with os.fdopen(fd, "w") as handle:
                    handle.write(fingerprint)
                return name
            except FileExistsError:
                if marker.read_text().strip() == fingerprint:
                    return name
        raise RuntimeError(f"no free semantic name for {dataset}/{preferred}")

    def release_name(self, dataset: str, name: str) -> None:
        (self.meta / "names" / dataset / name).unlink(missing_ok=True)

    def save_registration(self, record: dict[str, Any]) -> None:
        atomic_write_text(self.meta / "experiments" / f"{record['fingerprint']}.json", json.dumps(record, indent=2, sort_keys=True))

    def registration(self, fingerprint: str) -> dict[str, Any]:
        """A registered experiment by full fingerprint or unique prefix."""
        folder = self.meta / "experiments"
        matches = sorted(folder.glob(f"{fingerprint}*.json")) if folder.is_dir() else []
        if not matches:
            raise KeyError(f"no registered experiment with fingerprint {fingerprint!r} under {self.root}")
        if len(matches) > 1:
            raise KeyError(f"fingerprint prefix {fingerprint!r} is ambiguous: {[m.stem[:12] for m in matches]}")
        return json.loads(matches[0].read_text(encoding="utf-8"))

    def registrations(self) -> list[dict[str, Any]]:
        folder = self.meta / "experiments"
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(folder.glob("*.json"))] if folder.is_dir() else []

    def complete_experiments(self) -> Iterator[tuple[str, str, str]]:
        """(dataset, name, fingerprint) for every complete experiment in `_shared`."""
        if not self.shared.is_dir():
            return
        for marker in sorted(self.shared.glob(f"*/*/{FINGERPRINT_FILE}")):
            yield marker.parent.parent.name, marker.parent.name, marker.read_text(encoding="utf-8").strip()

    # --- stages --------------------------------------------------------------------------------
    def stage_dir(self, dataset: str, stage: str, stage_fp: str) -> Path:
        return self.stages / dataset / stage / stage_fp[:16]

    def stage_complete(self, dataset: str, stage: str, stage_fp: str) -> bool:
        return read_fingerprint(self.stage_dir(dataset, stage, stage_fp)) == stage_fp

    def write_stage(self, dataset: str, stage: str, stage_fp: str, rows: list[dict], meta: dict) -> tuple[Path, str]:
        """Write a stage's rows atomically; return the data path and its content hash."""
        final = self.stage_dir(dataset, stage, stage_fp)
        with building(final, stage_fp) as tmp:
            content_hash = write_jsonl(tmp / "data.jsonl", rows)
            (tmp / "meta.json").write_text(json.dumps({**meta, "content_sha256": content_hash}, indent=2, default=str))
        return final / "data.jsonl", content_hash

    def read_stage(self, dataset: str, stage: str, stage_fp: str) -> list[dict[str, Any]]:
        directory = self.stage_dir(dataset, stage, stage_fp)
        if read_fingerprint(directory) != stage_fp:
            raise FileNotFoundError(f"stage {stage} {stage_fp[:12]} of {dataset} is not complete ({directory})")
        return read_rows(directory / "data.jsonl")

    # --- batch views ---------------------------------------------------------------------------
    def view_path(self, batch_id: str, dataset: str, name: str) -> Path:
        return self.root / batch_id / dataset / name

    def link(self, batch_id: str, dataset: str, name: str) -> Path:
        """Create the relative symlink of a batch view (idempotent)."""
        view = self.view_path(batch_id, dataset, name)
        view.parent.mkdir(parents=True, exist_ok=True)
        target = Path("..") / ".." / "_shared" / dataset / name
        if view.is_symlink() and os.readlink(view) == str(target):
            return view
        if view.is_symlink():
            view.unlink()
        tmp = view.with_name(f".tmp-{name}-{uuid.uuid4().hex[:8]}")
        os.symlink(target, tmp)
        os.replace(tmp, view)
        return view

    def unlink(self, batch_id: str, dataset: str | None = None, name: str | None = None) -> list[Path]:
        """Remove batch view links (never the shared data); prune empty folders."""
        batch = self.root / batch_id
        removed = [p for p in batch.glob(f"{dataset or '*'}/{name or '*'}") if p.is_symlink()]
        for link in removed:
            link.unlink()
        for folder in sorted([p for p in batch.glob("*") if p.is_dir() and not p.is_symlink()], reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()
        with contextlib.suppress(OSError):
            batch.rmdir()
        return removed

    def batches(self) -> list[str]:
        return sorted(p.name for p in self.root.glob("batch_*") if p.is_dir()) if self.root.is_dir() else []

    def views(self, batch_id: str) -> list[tuple[str, str, Path]]:
        """(dataset, name, link path) of every view in a batch."""
        return [(p.parent.name, p.name, p) for p in sorted((self.root / batch_id).glob("*/*")) if p.is_symlink()]

    def batches_linking(self, dataset: str, name: str) -> list[str]:
        return [b for b in self.batches() if self.view_path(b, dataset, name).is_symlink()]

    def resolve(self, path: str | Path) -> tuple[str, str] | None:
        """(dataset, name) of the shared experiment a batch path, shared path or file inside points at."""
        real = Path(os.path.realpath(path))
        try:
            rel = real.relative_to(self.shared)
        except ValueError:
            return None
        return (rel.parts[0], rel.parts[1]) if len(rel.parts) >= 2 else None

    def find(self, target: str | Path) -> dict[str, Any]:
        """A registered experiment by batch path, shared path (or a file inside) or fingerprint prefix."""
        if os.path.lexists(target):
            located = self.resolve(target)
            if located is None:
                raise KeyError(f"{target} is not inside {self.shared} (nor a batch view of it)")
            for record in self.registrations():
                if (record["dataset"], record["semantic_name"]) == located:
                    return record
            raise KeyError(f"{target} is not a registered experiment")
        return self.registration(str(target))

    def record_complete(self, record: dict[str, Any]) -> bool:
        """A registration's data is complete (by its own or, for imported trees, its legacy fingerprint)."""
        marker = read_fingerprint(self.experiment_dir(record["dataset"], record["semantic_name"]))
        return marker is not None and marker in (record["fingerprint"], record.get("legacy_fingerprint"))
