"""Writes that fail because the store cannot be written (read-only, no permission, disk full), said in one line."""

from __future__ import annotations

import errno
import re

from synth_assets.core.lineage.local import LineageReadOnly

READ_ONLY = {errno.EROFS: "a read-only file system", errno.EACCES: "no permission", errno.EPERM: "no permission"}
FULL = {errno.ENOSPC: "no space left on the device", errno.EDQUOT: "the disk quota is exceeded"}
_TEXTS = {"No space left on device": FULL[errno.ENOSPC], "Disk quota exceeded": FULL[errno.EDQUOT],
          "Read-only file system": READ_ONLY[errno.EROFS], "Permission denied": READ_ONLY[errno.EACCES]}
_ERRNO = re.compile(r"\[Errno (\d+)\][^:]*(?::\s*'(.*)')?")


def _causes(exc: BaseException | None) -> list[BaseException]:
    """`exc` and the exceptions it was raised from or during, outermost first."""
    seen: list[BaseException] = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        exc = exc.__cause__ or exc.__context__
    return seen


def describe(code: int, where: str | None) -> str:
    """One line for a failed write of `where` (errno `code`)."""
    if code in FULL:
        return f"cannot write {where or 'the store'}: {FULL[code]}; free some space and run again (nothing partial was kept)"
    return (f"cannot write {where or 'the store'}: {READ_ONLY[code]} (a read-only store: commands that only read it work, "
            "this one writes)")


def storage_problem(exc: BaseException) -> str | None:
    """One line saying why a write failed, when it failed because the store cannot be written; else None."""
    for cause in _causes(exc):
        if isinstance(cause, LineageReadOnly):
            return str(cause)
        if isinstance(cause, OSError) and cause.errno in {**READ_ONLY, **FULL}:
            return describe(cause.errno, cause.filename)
        if "duckdb" in (type(cause).__module__ or ""):
            problem = storage_problem_in_text(str(cause))
            if problem:
                return problem
    return None


def storage_problem_in_text(message: str) -> str | None:
    """The same for an error known only by its message (`OSError: [Errno 28] ...` of another process, a DuckDB error)."""
    found = _ERRNO.search(message)
    if found and int(found.group(1)) in {**READ_ONLY, **FULL}:
        return describe(int(found.group(1)), found.group(2))
    for text, why in _TEXTS.items():
        if text in message:
            return f"cannot write the store: {why} ({message.strip().splitlines()[0][:200]})"
    return None
