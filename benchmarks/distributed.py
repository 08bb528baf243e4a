"""Many machines, measured in one run (PostgreSQL 15, Redis, a moto S3 and the fake OpenAI server on 127.0.0.1).

1. Sweep throughput on 1 vs 2 Celery workers: the same rephrase sweep (--experiments experiments of --limit
   generation requests each) launched through Dagster (`synth_assets/testing/sweep_driver.py`: `execute_job`
   on the PostgreSQL instance, Celery executor, the store on S3, lineage in DuckLake) against the fake LLM with
   a fixed --latency, so that the work is bound by LLM latency. Each worker is a "machine" of its own (HOME,
   state dir, TMPDIR) with one pool process. Target: >= 1.8x the throughput with 2 workers.
2. The LLM request cache: what a call pays to persist --responses responses as they arrive and to read them
   back in bulk before sending (all hits, then all misses), for the SQLite file of one machine and the store
   cache of every machine (one object per response) in a local folder and on S3 (moto).
3. Lineage query time over --rows materializations, local DuckDB file vs DuckLake (PostgreSQL catalog, Parquet
   on S3), with `benchmarks/lineage_backends.py`'s data and questions.

Usage: nice -n 10 .venv/bin/python benchmarks/distributed.py [--experiments 6] [--limit 64] [--latency 2] [--rows 100000]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3  # noqa: E402
import httpx  # noqa: E402

import lineage_backends  # noqa: E402
from synth_assets.core.lineage import Lineage  # noqa: E402
from synth_assets.core.lineage.migrate import migrate  # noqa: E402
from synth_assets.llm.cache import ResponseCache  # noqa: E402
from synth_assets.llm.store_cache import StoreResponseCache  # noqa: E402
from synth_assets.testing import fake_openai_server  # noqa: E402
from synth_assets.testing.cluster import (REPO, celery_yaml, machine_env, prepare_instance, shared_env,  # noqa: E402
                                          start_worker, stop, sweep_config, wait_for_workers)
from synth_assets.testing.s3_server import make_bucket, s3_server  # noqa: E402
from synth_assets.testing.servers import postgres_server, redis_server  # noqa: E402

DAGSTER_YAML = REPO / "deploy" / "dagster.yaml"


def sweep(workers: int, args, pg, redis_url: str, llm: str, tmp: Path) -> float:
    """Wall seconds of the sweep's runs on `workers` Celery workers (a fresh store, instance and lake)."""
    bucket = f"sweep-{workers}w-{time.monotonic_ns()}"
    make_bucket(bucket)
    env = shared_env(pg, redis_url, llm, bucket)
    folder = tmp / f"{workers}w"
    names = [f"w{i + 1}" for i in range(workers)]
    logs = [folder / f"{name}.log" for name in names]
    folder.mkdir()
    config = celery_yaml(folder / "celery.yaml")
    prepare_instance({**env, **machine_env(folder / "admin", DAGSTER_YAML)})
    processes = [start_worker(name, {**env, **machine_env(folder / name, DAGSTER_YAML)}, config, log) for name, log in zip(names, logs)]
    try:
        wait_for_workers(redis_url, names, processes, logs)
        httpx.post(llm.removesuffix("/v1") + "/control", json={"reset": True, "latency": args.latency}).raise_for_status()
        temperatures = [round(0.1 * (i + 1), 2) for i in range(args.experiments)]
        sweep_yaml = sweep_config(folder / "sweep.yaml", temperatures, f"batch_20250301_{workers}w", args.limit)
        out = folder / "runs.json"
        done = subprocess.run([sys.executable, "-m", "synth_assets.testing.sweep_driver", str(sweep_yaml), "--out", str(out)],
                              cwd=REPO, env={**env, **machine_env(folder / "driver", DAGSTER_YAML)}, capture_output=True,
                              text=True, timeout=3600)
        if done.returncode != 0:
            raise RuntimeError(f"sweep driver failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
        result = json.loads(out.read_text())
        failed = [run["error"] for run in result["runs"] if not run["success"]]
        if failed:
            raise RuntimeError(f"runs failed: {failed}")
        counts = httpx.get(llm.removesuffix("/v1") + "/counts").json()["received_requests"]
        assert len(counts) == args.experiments * args.limit and set(counts.values()) == {1}, "each request sent once"
        return result["wall_s"]
    finally:
        for process in processes:
            stop(process)


def cache_figures(n: int, tmp: Path, bucket: str) -> None:
    value = {"backend": "openai", "model": "gpt-4o-mini", "text": "a rewritten premise of about twenty words " * 3,
             "finish_reason": "stop", "prompt_tokens": 80, "completion_tokens": 20, "latency_s": 1.0, "logprobs": None}
    caches = (("SQLite file (one machine)", lambda: ResponseCache(tmp / "cache.sqlite")),
              ("store objects, local folder", lambda: StoreResponseCache(str(tmp / "store"))),
              ("store objects, S3 (moto)", lambda: StoreResponseCache(f"s3://{bucket}/store")))
    print(f"\nLLM cache: {n} responses persisted as they arrive, then read back in bulk at the start of a call")
    print(f"{'backend':30s} {'put/s':>8s} {'bulk get hits/s':>16s} {'bulk get misses/s':>18s}")
    for label, make in caches:
        keys = [hashlib.sha256(f"{label}:{i}".encode()).hexdigest() for i in range(n)]
        misses = [hashlib.sha256(f"{label}:miss:{i}".encode()).hexdigest() for i in range(n)]
        cache = make()
        t0 = time.perf_counter()
        for key in keys:
            cache.put(key, value)
        cache.close()  # the store cache waits for its writer threads here
        put_s = time.perf_counter() - t0
        cache = make()
        t0 = time.perf_counter()
        assert len(cache.get_many(keys)) == n
        hit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        assert not cache.get_many(misses)
        miss_s = time.perf_counter() - t0
        cache.close()
        print(f"{label:30s} {n / put_s:8.0f} {n / hit_s:16.0f} {n / miss_s:18.0f}")


def lineage_figures(rows: int, pg, tmp: Path, bucket: str) -> None:
    local_db = str(tmp / "lineage.duckdb")
    t0 = time.perf_counter()
    lineage_backends.fill(local_db, rows)
    lake = Lineage("ducklake:postgres:" + pg.create_database("bench_lineage"), data_path=f"s3://{bucket}/lineage")
    migrate(local_db, lake)
    print(f"\nlineage: {rows:,} materializations filled locally and migrated to DuckLake in {time.perf_counter() - t0:.1f} s")
    local_t, lake_t = lineage_backends.time_queries(Lineage(local_db), rows), lineage_backends.time_queries(lake, rows)
    print(f"{'question (median of 5)':40s} {'local file':>11s} {'DuckLake':>11s} {'ratio':>7s}")
    for name in local_t:
        print(f"{name:40s} {local_t[name]:10.3f}s {lake_t[name]:10.3f}s {lake_t[name] / local_t[name]:6.1f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=6)
    parser.add_argument("--limit", type=int, default=64, help="generation requests per experiment")
    parser.add_argument("--latency", type=float, default=2.0, help="seconds the fake LLM takes per request")
    parser.add_argument("--responses", type=int, default=1000)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder, postgres_server() as pg, redis_server() as redis_url, \
            s3_server(separate_process=True):
        tmp = Path(folder)
        llm_process, llm = fake_openai_server.start(latency=args.latency, max_seconds=7200)
        try:
            requests = args.experiments * args.limit
            print(f"sweep: {args.experiments} experiments x {args.limit} requests, LLM latency {args.latency} s, "
                  f"8 requests in flight per step")
            walls = {}
            for workers in (1, 2):
                walls[workers] = sweep(workers, args, pg, redis_url, llm, tmp)
                print(f"  {workers} worker(s): {walls[workers]:6.1f} s = {requests / walls[workers]:5.1f} requests/s, "
                      f"{args.experiments / walls[workers] * 60:4.1f} experiments/min")
            print(f"  throughput ratio 2 vs 1 worker: {walls[1] / walls[2]:.2f}x (target >= 1.8x)")
        finally:
            llm_process.kill()
            llm_process.wait(timeout=10)
        bucket = f"bench-{time.monotonic_ns()}"
        boto3.client("s3").create_bucket(Bucket=bucket)
        cache_figures(args.responses, tmp, bucket)
        lineage_figures(args.rows, pg, tmp, bucket)


if __name__ == "__main__":
    main()
