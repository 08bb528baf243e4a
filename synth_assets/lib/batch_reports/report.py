"""Reporting a batch's view as a materialization of its `batches` partition (no run involved).

Called by the stage assets when an experiment is published or a run of it fails (every batch using
it), and by `batch_views_sensor` for changes made elsewhere (a batch registered by `synth run` or
`synth register` without a run). A view is reported only when it differs from the partition's last
one (its digest), so the two paths never repeat each other.
"""

from __future__ import annotations

from collections.abc import Iterable

from dagster import AssetKey, AssetMaterialization, AssetRecordsFilter, DagsterInstance

from synth_assets.core.lineage import Lineage
from synth_assets.core.store import Store
from synth_assets.lib.batch_reports.metadata import DIGEST_KEY, batch_metadata
from synth_assets.lib.batch_reports.readme import write_batch_readme
from synth_assets.lib.batch_reports.view import BatchView, batch_view


BATCHES = AssetKey("batches")
BATCH_SET = "batch"  # the dynamic partition set: one partition per batch id


def last_digest(instance: DagsterInstance, batch_id: str) -> str | None:
    """The digest of the batch's last reported view, or None."""
    found = instance.fetch_materializations(AssetRecordsFilter(asset_key=BATCHES, asset_partitions=[batch_id]), limit=1).records
    if not found:
        return None
    value = found[0].asset_materialization.metadata.get(DIGEST_KEY)
    return getattr(value, "value", value)


def summary(view: BatchView) -> str:
    c = view.counts()
    return (f"{c['experiments']} experiments ({c['new']} new, {c['reused']} reused): {c['complete']} complete, "
            f"{c['pending']} pending, {c['failed']} failed")


def report_batches(instance: DagsterInstance, store: Store, lineage: Lineage, batch_ids: Iterable[str]) -> dict[str, str]:
    """Report the view of every batch given whose view changed; batch id -> what it now holds."""
    wanted = list(dict.fromkeys(batch_ids))
    if wanted:
        instance.add_dynamic_partitions(BATCH_SET, wanted)  # batches it already has are skipped
    reported = {}
    for batch_id in wanted:
        view = batch_view(store, lineage, batch_id)
        if view is None or last_digest(instance, batch_id) == view.digest():
            continue
        write_batch_readme(store, view)
        instance.report_runless_asset_event(AssetMaterialization(
            asset_key=BATCHES, partition=batch_id, description=summary(view), metadata=batch_metadata(view)))
        reported[batch_id] = summary(view)
    return reported
