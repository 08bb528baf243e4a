"""The config-drop sensor: register dropped YAMLs, add partitions, request runs only for what is missing."""

from __future__ import annotations

import json
import os

import pytest
import yaml
from dagster import build_sensor_context, instance_for_test

from resources.store import StoreResource
from synth_assets.defs.config_drops import config_drop_sensor
from synth_assets.lib.partitions import experiment_key
from tests.conftest import copa_config, lineage_for, local_store, register_config, store_building

building, _ = store_building()


@pytest.fixture
def drop(tmp_path, monkeypatch, synth_root):
    folder = tmp_path / "drop"
    folder.mkdir()
    monkeypatch.setenv("SYNTH_DROP_DIR", str(folder))
    return folder


@pytest.fixture
def instance():
    with instance_for_test() as inst:
        yield inst


def tick(instance, root, cursor=None):
    context = build_sensor_context(instance=instance, resources={"store": StoreResource(root=str(root))}, cursor=cursor)
    return config_drop_sensor(context)


def drop_config(folder, name, config):
    path = folder / name
    path.write_text(config if isinstance(config, str) else yaml.safe_dump(config, sort_keys=False))
    return path


def test_valid_drop_requests_runs_and_adds_partitions(drop, instance, synth_root):
    drop_config(drop, "sweep.yaml", copa_config(batch_id="batch_20250101_drop", temperature=[0.3, 0.7]))
    result = tick(instance, synth_root)
    assert len(result.run_requests) == 2
    store = local_store(synth_root)
    records = store.registrations()
    assert len(records) == 2
    fps = {experiment_key(r) for r in records}
    assert {rr.partition_key.keys_by_dimension["fingerprint"] for rr in result.run_requests} == fps
    assert {rr.partition_key.keys_by_dimension["dataset"] for rr in result.run_requests} == {"Copa"}
    assert {rr.job_name for rr in result.run_requests} == {"rephrase_job"}
    assert all(rr.tags["synth/batch"] == "batch_20250101_drop" for rr in result.run_requests)
    assert len({rr.run_key for rr in result.run_requests}) == 2
    assert set(instance.get_dynamic_partitions("rephrase_fingerprint")) == fps
    assert instance.get_dynamic_partitions("rephrase_dataset") == ["Copa"]
    members = lineage_for(synth_root).batch_members("batch_20250101_drop")
    assert len(members) == 2
    assert not list(drop.glob("*.error.txt"))


def test_bad_yaml_gets_error_marker_and_others_still_run(drop, instance, synth_root):
    bad = drop_config(drop, "a_bad.yaml", "dataset:\n  dataset_name: Copa\n  limit: [1,\n")
    unknown = drop_config(drop, "b_unknown.yaml", yaml.safe_dump(copa_config()).replace("top_p:", "topp:"))
    not_mapping = drop_config(drop, "c_list.yml", "- just\n- a list\n")
    drop_config(drop, "d_good.yaml", copa_config(batch_id="batch_20250101_good"))
    (drop / "notes.txt").write_text("not a config")
    result = tick(instance, synth_root)
    assert len(result.run_requests) == 1
    assert result.run_requests[0].tags["synth/batch"] == "batch_20250101_good"
    for path, needle in ((bad, "malformed YAML"), (unknown, "topp"), (not_mapping, "mapping")):
        marker = path.with_name(path.name + ".error.txt")
        assert marker.is_file(), path
        text = marker.read_text()
        assert str(path) in text and needle in text
    assert not (drop / "d_good.yaml.error.txt").exists()
    assert len(local_store(synth_root).registrations()) == 1
    # fixing the file: processed on the next tick, marker gone
    drop_config(drop, "b_unknown.yaml", copa_config(batch_id="batch_20250101_fixed", temperature=0.2))
    again = tick(instance, synth_root, cursor=result.cursor)
    assert len(again.run_requests) == 1 and again.run_requests[0].tags["synth/batch"] == "batch_20250101_fixed"
    assert not (drop / "b_unknown.yaml.error.txt").exists()
    assert (drop / "a_bad.yaml.error.txt").exists()


def test_same_file_next_tick_is_skipped(drop, instance, synth_root):
    drop_config(drop, "one.yaml", copa_config())
    first = tick(instance, synth_root)
    assert len(first.run_requests) == 1
    cursor = json.loads(first.cursor)
    assert set(cursor) == {"one.yaml"}
    second = tick(instance, synth_root, cursor=first.cursor)
    assert second.run_requests == [] and json.loads(second.cursor) == cursor
    # a changed file is looked at again
    drop_config(drop, "one.yaml", copa_config(temperature=0.4))
    third = tick(instance, synth_root, cursor=second.cursor)
    assert len(third.run_requests) == 1
    assert third.run_requests[0].run_key != first.run_requests[0].run_key


def test_complete_fingerprint_gets_view_not_run(drop, instance, synth_root, write_yaml):
    (reg,) = register_config(write_yaml(copa_config(batch_id="batch_20250101_made")), synth_root)
    store = local_store(synth_root)
    with building(store.experiment_dir("Copa", reg.name), reg.fingerprint) as tmp:  # as a finished run leaves it
        (tmp / "Copa").mkdir()
        (tmp / "Copa" / "copa_train.jsonl").write_text('{"premise": "p"}\n')
    drop_config(drop, "again.yaml", copa_config(batch_id="batch_20250105_again"))
    result = tick(instance, synth_root)
    assert result.run_requests == []
    view = synth_root / "batch_20250105_again" / "Copa" / reg.name
    assert view.is_symlink() and (view / "Copa" / "copa_train.jsonl").read_text() == '{"premise": "p"}\n'
    members = lineage_for(synth_root).batch_members("batch_20250105_again")
    assert [(m["fingerprint"], m["reused"]) for m in members] == [(reg.fingerprint, True)]
    assert experiment_key(reg.record) in instance.get_dynamic_partitions("rephrase_fingerprint")


def test_empty_or_missing_drop_folder(tmp_path, monkeypatch, instance, synth_root):
    monkeypatch.setenv("SYNTH_DROP_DIR", str(tmp_path / "no_such_folder"))
    result = tick(instance, synth_root)
    assert result.run_requests == [] and json.loads(result.cursor) == {}


def test_a_config_moved_in_with_an_old_modification_time_is_seen(drop, instance, synth_root, tmp_path):
    drop_config(drop, "first.yaml", copa_config())
    first = tick(instance, synth_root)
    elsewhere = tmp_path / "later.yaml"
    elsewhere.write_text(yaml.safe_dump(copa_config(temperature=0.3)))
    os.utime(elsewhere, (1_000_000_000, 1_000_000_000))  # older than anything the cursor saw
    elsewhere.rename(drop / "later.yaml")
    second = tick(instance, synth_root, cursor=first.cursor)
    assert len(second.run_requests) == 1 and set(json.loads(second.cursor)) == {"first.yaml", "later.yaml"}
