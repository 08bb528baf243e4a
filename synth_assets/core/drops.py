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


def process_drop(path: str | Path, data: bytes, store: Store, lineage: Lineage) -> DropResult:
    """Validate, fingerprint and register every experiment in a dropped file (`data`: its content); a bad file
    registers nothing and says why."""
    try:
        experiments = load_experiments(path, store.root_uri, text=data)
    except (ConfigError, KeyError, ValueError, OSError) as exc:
        return DropResult(path, [], str(exc))
    return DropResult(path, [register(exp, store, lineage) for exp in experiments])
