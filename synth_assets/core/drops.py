"""Turning a dropped experiment YAML into registrations (plain Python, used by sensors)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from synth_assets.core.registry import Registration
from synth_assets.core.yaml_lines import ConfigError


@dataclass(frozen=True)
class DropResult:
    path: str | Path
    registrations: list[Registration]
    error: str | None = None


ERROR_SUFFIX = ".error.txt"  # the marker beside a bad drop says what is wrong with it


def error_marker(path: Path) -> Path:
    return path.with_name(path.name + ERROR_SUFFIX)


def process_drop(path: str | Path, load: Callable[[str | Path, str | None], list[Any]], register: Callable[[Any], Registration],
                 text: str | None = None) -> DropResult:
    """Validate every experiment in a dropped file (`load(path, text)`, e.g. the recipe registry's `load_experiments`),
    then fingerprint and register each (`register(experiment)`).

    `text` is the file's content when it is not local (an S3 object): then no marker is written
    here. A bad local file gets an `.error.txt` marker beside it; a bad file registers nothing.
    """
    try:
        experiments = load(path, text)
    except (ConfigError, KeyError, ValueError, OSError) as exc:
        message = str(exc)
        if text is None:
            error_marker(Path(path)).write_text(message + "\n", encoding="utf-8")
        return DropResult(path, [], message)
    if text is None:
        error_marker(Path(path)).unlink(missing_ok=True)
    return DropResult(path, [register(exp) for exp in experiments])
