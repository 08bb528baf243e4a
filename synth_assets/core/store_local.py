"""The store on a local filesystem: directories renamed into place, views as relative symlinks."""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from synth_assets.core.faults import kill_point
from synth_assets.core.store import FINGERPRINT_FILE, META, SHARED, TMP_PREFIX, DirWriter, Rejected, Store


def _synced_temporary(path: Path, data: bytes) -> Path:
    """`data` written in full and synced to a new temporary sibling of `path` (its folder made), for the caller to move
    into place; a full disk leaves no temporary file behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}")
    try:
        with open(tmp, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write a file so that readers see the old content or the new, never a part."""
    tmp = _synced_temporary(path, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a failed rename leaves no temporary file behind
        raise


def read_fingerprint(directory: Path) -> str | None:
    try:
        return (directory / FINGERPRINT_FILE).read_text(encoding="utf-8").strip() or None
    except (FileNotFoundError, NotADirectoryError):
        return None


class _LocalWriter(DirWriter):
    def __init__(self, directory: Path):
        self.directory = directory

    def write_bytes(self, relative: str, data: bytes) -> None:
        path = self.directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def copy_file(self, source: Path, relative: str) -> None:
        path = self.directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)

    def read_bytes(self, relative: str) -> bytes:
        return (self.directory / relative).read_bytes()


_RENAME_EXCHANGE = 2


def exchange(a: Path, b: Path) -> None:
    """Swap two paths atomically (Linux `renameat2(RENAME_EXCHANGE)`): readers see one or the other, never neither."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.renameat2(-100, os.fsencode(a), -100, os.fsencode(b), _RENAME_EXCHANGE) != 0:  # -100: AT_FDCWD
        error = ctypes.get_errno()
        raise OSError(error, f"cannot swap {a} and {b}: {os.strerror(error)}")


def swap_delay_s() -> float:
    """Fault injection for tests: seconds to wait with a complete new copy, just before it is swapped in."""
    return float(os.environ.get("SYNTH_SWAP_DELAY_S") or 0)


@contextlib.contextmanager
def building(final: Path, fingerprint: str, *, replace: bool = False) -> Iterator[Path]:
    """Yield a temporary directory; on success mark it with `.fingerprint` and rename it to `final`.

    With `replace`, a complete `final` is swapped out atomically (copy-on-write: readers of `final`
    see the old data until the new copy is complete) and then deleted.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f"{TMP_PREFIX}{final.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        yield tmp
        atomic_write_bytes(tmp / FINGERPRINT_FILE, (fingerprint + "\n").encode())
        if final.exists() and read_fingerprint(final) is None:
            shutil.rmtree(final)  # leftovers without a marker are never complete data
        kill_point("at_shared_swap" if final.parent.parent.name == SHARED else "at_stage_swap")
        if replace and final.exists():
            time.sleep(swap_delay_s())
            exchange(tmp, final)
            shutil.rmtree(tmp)  # now the old copy
            return
        try:
            os.rename(tmp, final)
        except OSError:
            if read_fingerprint(final) != fingerprint:
                raise
            shutil.rmtree(tmp)  # another process finished the same fingerprint first
    except Rejected:
        if not replace and read_fingerprint(final) is None:  # kept unmarked for inspection: never complete
            shutil.rmtree(final, ignore_errors=True)
            os.rename(tmp, final)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
        raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


class LocalStore(Store):
    """Paths and atomic operations of one local store root."""

    symlink_views = True

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.root_uri = str(self.root)
        self.shared = self.root / "_shared"
        self.stages = self.root / "_stages"
        self.meta = self.root / META

    def path(self, key: str) -> Path:
        return self.root / key if key else self.root

    def uri(self, key: str) -> str:
        return str(self.path(key))

    def read_bytes(self, key: str) -> bytes:
        try:
            return self.path(key).read_bytes()
        except (IsADirectoryError, NotADirectoryError):
            raise FileNotFoundError(self.uri(key)) from None

    def write_bytes(self, key: str, data: bytes) -> None:
        atomic_write_bytes(self.path(key), data)

    def create_exclusive(self, key: str, data: bytes) -> bool:
        """Written in full under a temporary name, then linked into place (`link` fails if the name exists): a writer
        killed meanwhile leaves no empty or partial registration, name marker or lease, which would block others."""
        path = self.path(key)
        tmp = _synced_temporary(path, data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            return False
        finally:
            tmp.unlink(missing_ok=True)
        return True

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)

    def delete_prefix(self, prefix: str) -> None:
        shutil.rmtree(self.path(prefix), ignore_errors=True)

    def children(self, prefix: str) -> list[str]:
        folder = self.path(prefix)
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if not p.name.startswith(TMP_PREFIX))

    @contextlib.contextmanager
    def building(self, prefix: str, fingerprint: str, *, replace: bool = False) -> Iterator[DirWriter]:
        with building(self.path(prefix), fingerprint, replace=replace) as tmp:
            yield _LocalWriter(tmp)

    def promote(self, source: str, prefix: str, fingerprint: str) -> None:
        new, final = self.path(source), self.path(prefix)
        if read_fingerprint(final) is not None:
            exchange(new, final)
            shutil.rmtree(new)  # now the old copy
        else:
            shutil.rmtree(final, ignore_errors=True)
            os.rename(new, final)

    def clear_leftovers(self, prefix: str) -> None:
        """Temporary copies of `prefix` left by killed writers (call with the claim on `prefix` held)."""
        final = self.path(prefix)
        for leftover in final.parent.glob(f"{TMP_PREFIX}{final.name}-*") if final.parent.is_dir() else []:
            shutil.rmtree(leftover, ignore_errors=True)

    def write_view(self, view_key: str, target_key: str, fingerprint: str) -> None:
        view = self.path(view_key)
        view.parent.mkdir(parents=True, exist_ok=True)
        target = os.path.relpath(self.path(target_key), view.parent)
        tmp = view.with_name(f"{TMP_PREFIX}{view.name}-{uuid.uuid4().hex[:8]}")
        os.symlink(target, tmp)
        try:
            os.replace(tmp, view)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def read_view(self, view_key: str) -> str | None:
        view = self.path(view_key)
        if not view.is_symlink():
            return None
        target = (view.parent / os.readlink(view)).resolve()
        try:
            return target.relative_to(self.root).as_posix()
        except ValueError:
            return None

    def _prune(self, batch_id: str) -> None:
        batch = self.path(batch_id)
        for folder in sorted([p for p in batch.glob("*") if p.is_dir() and not p.is_symlink()], reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()
        with contextlib.suppress(OSError):
            batch.rmdir()

    def batch_link(self, batch_id: str) -> str | None:
        path = self.path(batch_id)
        return os.readlink(path) if path.is_symlink() else None

    def inside(self, target: str | Path) -> bool:
        """`target` (if it is a path here) does not lead out of the store through a symlink of its own."""
        path = self._path_of(target)
        if path is None or not path.is_symlink() or path.parent.resolve() == self.path("_shared").resolve():
            return True
        return Path(os.path.realpath(path)).is_relative_to(self.root)

    def _path_of(self, target: str | Path) -> Path | None:
        """An existing path: absolute, relative to the store root (`batch_x/Copa/name`), else to the working directory."""
        path = Path(target)
        if not path.is_absolute() and os.path.lexists(self.root / path):
            return self.root / path
        return path if os.path.lexists(path) else None

    def relative_key(self, target: str | Path) -> str | None:
        path = self._path_of(target)
        if path is None:
            return None
        absolute = Path(os.path.abspath(path))
        try:
            return absolute.relative_to(self.root).as_posix()
        except ValueError:
            pass
        try:  # a path reached through some other symlink: judge by where it really is
            return Path(os.path.realpath(path)).relative_to(self.root).as_posix()
        except ValueError:
            return None

    # Path conveniences for local callers (legacy import, tests)
    def experiment_dir(self, dataset: str, name: str) -> Path:
        return self.path(self.experiment_key(dataset, name))

    def stage_dir(self, dataset: str, stage: str, stage_fp: str) -> Path:
        return self.path(self.stage_key(dataset, stage, stage_fp))

    def view_path(self, batch_id: str, dataset: str, name: str) -> Path:
        return self.path(self.view_key(batch_id, dataset, name))
