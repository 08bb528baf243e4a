"""Materialize registered jobs through Dagster, in-process, on the store's Dagster instance (what `synth run` calls)."""

from __future__ import annotations

import functools
import os
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

from dagster import DagsterInstance, Definitions, JobDefinition
from filelock import FileLock

from synth_assets.core.pending_stages import settle
from synth_assets.core.registry import Registration
from synth_assets.core.processes import alive
from synth_assets.core.root import state_dir
from synth_assets.core.store import Store
from synth_assets.core.stores import open_store
from synth_assets.defs import build_definitions
from synth_assets.core.run_tags import FINGERPRINT_TAG, HOST_TAG, PID_TAG, PROGRESS_TAG, registration_tags
from synth_assets.lib.partitions import add_partitions, partition_key
from synth_assets.lib.run_requests import recipe_job_name

DAGSTER_YAML = "telemetry:\n  enabled: false\nrun_monitoring:\n  enabled: true\n"


def dagster_home(root: str | Path) -> Path:
    """`$DAGSTER_HOME`, else a persistent home in the store's state dir (`{root}/.dagster` for local roots)."""
    home = Path(os.environ.get("DAGSTER_HOME") or state_dir(root) / ".dagster")
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        (home / "dagster.yaml").write_text(DAGSTER_YAML)
    return home


def dagster_instance(root: str | Path) -> DagsterInstance:
    """The Dagster instance `dagster dev` on the same home shows (runs, partitions, materializations)."""
    home = dagster_home(root)
    # several `synth run`s starting on a new home would race to create its SQLite schema
    with FileLock(str(home / ".synth-init.lock"), timeout=120):
        instance = DagsterInstance.from_config(str(home))
        instance.get_dynamic_partitions("synth_storage_probe")  # forces the storage to exist (any partition set name)
    fail_dead_runs(instance, open_store(str(root)))
    return instance


def fail_dead_runs(instance: DagsterInstance, store: Store) -> list[str]:
    """Runs of `synth` on this machine whose process died (kill -9) stay STARTED forever: report them failed, in
    Dagster and on their registration (so `synth batch` shows `failed`, not `pending`)."""
    from dagster import DagsterRunStatus, RunsFilter

    dead = []
    running = instance.get_runs(RunsFilter(statuses=[DagsterRunStatus.STARTED, DagsterRunStatus.STARTING],
                                           tags={HOST_TAG: socket.gethostname()}))
    for run in running:
        pid = int(run.tags.get(PID_TAG, "0"))
        if pid and pid != os.getpid() and not alive(pid):
            message = f"the process that ran it (pid {pid} on {socket.gethostname()}) is gone"
            instance.report_run_failed(run, message=message)
            try:
                record = store.registration(run.tags.get(FINGERPRINT_TAG, "-"))
            except KeyError:
                record = None
            if record is not None:
                if not store.record_complete(record):
                    store.record_failure(record["fingerprint"], run_id=run.run_id, stage="?", error=f"killed: {message}")
                settle(store, record)  # stage folders a killed regenerate left pending
            dead.append(run.run_id)
    return dead


def partition_name(record: dict) -> str:
    """The Dagster partition key of a registration, as the UI shows it."""
    return str(partition_key(record))


def add_to_dagster(records: list[dict], root: str | Path) -> None:
    """Registrations as partitions of the Dagster instance on `root` (runs, sensors and the UI see them)."""
    add_partitions(dagster_instance(root), records)


@functools.lru_cache(maxsize=8)
def definitions(root: str) -> Definitions:
    return build_definitions(root)


def progress_tags(bars: bool | None = None) -> dict[str, str]:
    """Run tags asking for rich progress bars (`bars`; None: when a person watches a terminal), else log lines."""
    if bars is None:
        return {PROGRESS_TAG: "bar"} if sys.stderr.isatty() else {}
    return {PROGRESS_TAG: "bar" if bars else "log"}


@dataclass(frozen=True)
class RunOutcome:
    success: bool
    run_id: str
    error: str | None = None


def first_error(result) -> str | None:
    """The first failed step's own error: the innermost cause, not Dagster's "Error occurred while executing op" wrapper."""
    for event in result.all_events:
        if event.is_failure and event.step_failure_data is not None:
            error = event.step_failure_data.error
            while error.cause is not None:
                error = error.cause
            message = error.message.strip()
            qualified, _, rest = message.partition(": ")
            return f"{error.cls_name}: {rest}" if rest and qualified.endswith(error.cls_name) else message
    return None


def run_partition(job: JobDefinition, reg: Registration, instance: DagsterInstance, tags: dict[str, str] | None,
                  log_level: str) -> RunOutcome:
    """Run `job` in-process on the partition of one registration, tagged with its batch, fingerprint, host and PID."""
    result = job.execute_in_process(
        partition_key=partition_key(reg.record), instance=instance, raise_on_error=False,
        run_config={"loggers": {"console": {"config": {"log_level": log_level}}}},
        tags={**registration_tags(reg.batch_id, reg.fingerprint), HOST_TAG: socket.gethostname(),
              PID_TAG: str(os.getpid()), **(tags or {})},
    )
    return RunOutcome(result.success, result.run_id, None if result.success else first_error(result))


def materialize(registrations: list[Registration], root: str, *, instance: DagsterInstance | None = None,
                tags: dict[str, str] | None = None, log_level: str = "INFO") -> dict[str, RunOutcome]:
    """Run the recipe job for every registration that is not complete (once per fingerprint); the outcome per fingerprint."""
    instance = instance or dagster_instance(root)
    add_partitions(instance, [reg.record for reg in registrations])
    defs = definitions(str(root))
    outcome: dict[str, RunOutcome] = {}
    for reg in registrations:
        if reg.complete or reg.fingerprint in outcome:
            continue
        outcome[reg.fingerprint] = run_partition(defs.resolve_job_def(recipe_job_name(reg.recipe)), reg, instance, tags, log_level)
    return outcome


def evaluate(registrations: list[Registration], root: str, *, instance: DagsterInstance | None = None,
             tags: dict[str, str] | None = None, log_level: str = "INFO") -> dict[str, RunOutcome]:
    """Run the evaluation job for every published registration (once per fingerprint); the outcome per fingerprint.
    A stored evaluation is reused inside the run (no trainer runs)."""
    from synth_assets.defs.evaluations import EVALUATION_JOB

    instance = instance or dagster_instance(root)
    add_partitions(instance, [reg.record for reg in registrations])
    job = definitions(str(root)).resolve_job_def(EVALUATION_JOB)
    outcome: dict[str, RunOutcome] = {}
    for reg in registrations:
        if reg.fingerprint in outcome:
            continue
        outcome[reg.fingerprint] = run_partition(job, reg, instance, tags, log_level)
    return outcome
