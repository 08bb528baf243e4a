"""A trivial job for tests/distributed: four ops that report the Celery worker they ran on, fanned in.

Celery workers import this module to run its steps, so it lives at module level (no test code)."""

from __future__ import annotations

import os
import time

from dagster import In, job, op

from synth_assets.lib.executor import executor_from_env


@op
def where() -> str:
    time.sleep(1.0)  # long enough that one worker cannot take every step before the other asks
    return os.environ["SYNTH_TEST_WORKER"]


@op(ins={"names": In(list)})
def collect(names: list) -> list:
    return sorted(names)


@job(executor_def=executor_from_env())
def four_steps() -> None:
    collect([where.alias(f"where_{i}")() for i in range(4)])
