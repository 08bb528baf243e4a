"""What the Dagster UI shows of runs, checks and batches, on a tiny recipe without LLM calls and a real instance:
run tags added by the stage assets, check results per partition, the `batches` asset and its sensor."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dagster import AssetKey, AssetRecordsFilter, DagsterEventType, build_sensor_context

from resources.store import StoreResource
from synth_assets.core.fingerprint import Fingerprints, short, stage_fingerprints
from synth_assets.core.registry import draft_record, register_record
from synth_assets.core.store import DirWriter, jsonl_bytes
from synth_assets.lib.batch_reports.report import BATCH_SET, BATCHES
from synth_assets.defs.batches.sensor import batch_views_sensor
from synth_assets.lib.partitions import partition_key
from synth_assets.recipes import registry
from synth_assets.recipes.base import Check, CheckResult, Published, Recipe, Rows, Stage, StageRun
from tests.conftest import lineage_for, local_store

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


def _numbers(run: StageRun) -> Rows:
    if run.job["count"] < 0:
        raise ValueError("a negative count cannot be counted")
    return [{"n": i} for i in range(run.job["count"])]


def _publish(run: StageRun, rows: Rows, files: DirWriter) -> Published:
    files.write_bytes("numbers.jsonl", jsonl_bytes(rows))
    return Published("numbers.jsonl", {"numbers": len(rows)})


SMALL = Check("small", "At most 10 numbers.", lambda run, rows: CheckResult(len(rows) <= 10, {"rows": len(rows)}), blocking=True)

TALLY = Recipe(
    name="tally", description="The first `count` numbers.",
    stages=(Stage("numbers", "numbers", "The numbers.", _numbers, reads_upstream=False, required_fields=lambda job: ["n"],
                  metadata=lambda run, rows: {"even_share": sum(r["n"] % 2 == 0 for r in rows) / max(len(rows), 1)},
                  checks=(SMALL,)),
            Stage("published", "published", "The numbers, published.", lambda run: run.upstream)),
    load=lambda record, store: record["config"], publish=_publish,
)


@pytest.fixture
def tally(synth_root):
    from synth_assets.cli.materialize import dagster_instance, definitions

    registry.add(TALLY)
    definitions.cache_clear()
    yield definitions(str(synth_root)), dagster_instance(synth_root)
    registry.remove(TALLY.name)
    definitions.cache_clear()


def register(root: Path, count: int, batch: str):
    config = {"count": count}
    fps = Fingerprints("tally/1", stage_fingerprints("tally/1", {"numbers": config, "published": {}}), {"numbers": config})
    draft = draft_record(fps, dataset="integers", recipe="tally", config=config, config_yaml=json.dumps(config), source_file="")
    return register_record(draft, f"count{count}", local_store(root), lineage_for(root), batch_id=batch)


def run_like_the_ui(defs, instance, reg):
    """A backfill run as the UI launches it: a one-partition range, no synth tags."""
    from synth_assets.lib.partitions import add_partitions

    add_partitions(instance, [reg.record])
    key = str(partition_key(reg.record))
    return defs.resolve_job_def("tally_job").execute_in_process(
        instance=instance, tags={RANGE_START: key, RANGE_END: key}, raise_on_error=False)


def batch_events(instance, batch_id: str) -> list[dict]:
    records = instance.fetch_materializations(AssetRecordsFilter(asset_key=BATCHES, asset_partitions=[batch_id]), limit=100).records
    return [{k: getattr(v, "value", v) for k, v in r.asset_materialization.metadata.items()} for r in records]


def test_a_run_launched_without_synth_tags_is_tagged_with_every_batch_and_the_fingerprint(tally, synth_root):
    defs, instance = tally
    first = register(synth_root, 3, "batch_20250101_first")
    register(synth_root, 3, "batch_20250102_second")  # the same experiment, pending, in a second batch

    result = run_like_the_ui(defs, instance, first)

    assert result.success
    tags = instance.get_run_by_id(result.run_id).tags
    assert tags["synth/fingerprint"] == short(first.fingerprint)
    assert tags["synth/batch"] == "batch_20250101_first,batch_20250102_second"


def test_a_run_that_names_its_batch_keeps_it(tally, synth_root):
    from synth_assets.cli.materialize import materialize

    _, instance = tally
    register(synth_root, 2, "batch_20250101_first")
    reg = register(synth_root, 2, "batch_20250102_second")
    outcome = materialize([reg], str(synth_root), instance=instance, log_level="WARNING")

    assert instance.get_run_by_id(outcome[reg.fingerprint].run_id).tags["synth/batch"] == "batch_20250102_second"


def test_check_results_are_attached_to_their_partition(tally, synth_root):
    defs, instance = tally
    good, empty = register(synth_root, 2, "batch_20250101_checks"), register(synth_root, 0, "batch_20250101_checks")

    run_like_the_ui(defs, instance, good)
    run_like_the_ui(defs, instance, empty)

    found = {}
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
            ev = entry.dagster_event.event_specific_data
            found[(ev.asset_key.to_user_string(), ev.check_name, ev.partition)] = (ev.passed, ev.description)
    good_key, empty_key = str(partition_key(good.record)), str(partition_key(empty.record))
    assert found[("tally/numbers", "non_empty", good_key)] == (True, "passed: rows 2")
    assert found[("tally/numbers", "non_empty", empty_key)] == (False, "failed: rows 0")
    assert found[("tally/numbers", "schema", good_key)][0] is True
    assert None not in {partition for _, _, partition in found}


def test_publishing_reports_the_view_of_every_batch_using_the_experiment(tally, synth_root):
    defs, instance = tally
    reg = register(synth_root, 4, "batch_20250101_views")

    run_like_the_ui(defs, instance, reg)

    assert "batch_20250101_views" in instance.get_dynamic_partitions(BATCH_SET)
    [view] = batch_events(instance, "batch_20250101_views")
    assert (view["experiments"], view["complete"], view["new"], view["pending"]) == (1, 1, 1, 0)
    assert f"| integers | count4 | {short(reg.fingerprint)} | new | complete |" in view["experiments_table"]
    assert view["view_folder"] == "batch_20250101_views" and view["store_root"] == str(synth_root)


def test_recipe_metadata_is_rounded(tally, synth_root):
    defs, instance = tally
    reg = register(synth_root, 3, "batch_20250101_round")

    run_like_the_ui(defs, instance, reg)

    [record] = instance.fetch_materializations(AssetRecordsFilter(asset_key=AssetKey(["tally", "numbers"])), limit=1).records
    assert record.asset_materialization.metadata["even_share"].value == 0.6667  # 2/3


def test_a_failed_run_shows_in_its_batch_with_the_stage_and_error(tally, synth_root):
    defs, instance = tally
    reg = register(synth_root, -1, "batch_20250101_broken")

    assert not run_like_the_ui(defs, instance, reg).success

    [view] = batch_events(instance, "batch_20250101_broken")
    assert view["failed"] == 1 and view["complete"] == 0
    assert "failed in numbers: ValueError: a negative count cannot be counted" in view["experiments_table"]


def test_a_failed_blocking_check_stops_the_run_and_shows_in_its_batch(tally, synth_root):
    defs, instance = tally
    reg = register(synth_root, 12, "batch_20250101_big")

    result = run_like_the_ui(defs, instance, reg)

    assert not result.success
    published = instance.fetch_materializations(AssetRecordsFilter(asset_key=AssetKey(["tally", "published"])), limit=1).records
    assert published == []
    [view] = batch_events(instance, "batch_20250101_big")
    assert view["failed"] == 1 and "failed in numbers: blocking check small failed: rows 12" in view["experiments_table"]


def test_the_sensor_reports_a_batch_registered_without_a_run_and_says_what_it_found(tally, synth_root):
    defs, instance = tally
    run_like_the_ui(defs, instance, register(synth_root, 5, "batch_20250101_made"))
    reused = register(synth_root, 5, "batch_20250102_reuses")  # complete already: a view, no run
    assert reused.complete and batch_events(instance, "batch_20250102_reuses") == []
    resources = {"store": StoreResource(root=str(synth_root))}

    first = batch_views_sensor(build_sensor_context(instance=instance, resources=resources))
    again = batch_views_sensor(build_sensor_context(instance=instance, resources=resources, cursor=first.cursor))

    [view] = batch_events(instance, "batch_20250102_reuses")
    assert view["reused"] == 1 and "reused (origin batch_20250101_made)" in view["experiments_table"]
    assert len(batch_events(instance, "batch_20250101_made")) == 1  # already reported by its run: not repeated
    assert first.skip_reason.skip_message.endswith("reported the view of batch_20250102_reuses (1 experiments (0 new, 1 reused): "
                                      "1 complete, 0 pending, 0 failed)")
    assert first.skip_reason.skip_message.startswith(f"watched 2 batches in the lineage of {synth_root}: 2 changed")
    assert again.skip_reason.skip_message == f"watched 2 batches in the lineage of {synth_root}: none changed since the last tick"
