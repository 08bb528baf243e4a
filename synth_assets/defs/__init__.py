"""Dagster definitions, one folder per domain (`defs/<domain>/`, each exporting `definitions(root)`), found here
rather than listed: a new domain is a new folder. Shared builders live in `synth_assets/lib/`."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from dagster import Definitions


def domains() -> list[str]:
    """The domain packages under `defs/`, in name order."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if m.ispkg)


def build_definitions(root: str) -> Definitions:
    """Every domain's assets, jobs, sensors and resources over the store at `root` (a path or s3:// URL)."""
    root = root if root.startswith("s3://") else str(Path(root).resolve())
    modules = [importlib.import_module(f"{__name__}.{name}") for name in domains()]
    return Definitions.merge(*(module.definitions(root) for module in modules))
