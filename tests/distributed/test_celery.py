"""The distributed infrastructure works: two real Celery workers (`dagster-celery worker start`) on a
real Redis broker run the steps of a job whose runs, events and step logs live in PostgreSQL and S3
as deploy/dagster.yaml configures them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import boto3
import psycopg2
import pytest

REPO = Path(__file__).resolve().parents[2]
WORKERS = ("w1", "w2")


def _start_worker(name: str, env: dict[str, str], log: Path) -> subprocess.Popen:
    """`dagster-celery worker start` (which runs `celery worker`) in its own process group."""
    command = [str(Path(sys.executable).parent / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app",
               "-y", str(REPO / "deploy" / "celery.yaml"), "-n", name, "--", "--concurrency=1", "--pool=prefork"]
    with open(log, "wb") as out:
        return subprocess.Popen(command, cwd=REPO, env={**env, "SYNTH_TEST_WORKER": name}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)  # celery's warm shutdown, for the whole group
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)


def _wait_for_workers(broker: str, names: tuple[str, ...], processes, logs, timeout_s: float = 120.0) -> None:
    from celery import Celery

    app = Celery(broker=broker)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for process, log in zip(processes, logs):
            if process.poll() is not None:
                pytest.fail(f"celery worker exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        answered = {next(iter(reply)).split("@")[0] for reply in app.control.ping(timeout=1.0)}
        if set(names) <= answered:
            return
        time.sleep(0.5)
    pytest.fail(f"celery workers {names} did not answer a ping within {timeout_s} s")


@pytest.mark.slow
def test_celery_executor_runs_steps_on_two_workers(dagster_home, redis_url, tmp_path, monkeypatch):
    monkeypatch.setenv("SYNTH_EXECUTOR", "celery")
    monkeypatch.setenv("SYNTH_CELERY_BROKER", redis_url)
    monkeypatch.setenv("SYNTH_CELERY_BACKEND", redis_url)
    env = {**os.environ, "PYTHONPATH": str(REPO),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    logs = [tmp_path / f"{name}.log" for name in WORKERS]
    workers = [_start_worker(name, env, log) for name, log in zip(WORKERS, logs)]
    try:
        _wait_for_workers(redis_url, WORKERS, workers, logs)
        from dagster import DagsterEventType, DagsterInstance, execute_job, reconstructable

        from tests.distributed.celery_job import four_steps

        with DagsterInstance.get() as instance, execute_job(reconstructable(four_steps), instance=instance) as result:
            assert result.success, [e.message for e in result.all_events if e.is_failure]
            names = result.output_for_node("collect")
            assert len(names) == 4 and set(names) == set(WORKERS), names  # steps ran on both workers
            successes = instance.get_records_for_run(result.run_id, of_type=DagsterEventType.STEP_SUCCESS).records
            assert len(successes) == 5  # written by the workers into the shared Postgres event log
        logs_on_s3 = boto3.client("s3").list_objects_v2(Bucket=os.environ["SYNTH_LOG_BUCKET"], Prefix="dagster-compute-logs/")
        assert logs_on_s3.get("KeyCount", 0) > 0  # the workers' step logs, readable from any machine
        dsn = (f"dbname={os.environ['DAGSTER_PG_DB']} host={os.environ['DAGSTER_PG_HOST']} "
               f"port={os.environ['DAGSTER_PG_PORT']} user={os.environ['DAGSTER_PG_USER']}")
        with psycopg2.connect(dsn) as con, con.cursor() as cur:
            cur.execute("SELECT status FROM runs WHERE run_id = %s", [result.run_id])
            assert cur.fetchall() == [("SUCCESS",)]
    finally:
        for worker in workers:
            _stop(worker)
