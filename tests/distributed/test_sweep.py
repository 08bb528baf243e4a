"""A sweep through Dagster on two Celery "machines" that share nothing but PostgreSQL (Dagster storage and
the DuckLake lineage catalog), Redis (the broker) and S3 (the store, the lineage's Parquet, step logs),
against an OpenAI-compatible fake LLM with a fixed latency that counts every distinct request.

Runs are launched the way a deployment's run workers launch them (`execute_job` of the reconstructable
job on the PostgreSQL instance with the Celery executor, `synth_assets/testing/sweep_driver.py`), from
a third machine; `synth lineage` is asked from a fourth."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster import DagsterEventType, DagsterInstance, RunsFilter

from synth_assets.testing.cluster import (celery_yaml, kill, machine_env, prepare_instance, shared_env, start_worker, stop,
                                          sweep_config, wait_for_workers)
from tests.distributed.conftest import fresh_bucket, s3_keys

REPO = Path(__file__).resolve().parents[2]
WORKERS = ("w1", "w2")
LIMIT = 8  # Copa premises per experiment: one generation request each
LATENCY_S = 0.4
VISIBILITY_TIMEOUT_S = 30  # a dead worker's step goes to the other after this long (longer than any step here)
STAGES = ("source", "rephrased", "validated", "published")


@dataclass
class Cluster:
    env: dict[str, str]  # what every machine shares: the servers
    tmp: Path
    bucket: str
    workers: dict[str, subprocess.Popen]
    logs: list[Path]

    def machine(self, name: str) -> dict[str, str]:
        return {**self.env, **machine_env(self.tmp / name, REPO / "deploy" / "dagster.yaml")}

    def worker_logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text()[-4000:]}" for log in self.logs)


@pytest.fixture(scope="module")
def cluster(pg, redis_url, s3_endpoint, fake_llm, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    bucket = fresh_bucket("sweep")
    env = shared_env(pg, redis_url, fake_llm.base_url, bucket)
    config = celery_yaml(tmp / "celery.yaml", visibility_timeout_s=VISIBILITY_TIMEOUT_S)
    c = Cluster(env, tmp, bucket, {}, [tmp / f"{name}.log" for name in WORKERS])
    prepare_instance(c.machine("admin"))
    c.workers = {name: start_worker(name, c.machine(name), config, log) for name, log in zip(WORKERS, c.logs)}
    try:
        wait_for_workers(redis_url, list(WORKERS), list(c.workers.values()), c.logs)
        yield c
    finally:
        for worker in c.workers.values():
            stop(worker)


def _driver(cluster: Cluster, config: Path, out: Path) -> subprocess.Popen:
    with open(cluster.tmp / f"{out.stem}.driver.log", "wb") as log:
        return subprocess.Popen([sys.executable, "-m", "synth_assets.testing.sweep_driver", str(config), "--out", str(out)],
                                cwd=REPO, env=cluster.machine("driver"), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)


def _finish(cluster: Cluster, driver: subprocess.Popen, out: Path, timeout_s: float = 180) -> list[dict]:
    try:
        driver.wait(timeout=timeout_s)
    finally:
        if driver.poll() is None:
            kill(driver)
    log = (cluster.tmp / f"{out.stem}.driver.log").read_text()[-4000:]
    assert driver.returncode == 0, f"{log}\n{cluster.worker_logs()}"
    runs = json.loads(out.read_text())["runs"]
    assert all(run["success"] for run in runs), [run["error"] for run in runs]
    return runs


def _lineage_sql(cluster: Cluster, query: str) -> list[dict]:
    """`synth lineage sql` from another machine: the shared lineage through DuckLake."""
    done = subprocess.run([str(Path(sys.executable).parent / "synth"), "lineage", "sql", query, "--json"], cwd=REPO,
                          env=cluster.machine("analyst"), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _instance(cluster: Cluster, monkeypatch) -> DagsterInstance:
    """The shared Dagster instance (PostgreSQL), as another machine opens it."""
    analyst = cluster.machine("analyst")
    for key in ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "SYNTH_LOG_BUCKET"):
        monkeypatch.setenv(key, analyst[key])
    return DagsterInstance.from_config(analyst["DAGSTER_HOME"])


def _step_workers(instance: DagsterInstance, run_id: str) -> dict[str, set[str]]:
    """step key -> the Celery workers that started executing it (their engine events in the event log)."""
    found: dict[str, set[str]] = {}
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.ENGINE_EVENT).records:
        event = record.event_log_entry.dagster_event
        worker = event.engine_event_data.metadata.get("Celery worker")
        if worker is not None:
            found.setdefault(event.step_key, set()).add(worker.value.split("@")[0])
    return found


def _workers_of_steps(cluster: Cluster, run_ids: list[str], monkeypatch) -> dict[tuple[str, str], set[str]]:
    """(run id, step key) -> the Celery workers that executed it."""
    with _instance(cluster, monkeypatch) as instance:
        return {(run_id, step): names for run_id in run_ids for step, names in _step_workers(instance, run_id).items()}


def _assert_nothing_partial(bucket: str) -> None:
    """Every folder of `_shared` and `_stages` holds its `.fingerprint`; no temporary leftovers."""
    keys = s3_keys(bucket, "store/_")
    folders = {"/".join(k.split("/")[:4]) for k in keys if k.startswith("store/_shared/")}
    folders |= {"/".join(k.split("/")[:5]) for k in keys if k.startswith("store/_stages/")}
    assert folders and all(f"{folder}/.fingerprint" in keys for folder in folders), sorted(folders)
    assert not [k for k in keys if "/.tmp-" in k]


@pytest.mark.slow
def test_sweep_on_two_workers(cluster, fake_llm, monkeypatch):
    temperatures = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    fake_llm.control(reset=True, rules={}, hold_after=None, latency=LATENCY_S)
    config = sweep_config(cluster.tmp / "sweep.yaml", temperatures, "batch_20250301_sweep", LIMIT)
    out = cluster.tmp / "sweep.json"
    runs = _finish(cluster, _driver(cluster, config, out), out)
    assert len(runs) == len(temperatures)

    # every experiment published, complete, in its batch
    keys = s3_keys(cluster.bucket, "store/")
    published = {k.split("/")[3] for k in keys if k.startswith("store/_shared/Copa/") and k.endswith("/.fingerprint")}
    assert published == {run["name"] for run in runs}
    _assert_nothing_partial(cluster.bucket)

    # each distinct request reached the LLM exactly once (one per premise and temperature)
    counts = fake_llm.counts()
    assert len(counts["received_requests"]) == LIMIT * len(temperatures)
    assert set(counts["received_requests"].values()) == {1} and counts["answered_requests"] == counts["received_requests"]

    # lineage through DuckLake: every materialization of every run, exactly once, made on both workers
    run_ids = [run["run_id"] for run in runs]
    rows = _lineage_sql(cluster, "SELECT run_id, asset FROM materializations ORDER BY run_id, asset")
    assert sorted((r["run_id"], r["asset"]) for r in rows) == sorted((run, f"rephrase/{s}") for run in run_ids for s in STAGES)
    workers = _workers_of_steps(cluster, run_ids, monkeypatch)
    assert all(len(names) == 1 for names in workers.values()), workers  # no step ran twice
    made_by = {next(iter(workers[(r["run_id"], r["asset"].replace("/", "__"))])) for r in rows}
    assert made_by == set(WORKERS), workers


def _step_in_progress(cluster: Cluster, batch: str, step: str, monkeypatch) -> tuple[str, str] | None:
    """(run id, worker) of a run of `batch` whose `step` started on a worker and has not finished."""
    with _instance(cluster, monkeypatch) as instance:
        for run in instance.get_runs(RunsFilter(tags={"synth/batch": batch})):
            done = instance.get_records_for_run(run.run_id, of_type=DagsterEventType.STEP_SUCCESS).records
            started = _step_workers(instance, run.run_id).get(step)
            if started and not any(r.event_log_entry.dagster_event.step_key == step for r in done):
                return run.run_id, next(iter(started))
    return None


@pytest.mark.slow
def test_a_worker_killed_mid_run(cluster, fake_llm, monkeypatch):
    """kill -9 of the worker in the middle of LLM calls: the step goes to the other worker, which sends only the
    requests never answered; every run completes and nothing partial is visible."""
    temperatures, batch, hold_after = [0.7, 0.8, 0.9, 1.0], "batch_20250302_kill", 12
    cached_before = len(s3_keys(cluster.bucket, "store/.synth/llm_cache/"))
    fake_llm.control(reset=True, rules={}, latency=LATENCY_S, hold_after=hold_after)
    out = cluster.tmp / "kill.json"
    driver = _driver(cluster, sweep_config(cluster.tmp / "kill.yaml", temperatures, batch, LIMIT), out)
    try:
        deadline = time.monotonic() + 120
        while True:  # a `rephrased` step is mid-call: answers came back, every request still out is held
            counts = fake_llm.counts()
            answered, received = sum(counts["answered"].values()), sum(counts["received"].values())
            quiet = answered >= hold_after and counts["held"] > 0 and received - answered == counts["held"]
            in_progress = _step_in_progress(cluster, batch, "rephrase__rephrased", monkeypatch) if quiet else None
            if in_progress:
                break
            assert time.monotonic() < deadline and driver.poll() is None, cluster.worker_logs()
            time.sleep(0.5)
        while len(s3_keys(cluster.bucket, "store/.synth/llm_cache/")) < cached_before + answered:
            assert time.monotonic() < deadline, "answers received before the kill are not all in the shared cache"
            time.sleep(0.2)
        answered_before_kill = set(counts["answered_requests"])
        run_id, victim = in_progress
        kill(cluster.workers[victim])
        fake_llm.control(hold_after=None)  # held requests of the dead worker find no client: not answered
        runs = _finish(cluster, driver, out)
    finally:
        if driver.poll() is None:
            kill(driver)
    assert len(runs) == len(temperatures)

    counts = fake_llm.counts()
    assert all(counts["received_requests"][key] == 1 for key in answered_before_kill)  # not one sent again
    assert len(counts["answered_requests"]) == LIMIT * len(temperatures)
    assert set(counts["answered_requests"].values()) == {1}  # every request answered exactly once
    _assert_nothing_partial(cluster.bucket)

    survivor = next(name for name in WORKERS if name != victim)
    workers = _workers_of_steps(cluster, [run["run_id"] for run in runs], monkeypatch)
    assert workers[(run_id, "rephrase__rephrased")] == {victim, survivor}  # started on the victim, finished on the other
    rows = _lineage_sql(cluster, f"SELECT m.run_id, m.asset FROM materializations m JOIN experiments e USING (fingerprint) "
                                 f"WHERE e.origin_batch = '{batch}'")
    assert sorted((r["run_id"], r["asset"]) for r in rows) == sorted((run["run_id"], f"rephrase/{s}") for run in runs for s in STAGES)
