"""Materialize registered experiments through Dagster (what `synth run` calls)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterInstance, MultiPartitionKey
from filelock import FileLock

from synth_assets.core.registry import RecordRegistration, Registration
from synth_assets.core.root import state_dir
from synth_assets.jobs import recipe_job_name


def dagster_instance(root: str | Path) -> DagsterInstance:
    """The instance at `$DAGSTER_HOME`, else a persistent one in the store's state dir (`{root}/.dagster` for local roots)."""
    if not os.environ.get("DAGSTER_HOME"):
        home = state_dir(root) / ".dagster"
        home.mkdir(parents=True, exist_ok=True)
        if not (home / "dagster.yaml").exists():
            (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
        os.environ["DAGSTER_HOME"] = str(home)
    home = Path(os.environ["DAGSTER_HOME"])
    home.mkdir(parents=True, exist_ok=True)
    # several `synth run`s starting on a new home would race to create its SQLite schema
    with FileLock(str(home / ".synth-init.lock"), timeout=120):
        instance = DagsterInstance.get()
        instance.get_dynamic_partitions("rephrase_dataset")  # forces the storage to exist
    return instance


def progress_tags() -> dict[str, str]:
    """Run tags asking for rich progress bars when a person watches a terminal, else log lines."""
    from synth_assets.assets.factory import PROGRESS_TAG

    return {PROGRESS_TAG: "bar"} if sys.stderr.isatty() else {}


def add_partitions(instance: DagsterInstance, registrations: list[Registration | RecordRegistration]) -> None:
    """Make every registration's (dataset, fingerprint) a partition of its recipe's assets."""
    wanted: dict[str, set[str]] = {}
    for reg in registrations:
        for dim, key in reg.partition_key.items():
            wanted.setdefault(f"{reg.recipe}_{dim}", set()).add(key)
    for name, keys in wanted.items():
        new = sorted(keys - set(instance.get_dynamic_partitions(name)))
        if new:
            instance.add_dynamic_partitions(name, new)


@dataclass(frozen=True)
class RunOutcome:
    success: bool
    run_id: str


def materialize(
    registrations: list[Registration | RecordRegistration], instance: DagsterInstance, tags: dict[str, str] | None = None, log_level: str = "INFO"
) -> dict[str, RunOutcome]:
    """Run the recipe job for every partition that is not complete; return the outcome per fingerprint."""
    from synth_assets.definitions import defs  # loaded after SYNTH_ROOT is set

    add_partitions(instance, registrations)
    outcome: dict[str, RunOutcome] = {}
    for reg in registrations:
        if reg.complete or reg.fingerprint in outcome:
            continue
        job = defs.resolve_job_def(recipe_job_name(reg.recipe))
        result = job.execute_in_process(
            partition_key=MultiPartitionKey(reg.partition_key),
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
            tags={"synth/batch": reg.batch_id, **(tags or {})},
        )
        outcome[reg.fingerprint] = RunOutcome(result.success, result.run_id)
    return outcome
