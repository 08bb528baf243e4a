"""Names that become paths and Dagster partition keys: their characters and their length in bytes.

A name is one path component in the store (`{root}/{batch_id}`, `_shared/{Dataset}/{semantic_name}`,
`{dataset}_{split}.jsonl`). Local filesystems allow 255 bytes per component (ext4, xfs, btrfs, APFS);
the store also writes temporary siblings `.tmp-{name}-{pid}-{8 hex}` next to a component, so a
name may use at most `MAX_NAME_BYTES`. S3 keys may be 1024 bytes long in all (`core/path_lengths.py`).
"""

import re

_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")
MAX_COMPONENT_BYTES = 255
TMP_OVERHEAD_BYTES = len(".tmp-") + len("-4194304-") + 8  # `.tmp-{name}-{pid}-{uuid hex[:8]}` (Linux pids < 2**22)
MAX_NAME_BYTES = MAX_COMPONENT_BYTES - TMP_OVERHEAD_BYTES  # 233


def check_name_length(value: str, what: str, *, max_bytes: int = MAX_NAME_BYTES, becomes: str = "") -> str:
    """`value` fits the path component it becomes (`becomes`, e.g. `batch_YYYYMMDD_{purpose}`) in `max_bytes` bytes."""
    size = len(value.encode("utf-8"))
    if size > max_bytes:
        into = f" (it becomes the path component {becomes})" if becomes else " (it becomes a path component)"
        raise ValueError(f"{what} is {size} bytes long, at most {max_bytes} fit{into}: local filesystems allow "
                         f"{MAX_COMPONENT_BYTES} bytes per path component, less the store's temporary names; use a shorter {what}")
    return value


def check_safe_name(value: str, what: str, *, max_bytes: int = MAX_NAME_BYTES) -> str:
    """Allow `[A-Za-z0-9_.-]` without `..`: `/` breaks paths, `|,[]` break partition keys; at most `max_bytes` bytes."""
    if not isinstance(value, str) or not _SAFE.match(value) or ".." in value or value.startswith("."):
        raise ValueError(
            f"{what} {value!r} may only use letters, digits, '_', '.', '-' (no '..', no leading '.'): "
            "it becomes a path and a Dagster partition key"
        )
    return check_name_length(value, what, max_bytes=max_bytes)
