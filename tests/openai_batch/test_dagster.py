"""Dagster: the sensor on a persistent instance, and the assets end to end into the shared store."""

from __future__ import annotations


from dagster import DagsterInstance, build_sensor_context, materialize

from io_managers.shared_store import SharedStoreIOManager
from resources.store import StoreResource
from synth_assets.core.stores import open_store
from synth_assets.lib.partitions import add_partitions, partition_key
from synth_assets.lib.pollers import build_poll_sensor
from synth_assets.lib.stage_assets import build_stage_assets
from synth_assets.recipes.registry import get
from synth_assets.recipes.openai_batch.polling import POLLER
from synth_assets.recipes.openai_batch.settings import OpenAIBatchSettings
from tests.openai_batch.conftest import make_requests, write_input
from tests.openai_batch.test_submit import wait_for

batchapi_sensor = build_poll_sensor(get("batchapi"), POLLER)
batchapi_requests, batchapi_submitted, batchapi_compiled = batchapi_assets = build_stage_assets(get("batchapi"))


def resource(server, root) -> OpenAIBatchSettings:
    return OpenAIBatchSettings(root=str(root), backend="openai", base_url=server.base_url)


def add_set_partitions(instance, root, s):
    """Make a registered set a partition of the batchapi assets; return its key."""
    record = open_store(str(root)).registration(s["set_fp"])
    add_partitions(instance, [record])
    return partition_key(record)


def test_sensor_requests_a_run_for_completed_batch_only(server, root, tmp_path):
    server.control(auto=False)
    res = resource(server, root)
    pipe = res.pipeline()
    done_set = pipe.register_set("done", [write_input(tmp_path / "a.jsonl", make_requests(3, tag="a"))])
    open_set = pipe.register_set("open", [write_input(tmp_path / "b.jsonl", make_requests(3, tag="b"))])
    [done_job] = pipe.submit_set(done_set)
    [open_job] = pipe.submit_set(open_set)
    server.control(advance={"batch_id": done_job["batch_id"], "to": "completed"})
    server.control(advance={"batch_id": open_job["batch_id"], "to": "in_progress"})
    instance = DagsterInstance.get()  # persistent: DAGSTER_HOME of this test
    try:
        resources = {"batch_api": res, "store": StoreResource(root=str(root))}
        context = build_sensor_context(instance=instance, resources=resources)
        result = batchapi_sensor(context)
        keys = [r.partition_key for r in result.run_requests]
        done_key = add_set_partitions(instance, root, done_set)
        assert keys == [done_key]
        assert pipe.ledger.job(open_job["key"])["status"] == "in_progress"
        assert instance.has_dynamic_partition("batchapi_fingerprint", done_key.keys_by_dimension["fingerprint"])
        # the in_progress batch finishes: now it is requested too
        server.control(advance={"batch_id": open_job["batch_id"], "to": "completed"})
        result = batchapi_sensor(build_sensor_context(instance=instance, resources=resources))
        assert {r.partition_key.keys_by_dimension["dataset"] for r in result.run_requests} == {"done", "open"}
    finally:
        instance.dispose()


def test_assets_submit_then_compile_into_the_shared_store(server, root, tmp_path):
    from synth_assets.core.lineage import Lineage

    server.control(next_plans=[{"mode": "expire", "fraction": 0.7}])
    res = resource(server, root)
    pipe = res.pipeline()
    s = pipe.register_set("code", [write_input(tmp_path / "in.jsonl", make_requests(10))])
    instance = DagsterInstance.get()
    try:
        key = add_set_partitions(instance, root, s)
        store = StoreResource(root=str(root))
        resources = {"batch_api": res, "store": store, "shared_store": SharedStoreIOManager(store=store)}
        first = materialize([batchapi_requests, batchapi_submitted], partition_key=key, resources=resources, instance=instance)
        assert first.success
        meta = first.asset_materializations_for_node("batchapi__submitted")[0].metadata
        assert meta["estimate_cost_usd"].value > 0
        collect = [batchapi_compiled]
        # not finished yet: materializes nothing (but resubmits the expired part once it can)
        def attempt():
            result = materialize(collect, partition_key=key, resources=resources, instance=instance, selection=collect)
            assert result.success
            return result.asset_materializations_for_node("batchapi__compiled")
        mats = wait_for(attempt, timeout=30, every=0.3)
        assert mats[0].metadata["completed"].value == 10 and mats[0].metadata["failed"].value == 0
        record = open_store(str(root)).registration(s["set_fp"])
        rows = open_store(str(root)).read_stage("code", "compiled", record["stages"]["compiled"])
        assert len(rows) == 10 and all(r["response"].startswith("answer to") for r in rows)
        assert server.state()["counts"]["batch_creates"] == 2
        # an identical input in another experiment is never submitted again, and compiled is reused
        again = pipe.register_set("code", [write_input(tmp_path / "copy.jsonl", make_requests(10))])
        assert again["set_fp"] == s["set_fp"]
        assert materialize(collect, partition_key=key, resources=resources, instance=instance).success
        other = pipe.register_set("code_v2", [write_input(tmp_path / "copy.jsonl", make_requests(10))])
        other_key = add_set_partitions(instance, root, other)
        result = materialize(batchapi_assets, partition_key=other_key, resources=resources, instance=instance)
        assert result.success and result.asset_materializations_for_node("batchapi__compiled")[0].metadata["completed"].value == 10
        assert server.state()["counts"]["batch_creates"] == 2 and server.state()["counts"]["uploads"] == 2
        lineage = Lineage(root / "lineage.duckdb")
        assert lineage.query("SELECT count(*) AS n FROM materializations WHERE asset = 'batchapi/compiled'")[0]["n"] == 3
        assert lineage.query("SELECT count(*) AS n FROM llm_usage")[0]["n"] == 2
    finally:
        instance.dispose()
