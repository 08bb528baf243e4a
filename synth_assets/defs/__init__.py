"""Dagster definitions per domain (`defs/<domain>/`), each exporting `definitions(root)`; `build_definitions` merges them."""

from __future__ import annotations

from pathlib import Path

from dagster import Definitions


def build_definitions(root: str) -> Definitions:
    """Every domain's assets, jobs, sensors and resources over the store at `root` (a path or s3:// URL)."""
    from synth_assets.defs import batches, config_drops, evaluations, recipes, store

    root = root if root.startswith("s3://") else str(Path(root).resolve())
    domains = (store, recipes, config_drops, batches, evaluations)
    return Definitions.merge(*(domain.definitions(root) for domain in domains))
