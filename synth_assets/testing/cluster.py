"""A Celery cluster of "machines" on one host, for tests and benchmarks: each machine is a process tree
with its own HOME, SYNTH_STATE_DIR, TMPDIR and DAGSTER_HOME, sharing nothing but the servers named
in the environment (PostgreSQL, Redis, S3, an LLM endpoint). Workers run `dagster-celery worker start`
in their own process group and are stopped (or killed) by PID."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import yaml

from synth_assets.core.processes import group_members

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def shared_env(pg, redis_url: str, llm_base_url: str, bucket: str) -> dict[str, str]:
    """What every machine of a cluster shares: this process's environment without SYNTH_*/DAGSTER_* settings, plus
    the Dagster storage and the DuckLake lineage catalog (two new databases of `pg`), Redis as broker, the store,
    the lineage's Parquet and the step logs in `bucket`, the Celery executor, an OpenAI-compatible LLM (dummy key)."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SYNTH_", "DAGSTER_"))}
    dagster_db, lake = f"dagster_{time.monotonic_ns()}", f"lake_{time.monotonic_ns()}"
    pg.create_database(dagster_db)
    return {**base, "PYTHONPATH": str(REPO), "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            "DAGSTER_PG_HOST": pg.host, "DAGSTER_PG_PORT": str(pg.port), "DAGSTER_PG_DB": dagster_db,
            "DAGSTER_PG_USER": pg.user, "DAGSTER_PG_PASSWORD": "", "SYNTH_LOG_BUCKET": bucket,
            "SYNTH_ROOT": f"s3://{bucket}/store", "SYNTH_LINEAGE": "ducklake:postgres:" + pg.create_database(lake),
            "SYNTH_LINEAGE_DATA": f"s3://{bucket}/lineage/", "SYNTH_EXECUTOR": "celery",
            "SYNTH_CELERY_BROKER": redis_url, "SYNTH_CELERY_BACKEND": redis_url, "SYNTH_LEASE_TTL_S": "5",
            "OPENAI_API_KEY": "sk-dummy", "OPENAI_BASE_URL": llm_base_url}


def sweep_config(path: Path, temperatures: list[float], batch: str, limit: int) -> Path:
    """A rephrase sweep on Copa (one generation request per premise and temperature) with the openai backend and
    the rules validator (no LLM call, no embedding model)."""
    config = {"experiment": {"batch_id": batch, "purpose": "distributed"},
              "dataset": {"dataset_name": "Copa", "limit": limit},
              "generation": {"backend": "openai", "model": "gpt-4o-mini", "temperature": temperatures, "max_tokens": 16},
              "validation": {"validators": ["rules"]}}
    path.write_text(yaml.safe_dump(config))
    return path


def machine_env(folder: Path, dagster_yaml: Path | None = None) -> dict[str, str]:
    """The private folders of one machine (created); DAGSTER_HOME gets a copy of `dagster_yaml`."""
    env = {"HOME": folder / "home", "SYNTH_STATE_DIR": folder / "state", "TMPDIR": folder / "tmp"}
    if dagster_yaml is not None:
        env["DAGSTER_HOME"] = folder / "dagster_home"
    for path in env.values():
        path.mkdir(parents=True, exist_ok=True)
    if dagster_yaml is not None:
        shutil.copy(dagster_yaml, env["DAGSTER_HOME"] / "dagster.yaml")
    return {key: str(path) for key, path in env.items()}


def celery_yaml(target: Path, visibility_timeout_s: float | None = None) -> Path:
    """deploy/celery.yaml, with another visibility timeout (seconds before a dead worker's step is redelivered)."""
    config = yaml.safe_load((REPO / "deploy" / "celery.yaml").read_text())
    if visibility_timeout_s is not None:
        options = config["execution"]["config"]["config_source"]["broker_transport_options"]
        options["visibility_timeout"] = visibility_timeout_s
        options["unacked_restore_interval"] = max(1, int(visibility_timeout_s / 10))
    target.write_text(yaml.safe_dump(config))
    return target


def prepare_instance(env: dict[str, str]) -> None:
    """Create the Dagster storage's tables once, before processes that would race to create them start."""
    subprocess.run([sys.executable, "-c", "from dagster import DagsterInstance; DagsterInstance.get().get_runs(limit=1)"],
                   cwd=REPO, env=env, check=True, capture_output=True, timeout=120)


def start_worker(name: str, env: dict[str, str], config: Path, log: Path, concurrency: int = 1,
                 queue: str | None = None) -> subprocess.Popen:
    """`dagster-celery worker start` (which execs `celery worker`) in its own process group; `queue`: the one it takes
    tasks from (default: dagster-celery's default queue)."""
    command = [str(BIN / "dagster-celery"), "worker", "start", "-A", "dagster_celery.app", "-y", str(config), "-n", name,
               *(["-q", queue] if queue else []), "--", f"--concurrency={concurrency}", "--pool=prefork"]
    with open(log, "ab") as out:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)


def stop(process: subprocess.Popen, timeout_s: float = 30.0) -> None:
    """Warm shutdown of the whole process group; SIGKILL if it does not go."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            kill(process)


def kill(process: subprocess.Popen, timeout_s: float = 30.0) -> None:
    """kill -9 the worker and its pool processes (a machine that dies); returns once every process of the
    group has exited (and so closed its connections)."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=timeout_s)
    deadline = time.monotonic() + timeout_s
    while group_members(process.pid) and time.monotonic() < deadline:
        time.sleep(0.05)


def wait_for_workers(broker: str, names: list[str], processes: list[subprocess.Popen], logs: list[Path],
                     timeout_s: float = 120.0) -> None:
    """Until every named worker answers a ping; a worker that exits fails with the end of its log."""
    from celery import Celery

    app = Celery(broker=broker)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for process, log in zip(processes, logs):
            if process.poll() is not None:
                raise RuntimeError(f"celery worker exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        answered = {next(iter(reply)).split("@")[0] for reply in app.control.ping(timeout=1.0)}
        if set(names) <= answered:
            return
        time.sleep(0.5)
    raise TimeoutError(f"celery workers {names} did not answer a ping within {timeout_s} s")
