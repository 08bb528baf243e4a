"""Lineage on a local DuckDB file vs DuckLake (PostgreSQL 15 catalog, Parquet on a moto S3), in one run.

1. Query time over --rows materializations (with as many edges and usage rows): `synth lineage`
   questions (provenance of a file, batches, cost, batches using a fingerprint, origin) on both
   backends; target < 1 s each.
2. Parquet files created per 1,000 materializations written through the real API the way the IO
   manager and the registry write them (one session per output), with inlining and periodic
   flushes (the defaults) vs a baseline with inlining off (one file per insert, as plain DuckLake).

Usage: nice -n 10 .venv/bin/python benchmarks/lineage_backends.py [--rows 100000] [--materializations 1000]
"""

from __future__ import annotations

import argparse
import hashlib
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3  # noqa: E402
import duckdb  # noqa: E402

from synth_assets.core.lineage import DuckLakeSettings, Lineage  # noqa: E402
from synth_assets.core.lineage.migrate import migrate  # noqa: E402
from synth_assets.testing.servers import postgres_server  # noqa: E402
from synth_assets.testing.s3_server import make_bucket, s3_server  # noqa: E402

STAGES = ("rephrase/source", "rephrase/rephrased", "rephrase/validated", "rephrase/published")


def fill(db: str, rows: int) -> None:
    """`rows` materializations of rows/4 experiments (4 stages each), their edges and usage, in bulk."""
    Lineage(db).batches()  # schema
    con = duckdb.connect(db)
    experiments = rows // 4
    con.execute("""INSERT INTO batches SELECT 'batch_20250101_b' || i, 'b' || i, NULL, TIMESTAMP '2025-01-01'
                   FROM range(20) t(i)""")
    con.execute("""INSERT INTO experiments SELECT sha256(CAST(i AS VARCHAR)), 'synth/1', 'Copa', 'n' || i,
                   '/store/_shared/Copa/n' || i, '{"t": 0.7}', 't: 0.7', 'batch_20250101_b' || (i % 20),
                   TIMESTAMP '2025-01-01' + INTERVAL (i) SECOND, NULL, 'complete', NULL FROM range(?) t(i)""",
                [experiments])
    con.execute("""INSERT INTO batch_members SELECT 'batch_20250101_b' || (i % 20), 'Copa', sha256(CAST(i AS VARCHAR)),
                   '/v/' || i, false, TIMESTAMP '2025-01-01' FROM range(?) t(i)""", [experiments])
    con.execute(f"""INSERT INTO materializations SELECT i + 1, list_extract({list(STAGES)}, i % 4 + 1),
                   'Copa|' || sha256(CAST(i // 4 AS VARCHAR)), 'Copa', sha256(CAST(i // 4 AS VARCHAR)), 's' || i, 'run' || (i // 4),
                   '/store/_stages/Copa/' || (i // 4) || '/' || (i % 4) || '.jsonl', 10, 'h', false,
                   TIMESTAMP '2025-01-01', TIMESTAMP '2025-01-01' FROM range(?) t(i)""", [rows])
    con.execute("""INSERT INTO lineage_edges SELECT id, asset, partition_key, path, NULL, partition_key,
                   '/store/_stages/Copa/' || ((id - 1) // 4) || '/' || ((id - 1) % 4 - 1) || '.jsonl', run_id
                   FROM materializations WHERE (id - 1) % 4 > 0""")
    con.execute("""INSERT INTO llm_usage SELECT run_id, asset, partition_key, fingerprint,
                   'batch_20250101_b' || ((id // 4) % 20), 'local', 'm', 4, 1, 0, 0, 400, 100, 0.001,
                   TIMESTAMP '2025-01-01' FROM materializations""")
    con.close()


def time_queries(lin: Lineage, rows: int, repeat: int = 5) -> dict[str, float]:
    last = rows // 4 - 7
    fp = hashlib.sha256(str(last).encode()).hexdigest()
    questions = {
        "provenance (file -> chain -> config)": lambda: lin.provenance(f"/store/_stages/Copa/{last}/3.jsonl"),
        "batches (counts + cost)": lin.batches,
        "cost per batch": lin.cost_by_batch,
        "batches using a fingerprint": lambda: lin.batches_using(fp[:12]),
        "origin of a fingerprint": lambda: lin.origin(fp[:12]),
        "sql count(*) materializations": lambda: lin.query("SELECT count(*) FROM materializations"),
    }
    assert len(lin.provenance(f"/store/_stages/Copa/{last}/3.jsonl")) == 5  # 4 stages + the experiment
    timings = {}
    for name, ask in questions.items():
        ask()  # warm
        samples = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            ask()
            samples.append(time.perf_counter() - t0)
        timings[name] = statistics.median(samples)
    return timings


def write_like_the_platform(lin: Lineage, materializations: int) -> float:
    """Register an experiment, then record its 4 stage outputs (published marks it complete)."""
    t0 = time.perf_counter()
    for i in range(materializations):
        exp, stage = divmod(i, 4)
        fp = hashlib.sha256(str(exp).encode()).hexdigest()
        if stage == 0:
            with lin.session():
                lin.record_batch("batch_20250301_bench", purpose="bench")
                lin.record_experiment(fingerprint=fp, scheme="synth/1", dataset="Copa", semantic_name=f"n{exp}",
                                      shared_path=f"/s/{exp}", params={"t": 0.7}, config_yaml="t: 0.7",
                                      origin_batch="batch_20250301_bench")
                lin.origin(fp)
                lin.record_membership(batch_id="batch_20250301_bench", dataset="Copa", fingerprint=fp,
                                      view_path=f"/v/{exp}", reused=False)
        with lin.session():
            lin.record_materialization(
                asset=STAGES[stage], partition_key=f"Copa|{fp}", dataset="Copa", fingerprint=fp,
                stage_fingerprint=f"s{i}", run_id=f"r{exp}", path=f"/s/{exp}/{stage}.jsonl", rows=10,
                content_hash="h", reused=False, started_at=None, ended_at=None,
                upstream=[{"asset": STAGES[stage - 1], "partition_key": f"Copa|{fp}"}] if stage else [])
            lin.record_llm_usage(run_id=f"r{exp}", asset=STAGES[stage], partition_key=f"Copa|{fp}", fingerprint=fp,
                                 batch_id="batch_20250301_bench", backend="local", model="m",
                                 usage={"requests": 4, "prompt_tokens": 400})
            if stage == 3:
                lin.mark_complete(fp)
                lin.batches_using(fp)
    return time.perf_counter() - t0


def parquet_objects(bucket: str, prefix: str) -> int:
    pages = boto3.client("s3").get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return sum(1 for page in pages for o in page.get("Contents", []) if o["Key"].endswith(".parquet"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--materializations", type=int, default=1000)
    parser.add_argument("--baseline-materializations", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, postgres_server() as pg, s3_server(separate_process=True):
        make_bucket("lineage")
        local_db = str(Path(tmp) / "lineage.duckdb")
        t0 = time.perf_counter()
        fill(local_db, args.rows)
        lake = Lineage("ducklake:postgres:" + pg.create_database("bench_query"), data_path="s3://lineage/query")
        copied = {c.table: c.copied for c in migrate(local_db, lake)}
        print(f"filled {args.rows:,} materializations locally and migrated them to DuckLake in "
              f"{time.perf_counter() - t0:.1f} s: {copied}")

        local_t, lake_t = time_queries(Lineage(local_db), args.rows), time_queries(lake, args.rows)
        print(f"\nquery time over {args.rows:,} materializations (median of 5; target < 1 s)")
        print(f"{'question':40s} {'local file':>11s} {'DuckLake':>11s} {'ratio':>7s}")
        for name in local_t:
            print(f"{name:40s} {local_t[name]:10.3f}s {lake_t[name]:10.3f}s {lake_t[name] / local_t[name]:6.1f}x")

        print("\nParquet files created per 1,000 materializations (S3 objects; registration + 4 stages per experiment)")
        runs = (("inlined + flush every 1,000 snapshots (default)", DuckLakeSettings(), args.materializations),
                ("baseline: inlining off", DuckLakeSettings(inline_rows=0, flush_every=0, compact_every=0),
                 args.baseline_materializations))
        per_1000 = {}
        for label, settings, n in runs:
            prefix = f"w{len(per_1000)}"
            lin = Lineage("ducklake:postgres:" + pg.create_database(f"bench_{prefix}"),
                          data_path=f"s3://lineage/{prefix}", ducklake=settings)
            seconds = write_like_the_platform(lin, n)
            created = parquet_objects("lineage", prefix + "/")
            per_1000[label] = created * 1000 / n
            assert lin.query("SELECT count(*) AS n FROM materializations")[0]["n"] == n
            print(f"{label:48s} {n:5d} materializations: {created:5d} files = {per_1000[label]:7.1f} per 1,000 "
                  f"({seconds / n * 1000:.0f} ms per materialization)")
            if settings.flush_every:
                compacted = Lineage(lin.db_path, data_path=f"s3://lineage/{prefix}",
                                    ducklake=DuckLakeSettings(retention=timedelta(0))).maintain(compact=True)
                print(f"{'':48s} after maintain(compact) with 0 retention: live files {compacted}")
        inlined, base = per_1000.values()
        ratio = f"{base / inlined:.0f}x fewer" if inlined else "none at all with inlining"
        print(f"\nParquet files per 1,000 materializations: {inlined:.1f} inlined vs {base:.1f} baseline ({ratio})")


if __name__ == "__main__":
    main()
