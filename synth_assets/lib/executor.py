"""The executor jobs run their steps with, chosen by `$SYNTH_EXECUTOR` when the code location loads.

- ``multiprocess`` (default): one process per step on the run worker's machine.
- ``in_process``: every step in the run worker (debugging).
- ``celery``: steps are Celery tasks on workers anywhere (the `distributed` extra). The broker is
  `$SYNTH_CELERY_BROKER` (e.g. ``redis://redis.internal:6379/0``), the result backend
  `$SYNTH_CELERY_BACKEND` (it may be the same URL); both are read when a run starts, so the run
  worker needs them. Workers: ``dagster-celery worker start -A dagster_celery.app -y
  deploy/celery.yaml`` (see deploy/README.md).
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from dagster import ExecutorDefinition, in_process_executor, multiprocess_executor


KINDS = ("multiprocess", "in_process", "celery")


def executor_from_env(env: Mapping[str, str] = os.environ) -> ExecutorDefinition:
    kind = env.get("SYNTH_EXECUTOR", "multiprocess").strip() or "multiprocess"
    if kind == "multiprocess":
        return multiprocess_executor
    if kind == "in_process":
        return in_process_executor
    if kind == "celery":
        try:
            from dagster_celery import celery_executor
        except ImportError:
            raise RuntimeError("SYNTH_EXECUTOR=celery needs the `distributed` extra: "
                               "pip install -e '.[distributed]'") from None
        return celery_executor.configured(
            {"broker": {"env": "SYNTH_CELERY_BROKER"}, "backend": {"env": "SYNTH_CELERY_BACKEND"}},
            name="synth_celery")
    raise ValueError(f"SYNTH_EXECUTOR={kind!r}: expected one of {', '.join(KINDS)}")
