"""The store, sensors and the translation-judge recipe on a real S3 API (moto's server on 127.0.0.1)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import boto3
import pytest
import yaml
from dagster import DagsterInstance, build_sensor_context
from dagster_aws.s3 import S3Resource

from resources.store import StoreResource
from synth_assets.core.stores import open_store
from synth_assets.core.store_s3 import S3Store, S3StoreError
from synth_assets.lib.partitions import parse_experiment_key
from synth_assets.testing.judge_drops import make_sample_drop
from synth_assets.testing.s3_server import make_bucket, s3_server

BUCKET = "synth-test"
ROOT = f"s3://{BUCKET}/store"


@pytest.fixture(scope="module")
def s3_endpoint():
    with s3_server() as endpoint:
        make_bucket(BUCKET)
        yield endpoint


@pytest.fixture
def s3_env(s3_endpoint, tmp_path, monkeypatch):
    """An empty S3 store root; local state (lineage, LLM cache, Dagster home) in tmp."""
    client = boto3.client("s3")
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
        for obj in page.get("Contents", []):
            client.delete_object(Bucket=BUCKET, Key=obj["Key"])
    monkeypatch.setenv("SYNTH_ROOT", ROOT)
    monkeypatch.setenv("SYNTH_STATE_DIR", str(tmp_path / "state"))
    for var in ("SYNTH_S3_CONFIGS", "SYNTH_JUDGE_DROPS", "SYNTH_JUDGE_CONFIG", "SYNTH_LINEAGE_DB", "DAGSTER_HOME"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "dagster").mkdir()
    instance = DagsterInstance.local_temp(tempdir=str(tmp_path / "dagster"))
    return client, instance


def keys(client, prefix: str = "store/") -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix)
    return sorted(o["Key"] for page in pages for o in page.get("Contents", []))


def put_config(client, name: str, batch: str, temperature: float = 0.4) -> None:
    config = {
        "experiment": {"batch_id": batch, "purpose": "s3test"},
        "dataset": {"dataset_name": "CB", "limit": 2},
        "generation": {"temperature": temperature, "max_tokens": 8},
    }
    client.put_object(Bucket=BUCKET, Key=f"store/configs/{name}", Body=yaml.safe_dump(config).encode())


def tick(sensor, instance, cursor=None):
    resources = {"store": StoreResource(root=ROOT), "s3": S3Resource()}
    with build_sensor_context(instance=instance, resources=resources, cursor=cursor) as context:
        return sensor(context)


def execute(instance, run_request) -> None:
    from synth_assets.defs import build_definitions

    result = build_definitions(ROOT).resolve_job_def(run_request.job_name).execute_in_process(
        partition_key=run_request.partition_key, instance=instance, tags=run_request.tags
    )
    assert result.success


@pytest.mark.slow
def test_config_drop_runs_new_fingerprints_and_only_links_known_ones(s3_env):
    from synth_assets.defs.config_drops import s3_config_drop_sensor

    client, instance = s3_env
    put_config(client, "first.yaml", "batch_20250301_s3")
    client.put_object(Bucket=BUCKET, Key="store/configs/broken.yaml", Body=b"dataset: {dataset_name: CB}\ngeneration: {temprature: 0.3}\n")
    first = tick(s3_config_drop_sensor, instance)
    assert len(first.run_requests) == 1
    error = client.get_object(Bucket=BUCKET, Key="store/configs/broken.yaml.error.txt")["Body"].read().decode()
    assert "broken.yaml:2" in error and "temprature" in error and "unknown key" in error
    assert instance.get_dynamic_partitions("rephrase_dataset") == ["CB"]

    execute(instance, first.run_requests[0])
    store = open_store(ROOT)
    [(dataset, name, fingerprint)] = list(store.complete_experiments())
    shared = f"store/_shared/CB/{name}/"
    assert {f"{shared}.fingerprint", f"{shared}CB/cb_train.jsonl", f"{shared}CB/cb_validation.jsonl",
            f"{shared}experiment_metadata.json", f"{shared}generation_config.yaml", f"{shared}README.md"} <= set(keys(client))
    assert len(store.read_jsonl(f"_shared/CB/{name}/CB/cb_train.jsonl")) == 2
    manifest = json.loads(client.get_object(Bucket=BUCKET, Key=f"store/batch_20250301_s3/CB/{name}")["Body"].read())
    assert manifest["target"] == f"_shared/CB/{name}" and manifest["fingerprint"] == fingerprint

    put_config(client, "again.yaml", "batch_20250302_again")  # same parameters, another batch
    second = tick(s3_config_drop_sensor, instance, cursor=first.cursor)
    assert second.run_requests == []
    assert store.read_view(f"batch_20250302_again/CB/{name}") == f"_shared/CB/{name}"
    assert store.resolve(f"{ROOT}/batch_20250302_again/CB/{name}/CB/cb_train.jsonl") == ("CB", name)
    assert sorted(store.batches_linking("CB", name)) == ["batch_20250301_s3", "batch_20250302_again"]


def test_deleted_cursor_object_does_not_break_the_next_tick(s3_env):
    from synth_assets.defs.config_drops import s3_config_drop_sensor

    client, instance = s3_env
    put_config(client, "a.yaml", "batch_20250303_cursor", temperature=0.1)
    first = tick(s3_config_drop_sensor, instance)
    client.delete_object(Bucket=BUCKET, Key="store/configs/a.yaml")
    put_config(client, "b.yaml", "batch_20250303_cursor", temperature=0.2)
    second = tick(s3_config_drop_sensor, instance, cursor=first.cursor)
    assert [r.tags["synth/source"] for r in second.run_requests] == [f"s3://{BUCKET}/store/configs/b.yaml"]
    third = tick(s3_config_drop_sensor, instance, cursor=second.cursor)
    assert third.run_requests == []


def test_the_marker_is_written_last_and_a_failed_build_leaves_nothing(s3_env, monkeypatch):
    client, _ = s3_env
    store = open_store(ROOT)
    written = []
    original = S3Store.write_bytes

    def recording(self, key, data):
        written.append(key)
        if key.endswith("boom.txt"):
            raise OSError("disk full")
        original(self, key, data)

    monkeypatch.setattr(S3Store, "write_bytes", recording)
    with store.building("_shared/CB/ok", "f" * 64) as out:
        out.write_text("CB/cb_train.jsonl", "{}\n")
        out.write_text("README.md", "hi")
    assert written[-1] == "_shared/CB/ok/.fingerprint"
    with pytest.raises(OSError), store.building("_shared/CB/broken", "e" * 64) as out:
        out.write_text("CB/cb_train.jsonl", "{}\n")
        out.write_text("boom.txt", "x")
    assert keys(client, "store/_shared/CB/broken") == []
    assert not store.is_complete("CB", "broken", "e" * 64)
    assert store.is_complete("CB", "ok", "f" * 64)


def test_missing_bucket_and_missing_credentials_are_named(s3_env, monkeypatch, tmp_path):
    with pytest.raises(S3StoreError, match="bucket 'no-such-bucket' does not exist"):
        open_store("s3://no-such-bucket/x")
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    with pytest.raises(S3StoreError, match="AWS_ACCESS_KEY_ID"):
        open_store(ROOT)


def test_judge_drop_quarantines_corrupt_lines_and_publishes_a_stratified_split(s3_env, tmp_path, monkeypatch):
    from synth_assets.lib.drop_sensors import build_drop_sensor
    from synth_assets.recipes.translation_judge.drops import JUDGE_DROPS

    judge_drop_sensor = build_drop_sensor(JUDGE_DROPS)

    client, instance = s3_env
    config = tmp_path / "judge.yaml"
    config.write_text("min_samples: 0\ntest_ratio: 0.1\nseed: 3\n")  # no synthesis: no LLM calls
    monkeypatch.setenv("SYNTH_JUDGE_CONFIG", str(config))
    lines = make_sample_drop(200, corrupt_lines=[10, 50, 150], seed=7)
    client.put_object(Bucket=BUCKET, Key="store/judge_drops/run_a.jsonl.out", Body="\n".join(lines).encode())
    client.put_object(Bucket=BUCKET, Key="store/judge_drops/empty.jsonl.out", Body=b"")
    result = tick(judge_drop_sensor, instance)
    assert len(result.run_requests) == 1
    assert "empty" in client.get_object(Bucket=BUCKET, Key="store/judge_drops/empty.jsonl.out.error.txt")["Body"].read().decode()
    execute(instance, result.run_requests[0])

    store = open_store(ROOT)
    record = store.registration(parse_experiment_key(result.run_requests[0].partition_key.keys_by_dimension["fingerprint"])[1])
    process_dir = store.stage_key(record["dataset"], "process", record["stages"]["process"])
    assert len(store.read_jsonl(f"{process_dir}/data.jsonl")) == 197
    assert [q["line"] for q in store.read_jsonl(f"{process_dir}/quarantine.jsonl")] == [10, 50, 150]
    shared = store.experiment_key(record["dataset"], record["semantic_name"])
    train, test = store.read_jsonl(f"{shared}/trainset/train.jsonl"), store.read_jsonl(f"{shared}/testset/test.jsonl")
    assert len(train) + len(test) == 197
    assert {r["label"] for r in test} == {r["label"] for r in train}  # every class in both
    assert store.fingerprint_at(shared) == record["fingerprint"]
    assert tick(judge_drop_sensor, instance, cursor=result.cursor).run_requests == []


@pytest.mark.slow
def test_minority_synthesis_tops_up_every_class_with_the_local_model(tmp_path, monkeypatch):
    """A local drop (no S3 needed): the 5 'bad' examples are topped up to min_samples by the LLM."""
    from synth_assets.cli.main import app
    from typer.testing import CliRunner

    monkeypatch.setenv("SYNTH_ROOT", str(tmp_path / "root"))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    config = tmp_path / "judge.yaml"
    config.write_text("min_samples: 7\ntest_ratio: 0.2\nk_shot: 2\nmax_rounds: 6\ngeneration: {temperature: 0.9, max_tokens: 200}\nrpm: 6000\n")
    drop = Path(__file__).resolve().parent.parent / "examples" / "translation_judge" / "drop" / "judge_batch_0001.jsonl.out"
    out = CliRunner().invoke(app, ["judge", str(drop), "--config", str(config), "--json"])
    assert out.exit_code == 0, out.output
    [row] = json.loads(out.output[out.output.index("[\n"):])
    store = open_store(os.environ["SYNTH_ROOT"])
    shared = store.experiment_key(row["dataset"], row["semantic_name"])
    rows = store.read_jsonl(f"{shared}/trainset/train.jsonl") + store.read_jsonl(f"{shared}/testset/test.jsonl")
    counts = {label: sum(1 for r in rows if r["label"] == label) for label in ("bad", "acceptable", "good")}
    assert min(counts.values()) >= 7, counts
    synthetic = [r for r in rows if r["synthetic"]]
    assert synthetic and {r["label"] for r in synthetic} == {"bad"}


def test_a_failed_second_writer_keeps_the_first_writers_complete_data(s3_env):
    """S3 has no rename: two runs of the same stage write the same keys; a late failure must not delete them."""
    client, _ = s3_env
    store = open_store(ROOT)
    fingerprint = "a" * 64
    with pytest.raises(RuntimeError):
        with store.building("_stages/CB/source/aaaa", fingerprint) as late:
            late.write_text("data.jsonl", "{}\n")
            with store.building("_stages/CB/source/aaaa", fingerprint) as first:  # finishes meanwhile
                first.write_text("data.jsonl", "{}\n")
            raise RuntimeError("the late writer fails")
    assert store.fingerprint_at("_stages/CB/source/aaaa") == fingerprint
    assert store.read_bytes("_stages/CB/source/aaaa/data.jsonl") == b"{}\n"


def test_one_run_per_fingerprint_and_undecodable_configs_are_rejected(s3_env):
    from synth_assets.defs.config_drops import s3_config_drop_sensor

    client, instance = s3_env
    put_config(client, "one.yaml", "batch_20250305_dup", temperature=0.6)
    put_config(client, "two.yaml", "batch_20250305_dup", temperature=0.6)  # the same parameters again
    client.put_object(Bucket=BUCKET, Key="store/configs/latin1.yaml", Body="dataset: {dataset_name: Caf\xe9}\n".encode("latin-1"))
    result = tick(s3_config_drop_sensor, instance)
    assert len(result.run_requests) == 1
    error = client.get_object(Bucket=BUCKET, Key="store/configs/latin1.yaml.error.txt")["Body"].read().decode()
    assert "not UTF-8" in error


def test_replace_is_copy_on_write_on_s3(s3_env):
    """S3 has no rename: a rebuilt folder goes under a new version, the `.current` pointer switches last, views and
    readers follow it; a rebuild that fails leaves the old data served."""
    client, _ = s3_env
    store = open_store(ROOT)
    prefix = store.experiment_key("Copa", "temp07")
    with store.building(prefix, "fp-a") as out:
        out.write_text("Copa/copa_train.jsonl", '{"v": 1}\n')
        out.write_text("experiment_metadata.json", json.dumps({"summary": {"data_file": "Copa/copa_train.jsonl"}}))
    store.link("batch_20250101_cow", "Copa", "temp07")
    with pytest.raises(RuntimeError):
        with store.building(prefix, "fp-a", replace=True) as out:
            out.write_text("Copa/copa_train.jsonl", '{"v": "half"}\n')
            raise RuntimeError("killed mid-build")
    assert store.read_jsonl(store.published_data_file("Copa", "temp07")) == [{"v": 1}]  # the old data, still served
    with store.building(prefix, "fp-a", replace=True) as out:
        out.write_text("Copa/copa_train.jsonl", '{"v": 2}\n')
        out.write_text("experiment_metadata.json", json.dumps({"summary": {"data_file": "Copa/copa_train.jsonl"}}))
    assert store.read_jsonl(store.published_data_file("Copa", "temp07")) == [{"v": 2}]
    assert store.is_complete("Copa", "temp07", "fp-a")
    assert store.resolve(f"{ROOT}/batch_20250101_cow/Copa/temp07") == ("Copa", "temp07")
    live = store.files_key("Copa", "temp07")
    first_copy = f"store/{prefix}/Copa/copa_train.jsonl"
    assert live.startswith(f"{prefix}/.v/") and first_copy in keys(client)  # a reader of the old copy can finish
    with store.building(prefix, "fp-a", replace=True) as out:
        out.write_text("Copa/copa_train.jsonl", '{"v": 3}\n')
    assert store.read_jsonl(f"{store.files_key('Copa', 'temp07')}/Copa/copa_train.jsonl") == [{"v": 3}]
    versions = {k.split("/.v/")[1].split("/")[0] for k in keys(client) if "/.v/" in k}
    assert first_copy not in keys(client) and len(versions) == 2  # the live copy and the one before it
