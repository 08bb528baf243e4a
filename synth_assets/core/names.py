"""Names that become paths and Dagster partition keys."""

import re

_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


def check_safe_name(value: str, what: str) -> str:
    """Allow `[A-Za-z0-9_.-]` without `..`: `/` breaks paths, `|,[]` break partition keys."""
    if not isinstance(value, str) or not _SAFE.match(value) or ".." in value or value.startswith("."):
        raise ValueError(
            f"{what} {value!r} may only use letters, digits, '_', '.', '-' (no '..', no leading '.'): "
            "it becomes a path and a Dagster partition key"
        )
    return value
