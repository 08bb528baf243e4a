"""Registration parameters as flat dotted keys (`generation.temperature`), and the keys experiments differ in."""

from __future__ import annotations

import json
from typing import Any


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as one dict of dotted keys; anything else (lists included) is a value."""
    if not isinstance(value, dict):
        return {prefix: value}
    out: dict[str, Any] = {}
    for key, item in value.items():
        out.update(flatten(item, f"{prefix}.{key}" if prefix else key))
    return out


def differing(flat: list[dict[str, Any]]) -> list[str]:
    """The keys (sorted) whose values are not the same in all of `flat` (a key missing somewhere differs)."""
    keys = sorted(set().union(*flat)) if flat else []
    return [k for k in keys if len({json.dumps(f.get(k), sort_keys=True, default=str) for f in flat}) > 1]
