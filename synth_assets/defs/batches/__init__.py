"""Batches in the Dagster UI: the asset `batches`, one partition per batch, and the sensor that keeps it current.

Design: a batch is a view over experiments, not something Dagster computes, so `batches` is an
external asset (`AssetSpec`, nothing to materialize by a run) partitioned by a dynamic `batch`
dimension. Each partition's latest materialization, reported without a run, is the batch's view:
its experiments (semantic name, fingerprint, new or reused, complete / pending / failed), a quality
table, a quality-against-parameter chart for sweeps, cost and the view folder. Selecting the asset's
partition in the UI shows it in one click; the event history of a partition is the batch's history.
Alternatives considered: one asset per batch (unbounded asset graph, no shared page), run tags only
(runs are per experiment, and reused experiments have none), a batch partition dimension on the
recipe assets (an experiment used by three batches would be stored once but materialized three times).
The stage assets report a batch when an experiment of it is published or fails (`report.py`);
`batch_views_sensor` catches changes made without a run.
"""

from __future__ import annotations

from dagster import AssetSpec, Definitions, DynamicPartitionsDefinition

from synth_assets.defs.batches.sensor import batch_views_sensor
from synth_assets.lib.batch_reports.report import BATCH_SET, BATCHES


BATCHES_SPEC = AssetSpec(
    BATCHES, partitions_def=DynamicPartitionsDefinition(name=BATCH_SET), group_name="batches",
    description="Batch views: one partition per batch (batch_{date}_{purpose}). Select a partition to see its experiments "
                "(semantic name, fingerprint, new or reused, complete / pending / failed), their quality, a chart of quality "
                "against the swept parameter, cost and the view folder. Reported by runs and by batch_views_sensor.",
)


def definitions(root: str) -> Definitions:
    return Definitions(assets=[BATCHES_SPEC], sensors=[batch_views_sensor])
