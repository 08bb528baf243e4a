"""A `command` evaluator through the Celery deployment: the evaluation step goes to the queue
`$SYNTH_EVALUATION_QUEUE` and only the worker listening on it (the "GPU machine") runs the trainer, which reads
the published splits from S3; results land in the S3 store and the DuckLake lineage; a rerun runs no trainer."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import boto3
import pytest
import yaml

from synth_assets.testing.cluster import celery_yaml, machine_env, prepare_instance, shared_env, start_worker, stop, wait_for_workers
from tests.distributed.conftest import fresh_bucket

REPO = Path(__file__).resolve().parents[2]
TRAINER = REPO / "tests" / "distributed" / "majority_trainer.py"
QUEUE = "gpu"

pytestmark = pytest.mark.slow


def _drive(env: dict[str, str], config: Path, out: Path) -> dict:
    done = subprocess.run([sys.executable, "-m", "synth_assets.testing.sweep_driver", str(config), "--out", str(out), "--evaluate"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(out.read_text())


def test_a_command_evaluator_runs_on_the_evaluation_queue_worker(pg, redis_url, s3_endpoint, fake_llm, tmp_path):
    bucket = fresh_bucket("evaluation")
    env = {**shared_env(pg, redis_url, fake_llm.base_url, bucket), "SYNTH_EVALUATION_QUEUE": QUEUE}
    machines = {name: {**env, **machine_env(tmp_path / name, REPO / "deploy" / "dagster.yaml"), "SYNTH_TEST_WORKER": name}
                for name in ("cpu", "gpu", "driver")}
    prepare_instance(machines["driver"])
    config_file = celery_yaml(tmp_path / "celery.yaml")
    logs = [tmp_path / "cpu.log", tmp_path / "gpu.log"]
    workers = [start_worker("cpu", machines["cpu"], config_file, logs[0]),
               start_worker("gpu", machines["gpu"], config_file, logs[1], queue=QUEUE)]
    calls = tmp_path / "trainer_calls.txt"
    config = tmp_path / "copa_eval.yaml"
    config.write_text(yaml.safe_dump({
        "experiment": {"batch_id": "batch_20250101_celery_eval", "purpose": "distributed"},
        "dataset": {"dataset_name": "Copa", "limit": 4},
        "generation": {"backend": "openai", "model": "gpt-4o-mini", "temperature": 0.7, "max_tokens": 16},
        "validation": {"validators": ["rules"]},
        "evaluation": [{"name": "trainer", "kind": "command", "command": f"{sys.executable} {TRAINER} --train {{train}} "
                        f"--validation {{validation}} --out {{metrics_json}} --invocations {calls}"}],
    }))
    try:
        wait_for_workers(redis_url, ["cpu", "gpu"], workers, logs)
        first = _drive(machines["driver"], config, tmp_path / "first.json")
        assert all(r["success"] for r in first["runs"] + first["evaluations"]), json.dumps(first, indent=1)
        assert calls.read_text().split() == ["gpu", "gpu"]  # baseline and experiment, both on the evaluation queue's worker

        lineage = subprocess.run([str(Path(sys.executable).with_name("synth")), "evaluations", "batch_20250101_celery_eval", "--json"],
                                 cwd=REPO, env=machines["driver"], capture_output=True, text=True, timeout=300)
        assert lineage.returncode == 0, lineage.stderr[-3000:]
        (row,) = json.loads(lineage.stdout)
        assert row["status"] == "ok" and row["n"] == 100 and row["path"].startswith(f"s3://{bucket}/store/_shared/Copa/")
        assert row["run_id"] == first["evaluations"][0]["run_id"]
        key = row["path"][len(f"s3://{bucket}/"):] + "/metrics.json"
        assert json.loads(boto3.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read())["value"] == row["value"]

        again = _drive(machines["driver"], config, tmp_path / "again.json")
        assert all(r["success"] for r in again["evaluations"]), json.dumps(again, indent=1)
        assert calls.read_text().split() == ["gpu", "gpu"]  # the rerun reuses the stored result: 0 trainer invocations
    finally:
        for worker in workers:
            stop(worker)
