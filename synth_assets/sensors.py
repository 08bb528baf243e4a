"""Sensor on a local drop folder of experiment YAMLs."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from dagster import DefaultSensorStatus, MultiPartitionKey, RunRequest, SensorEvaluationContext, SensorResult, sensor

from resources.store import StoreResource
from synth_assets.core.drops import process_drop
from synth_assets.core.root import state_dir
from synth_assets.jobs import recipe_job_name


def drop_dir(root: Path) -> Path:
    """`$SYNTH_DROP_DIR`, else `{root}/drop`."""
    return Path(os.environ.get("SYNTH_DROP_DIR") or root / "drop")


@sensor(minimum_interval_seconds=30, default_status=DefaultSensorStatus.STOPPED, description=__doc__)
def config_drop_sensor(context: SensorEvaluationContext, synth: StoreResource) -> SensorResult:
    """New or changed YAMLs in the drop folder: register, add partitions, run what is not complete."""
    store, lineage = synth.store, synth.lineage
    seen: dict[str, str] = json.loads(context.cursor) if context.cursor else {}
    folder = drop_dir(state_dir(store.root_uri))
    run_requests, partitions, skipped = [], {}, 0
    for path in sorted(folder.glob("*.y*ml")) if folder.is_dir() else []:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if seen.get(path.name) == digest:
            continue
        seen[path.name] = digest
        result = process_drop(path, store, lineage)
        if result.error:
            context.log.error(f"rejected {path.name}: {result.error}")
            continue
        for reg in result.registrations:
            recipe = reg.experiment.recipe
            partitions.setdefault(f"{recipe}_dataset", set()).add(reg.partition_key["dataset"])
            partitions.setdefault(f"{recipe}_fingerprint", set()).add(reg.partition_key["fingerprint"])
            if reg.complete:
                skipped += 1
                context.log.info(f"{path.name}: {reg.experiment.dataset}/{reg.name} {reg.report()}")
                continue
            run_requests.append(
                RunRequest(
                    run_key=f"{reg.partition_key['fingerprint']}:{digest[:12]}",
                    job_name=recipe_job_name(recipe),
                    partition_key=MultiPartitionKey(reg.partition_key),
                    tags={"synth/batch": reg.batch_id, "synth/source": path.name},
                )
            )
    for name, keys in partitions.items():
        new = [k for k in sorted(keys) if not context.instance.has_dynamic_partition(name, k)]
        if new:
            context.instance.add_dynamic_partitions(name, new)
    if skipped:
        context.log.info(f"{skipped} experiments already complete: batch views only, no run")
    return SensorResult(run_requests=run_requests, cursor=json.dumps(seen, sort_keys=True))
