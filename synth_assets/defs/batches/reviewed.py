"""Reviewed figures reach Dagster without a run: an observation on the experiment's published asset, and the
batch views that show it (their digest covers the quality figures, so a changed precision reports them again)."""

from __future__ import annotations

from typing import Any

from dagster import AssetObservation, DagsterInstance

from synth_assets.core.lineage import Lineage
from synth_assets.core.store import Store
from synth_assets.lib.batch_reports.report import report_batches
from synth_assets.lib.partitions import partition_key
from synth_assets.lib.stage_assets import asset_key
from synth_assets.recipes.registry import get


def report_reviewed(instance: DagsterInstance, store: Store, lineage: Lineage, record: dict[str, Any],
                    figures: dict[str, Any]) -> None:
    """Observe `figures` on the published asset's partition and report every batch view of the experiment."""
    recipe = get(record["recipe"])
    instance.report_runless_asset_event(AssetObservation(
        asset_key=asset_key(recipe, recipe.stages[-1]), partition=partition_key(record),
        description="reviewed precision (synth review)", metadata={k: v for k, v in figures.items() if v is not None}))
    report_batches(instance, store, lineage, [b["batch_id"] for b in lineage.batches_using(record["fingerprint"])])
