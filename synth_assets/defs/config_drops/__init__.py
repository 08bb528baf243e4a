"""Experiment configs dropped in a local folder or under an S3 prefix: registered, then run by sensor.

Each new or changed YAML is validated, fingerprinted and registered; new fingerprints become
dynamic partitions with a run request; fingerprints that are complete only get their batch view.
A bad file gets an error report beside it and the sensor keeps going. Both sensors are built by the
one drop-sensor builder (`lib/drop_sensors.py`).
"""

from __future__ import annotations

import os
from pathlib import Path

from dagster import Definitions

from synth_assets.core.lineage import Lineage
from synth_assets.core.root import state_dir
from synth_assets.core.store import Store
from synth_assets.lib.drop_sensors import build_drop_sensor
from synth_assets.recipes.hooks import DropSource, RegisterDrop
from synth_assets.recipes.registry import load_experiments, register


CONFIG_SUFFIXES = (".yaml", ".yml")


def drop_dir(root_uri: str) -> str:
    """`$SYNTH_DROP_DIR`, else `{state dir}/drop`."""
    return os.environ.get("SYNTH_DROP_DIR") or str(Path(state_dir(root_uri)) / "drop")


def s3_configs_url(root_uri: str) -> str | None:
    """`$SYNTH_S3_CONFIGS`, else `{root}/configs/` for an S3 store root; None when neither applies."""
    url = os.environ.get("SYNTH_S3_CONFIGS")
    if url:
        return url.rstrip("/") + "/"
    return f"{root_uri}/configs/" if root_uri.startswith("s3://") else None


def config_registrar(store: Store, lineage: Lineage) -> RegisterDrop:
    store.list_registrations()  # read once, before the lineage lock that runs wait on

    def register_drop(url: str, data: bytes) -> list:
        """Every experiment in the file registered, or none: a bad file raises (the builder marks it)."""
        try:
            experiments = load_experiments(url, store.root_uri, text=data)
        except (KeyError, OSError) as exc:
            raise ValueError(str(exc)) from None
        return [register(exp, store, lineage) for exp in experiments]

    return register_drop


LOCAL_CONFIGS = DropSource(
    sensor="config_drop_sensor", url=drop_dir, suffixes=CONFIG_SUFFIXES, registrar=config_registrar, interval_s=30,
    description="Experiment YAMLs dropped in $SYNTH_DROP_DIR (default {root}/drop/): each new or changed file is validated "
                "and registered, and a run is requested for every fingerprint that is not complete. A bad file gets "
                "NAME.error.txt beside it.")
S3_CONFIGS = DropSource(
    sensor="s3_config_drop_sensor", url=s3_configs_url, suffixes=CONFIG_SUFFIXES, registrar=config_registrar, interval_s=30,
    unwatched="no S3 config prefix: set SYNTH_S3_CONFIGS or use an s3:// store root",
    description="Experiment YAMLs uploaded under $SYNTH_S3_CONFIGS (default {root}/configs/ of an S3 store): registered and "
                "run like local drops; a bad config gets NAME.error.txt beside it.")

config_drop_sensor = build_drop_sensor(LOCAL_CONFIGS)
s3_config_drop_sensor = build_drop_sensor(S3_CONFIGS)


def definitions(root: str) -> Definitions:
    return Definitions(sensors=[config_drop_sensor, s3_config_drop_sensor])
