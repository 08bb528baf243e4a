"""Batch views reported to Dagster: the `batches` asset's partitions, their metadata (members, quality, sweep chart,
training effect, cost) and README; used by the stage assets, the batches domain and the evaluations."""
