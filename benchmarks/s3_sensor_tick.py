"""One tick of the S3 config-drop sensor over N new experiment YAMLs (target: 1,000 in < 30 s).

Runs against a real S3 API (moto's server on 127.0.0.1) with a persistent Dagster instance.
Usage: .venv/bin/python benchmarks/s3_sensor_tick.py [--configs 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3  # noqa: E402
from dagster import DagsterInstance, build_sensor_context  # noqa: E402
from dagster_aws.s3 import S3Resource  # noqa: E402

from resources.store import StoreResource  # noqa: E402
from synth_assets.testing.s3_server import make_bucket, s3_server  # noqa: E402

CONFIG = """experiment: {{batch_id: batch_20250301_sweep, purpose: sweep}}
dataset: {{dataset_name: Copa, limit: 5}}
generation: {{temperature: {t}, seed: {seed}, max_tokens: 32}}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--configs", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, s3_server(separate_process=True):
        os.environ["SYNTH_STATE_DIR"] = tmp
        make_bucket("synth-bench")
        client = boto3.client("s3")
        t0 = time.perf_counter()
        for i in range(args.configs):
            client.put_object(Bucket="synth-bench", Key=f"store/configs/exp_{i:05d}.yaml",
                              Body=CONFIG.format(t=round((i % 200) * 0.01, 2), seed=i // 200).encode())
        upload_s = time.perf_counter() - t0
        (Path(tmp) / "dagster").mkdir()
        instance = DagsterInstance.local_temp(tempdir=str(Path(tmp) / "dagster"))
        resources = {"store": StoreResource(root="s3://synth-bench/store"), "s3": S3Resource()}
        from synth_assets.defs.config_drops import s3_config_drop_sensor

        with build_sensor_context(instance=instance, resources=resources) as context:
            t0 = time.perf_counter()
            result = s3_config_drop_sensor(context)
            tick_s = time.perf_counter() - t0
        with build_sensor_context(instance=instance, resources=resources, cursor=result.cursor) as context:
            t0 = time.perf_counter()
            again = s3_config_drop_sensor(context)
            idle_s = time.perf_counter() - t0
        print(f"uploaded {args.configs} configs in {upload_s:.1f} s")
        print(f"first tick: {len(result.run_requests)} run requests in {tick_s:.1f} s "
              f"({args.configs / tick_s:.0f} configs/s; target: {args.configs} in < 30 s -> {'OK' if tick_s < 30 else 'MISSED'})")
        print(f"next tick (nothing new): {len(again.run_requests)} run requests in {idle_s:.2f} s")


if __name__ == "__main__":
    main()
