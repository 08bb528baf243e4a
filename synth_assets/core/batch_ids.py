"""Batch ids: `batch_{YYYYMMDD}_{purpose}`, the name of a batch's folder of views under the store root.

Every batch id is made (`default_batch_id`), checked (`check_batch_id`), recognized (`is_batch_id`) and read back
(`batch_date`, `batch_purpose`) here: a name without the `batch_` prefix would hide its views (or collide with
`_shared`).
"""

from __future__ import annotations

import datetime as dt
import re

from synth_assets.core.names import MAX_NAME_BYTES, check_safe_name

BATCH_PREFIX = "batch_"
DEFAULT_BATCH_PREFIX = "batch_YYYYMMDD_"  # a batch id left out is `batch_{day}_{purpose}`
MAX_PURPOSE_BYTES = MAX_NAME_BYTES - len(DEFAULT_BATCH_PREFIX)
_DATED = re.compile(r"^batch_(\d{8})_(.+)$")


def default_batch_id(purpose: str, today: dt.date | None = None) -> str:
    """`batch_{YYYYMMDD}_{purpose}` of today (or of `today`)."""
    return f"{BATCH_PREFIX}{(today or dt.date.today()).strftime('%Y%m%d')}_{purpose}"


def check_batch_id(value: str) -> str:
    """A safe path component that starts with `batch_` (ValueError otherwise)."""
    check_safe_name(value, "batch id")
    if not is_batch_id(value):
        raise ValueError(f"batch id {value!r} must start with 'batch_' (e.g. batch_20241229_{value})")
    return value


def is_batch_id(name: str) -> bool:
    """Whether a store root's child (or a command's argument) names a batch."""
    return name.startswith(BATCH_PREFIX)


def batch_date(batch_id: str) -> dt.datetime | None:
    """The day in a `batch_{YYYYMMDD}_{purpose}` id (None: no valid day in it)."""
    match = _DATED.match(batch_id)
    if not match:
        return None
    try:
        return dt.datetime.strptime(match.group(1), "%Y%m%d")
    except ValueError:
        return None


def batch_purpose(batch_id: str) -> str | None:
    """What follows `batch_{day}_` (None: not a batch id of that shape)."""
    if not is_batch_id(batch_id):
        return None
    parts = batch_id.split("_", 2)
    return parts[2] if len(parts) == 3 else None
