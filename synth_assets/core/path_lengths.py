"""Whole store keys an experiment will write, checked against the store's limits before it is registered.

Each name is checked as a path component where it is validated (`core/names.py`); what only the whole
key shows is checked here: S3 keys are at most 1024 bytes (bucket prefix included), local paths at
most 4095 bytes (Linux PATH_MAX less the terminating NUL).
"""

from __future__ import annotations

from pathlib import Path

from synth_assets.core.names import MAX_COMPONENT_BYTES, TMP_OVERHEAD_BYTES

MAX_S3_KEY_BYTES = 1024
MAX_LOCAL_PATH_BYTES = 4095
_TAKEN_SUFFIX = "_" + "f" * 12  # `reserve_name` adds `_{fp12}` when another fingerprint holds a semantic name


def experiment_keys(batch_id: str, dataset: str, name: str, splits: list[str]) -> dict[str, str]:
    """The longest keys (relative to the store root) of each kind an experiment may write, by what they hold."""
    name += _TAKEN_SUFFIX
    longest_split = max(splits or ["train"], key=lambda s: len(s.encode()))
    published = f"_shared/{dataset}/{name}/.v/{'0' * 12}/{dataset}/{dataset.lower()}_{longest_split}.jsonl"  # S3 copy-on-write
    return {"batch view": f"{batch_id}/{dataset}/{name}", "published data": published,
            "lease": f".synth/leases/_shared/{dataset}/{name}/{'9' * 10}"}


def key_problem(root: str | Path | None, keys: dict[str, str]) -> str | None:
    """Why one of `keys` cannot exist under `root` (None: they all fit)."""
    for what, key in keys.items():
        too_long = [c for c in key.split("/") if len(c.encode()) + TMP_OVERHEAD_BYTES > MAX_COMPONENT_BYTES]
        if too_long:
            return (f"the {what} path component {too_long[0][:40]}… would be {len(too_long[0].encode())} bytes; local filesystems "
                    f"allow {MAX_COMPONENT_BYTES} bytes per component, less {TMP_OVERHEAD_BYTES} for the store's temporary names")
        if root is None:
            continue
        if str(root).startswith("s3://"):
            prefix = str(root)[len("s3://"):].partition("/")[2].strip("/")
            full, limit, where = (f"{prefix}/{key}" if prefix else key), MAX_S3_KEY_BYTES, "S3 keys"
        else:
            full, limit, where = f"{Path(root).absolute()}/{TMP_OVERHEAD_BYTES * 'x'}{key}", MAX_LOCAL_PATH_BYTES, "local paths"
        if len(full.encode()) > limit:
            return f"the {what} key would be {len(full.encode())} bytes under {root}; {where} may be at most {limit} bytes"
    return None
