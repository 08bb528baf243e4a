"""Experiment configs dropped in a local folder or under an S3 prefix: registered, then run by sensor."""

from __future__ import annotations

from dagster import Definitions

from synth_assets.defs.experiments.sensors import config_drop_sensor, s3_config_drop_sensor


def definitions(root: str) -> Definitions:
    return Definitions(sensors=[config_drop_sensor, s3_config_drop_sensor])
