"""Turning a dropped experiment YAML into registrations (plain Python, used by sensors)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from synth_assets.core.config import load_experiments
from synth_assets.core.lineage import Lineage
from synth_assets.core.experiments import register
from synth_assets.core.registry import Registration
from synth_assets.core.store import Store
from synth_assets.core.yaml_lines import ConfigError


@dataclass(frozen=True)
class DropResult:
    path: str | Path
    registrations: list[Registration]
    error: str | None = None


ERROR_SUFFIX = ".error.txt"  # the marker beside a bad drop says what is wrong with it


def error_marker(path: Path) -> Path:
    return path.with_name(path.name + ERROR_SUFFIX)


def process_drop(path: str | Path, store: Store, lineage: Lineage, text: str | None = None) -> DropResult:
    """Validate, fingerprint and register every experiment in a dropped file.

    `text` is the file's content when it is not local (an S3 object): then no marker is written
    here. A bad local file gets an `.error.txt` marker beside it; a bad file registers nothing.
    """
    try:
        experiments = load_experiments(path, store.root_uri, text=text)
    except (ConfigError, KeyError, ValueError, OSError) as exc:
        message = str(exc)
        if text is None:
            error_marker(Path(path)).write_text(message + "\n", encoding="utf-8")
        return DropResult(path, [], message)
    if text is None:
        error_marker(Path(path)).unlink(missing_ok=True)
    return DropResult(path, [register(exp, store, lineage) for exp in experiments])
