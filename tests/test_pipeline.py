"""The Dagster pipeline end to end, with the real local model (tiny runs) and a real Dagster instance."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from dagster import DagsterEventType

from synth_assets.core.fingerprint import short
from synth_assets.core.lineage import Lineage

from tests.conftest import REPO, copa_config, llm_cache_rows, lineage_for, local_store, register_config, run_config

Store = local_store

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("synth_root")]

REPHRASE_ASSETS = {"rephrase/source", "rephrase/rephrased", "rephrase/validated", "rephrase/published"}
STORIES_ASSETS = {"stories/prompts", "stories/stories", "stories/validated", "stories/published"}
LOCK_ERROR = re.compile(r"(?i)\block")

RUN_ONE = textwrap.dedent("""
    import sys
    from pathlib import Path
    from synth_assets.recipes.registry import load_experiments
    from synth_assets.recipes.registry import register
    from synth_assets.cli.materialize import materialize
    from tests.conftest import lineage_for, local_store

    config, root, index = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    store = local_store(root)
    exp = load_experiments(config, store.root)[index]
    reg = register(exp, store, lineage_for(root))
    print("STARTING", reg.fingerprint, flush=True)
    outcome = materialize([reg], str(store.root), log_level="WARNING")
    ok = all(o.success for o in outcome.values())
    print("DONE", reg.fingerprint, ok, flush=True)
    sys.exit(0 if ok else 1)
""")


def lineage(root: Path) -> Lineage:
    return lineage_for(root)


def materializations(instance, run_id: str) -> dict[str, dict]:
    """Asset key -> materialization metadata (plain values) of one run."""
    out = {}
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION):
        mat = record.dagster_event.event_specific_data.materialization
        out[mat.asset_key.to_user_string()] = {k: getattr(v, "value", v) for k, v in mat.metadata.items()}
    return out


def check_results(instance, run_id: str) -> list[tuple[str, str, bool]]:
    out = []
    for record in instance.all_logs(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION):
        ev = record.dagster_event.event_specific_data
        out.append((ev.asset_key.to_user_string(), ev.check_name, ev.passed))
    return out


def usage_rows(root: Path, run_id: str | None = None) -> list[dict]:
    sql = "SELECT * FROM llm_usage" + (" WHERE run_id = ?" if run_id else "") + " ORDER BY recorded_at"
    return lineage(root).query(sql, [run_id] if run_id else [])


def jsonl_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ------------------------------------------------------------------ (a) end to end


def test_copa_end_to_end(synth_root, write_yaml):
    config = write_yaml(copa_config(limit=3, max_tokens=12, validation={"validators": [{"kind": "judge"}]}))
    regs, outcome, instance = run_config(config, synth_root)
    (reg,) = regs
    assert not reg.complete and not reg.reused
    assert outcome[reg.fingerprint].success
    run_id = outcome[reg.fingerprint].run_id

    # the four stage assets materialized, with useful metadata
    mats = materializations(instance, run_id)
    assert set(mats) == REPHRASE_ASSETS
    for asset, meta in mats.items():
        assert {"path", "rows", "fingerprint", "stage_fingerprint", "preview", "reused"} <= set(meta), asset
        assert meta["fingerprint"] == short(reg.fingerprint)
        assert meta["rows"] == 3 and meta["reused"] is False
        assert "|" in meta["preview"] and "premise" in meta["preview"]
    published = mats["rephrase/published"]
    store = Store(synth_root)
    shared = store.experiment_dir("Copa", reg.name)
    assert Path(published["store_root"]) / published["path"] == shared / "Copa" / "copa_train.jsonl"
    assert mats["rephrase/rephrased"]["llm_requests"] == 3

    # the published folder
    assert (shared / ".fingerprint").read_text().strip() == reg.fingerprint
    for name in ("experiment_metadata.json", "generation_config.yaml", "README.md"):
        assert (shared / name).is_file(), name
    meta = json.loads((shared / "experiment_metadata.json").read_text())
    assert meta["parameter_fingerprint"] == reg.fingerprint and meta["origin_batch"] == "batch_20250101_test"
    assert meta["stage_fingerprints"] == reg.fingerprints.stages
    saved = yaml.safe_load((shared / "generation_config.yaml").read_text())
    assert saved["dataset"]["limit"] == 3 and saved["experiment"]["batch_id"] == "batch_20250101_test"
    assert reg.fingerprint in (shared / "README.md").read_text()
    train = jsonl_rows(shared / "Copa" / "copa_train.jsonl")
    assert len(train) == 3
    source = [json.loads(line) for line in reg.job.entry.split_path("train").read_text().splitlines()[:3]]
    for got, original in zip(train, source):
        assert set(got) == set(original)  # the dataset's own schema, no _synth
        assert {k: got[k] for k in got if k != "premise"} == {k: original[k] for k in original if k != "premise"}
    for split in ("validation", "test"):
        copied = shared / "Copa" / f"copa_{split}.jsonl"
        assert copied.read_bytes() == reg.job.entry.split_path(split).read_bytes()

    # batch view
    view = synth_root / "batch_20250101_test" / "Copa" / reg.name
    assert view.is_symlink() and os.path.realpath(view) == str(shared.resolve())

    # lineage: materializations, edges and LLM usage
    lin = lineage(synth_root)
    rows = lin.query("SELECT asset, rows, reused FROM materializations WHERE run_id = ? ORDER BY id", [run_id])
    assert [r["asset"] for r in rows] == ["rephrase/source", "rephrase/rephrased", "rephrase/validated", "rephrase/published"]
    usage = {u["asset"]: u for u in usage_rows(synth_root, run_id)}
    assert set(usage) == {"rephrase/rephrased", "rephrase/validated"}
    assert usage["rephrase/rephrased"]["requests"] == 3 and usage["rephrase/rephrased"]["completion_tokens"] > 0
    assert usage["rephrase/rephrased"]["batch_id"] == "batch_20250101_test"
    assert lin.experiment(reg.fingerprint)["status"] == "complete"
    steps = lin.provenance(str(view / "Copa" / "copa_train.jsonl"))
    assert [s["asset"] for s in steps if s["kind"] == "materialization"] == [
        "rephrase/published", "rephrase/validated", "rephrase/rephrased", "rephrase/source"]

    # asset checks
    checks = check_results(instance, run_id)
    assert len(checks) == 11  # non_empty + schema per stage, pass_rate and calibration on validated, decontamination on published
    assert all(passed for _, _, passed in checks), checks
    assert ("rephrase/validated", "pass_rate", True) in checks


# ------------------------------------------------------------------ (b) reuse


def test_reuse_in_another_batch_makes_no_llm_call(synth_root, write_yaml):
    first = copa_config(batch_id="batch_20250101_first", limit=2, max_tokens=8)
    (reg1,), outcome1, instance = run_config(write_yaml(first), synth_root)
    assert outcome1[reg1.fingerprint].success
    usage_before, cache_before = usage_rows(synth_root), llm_cache_rows(synth_root)
    runs_before = len(instance.get_runs())
    mats_before = lineage(synth_root).query("SELECT count(*) AS n FROM materializations")[0]["n"]
    assert cache_before >= 2 and len(usage_before) == 1  # generation; the default validators call no LLM

    second = copa_config(batch_id="batch_20250102_second", limit=2, max_tokens=8)
    second["experiment"]["description"] = "the same parameters, another study"
    config2 = write_yaml(second)
    (reg2,) = register_config(config2, synth_root)
    assert reg2.fingerprint == reg1.fingerprint
    assert reg2.complete and reg2.reused and reg2.origin_batch == "batch_20250101_first"
    assert "reused" in reg2.report() and "batch_20250101_first" in reg2.report()
    view = synth_root / "batch_20250102_second" / "Copa" / reg1.name
    assert view.is_symlink()

    (reg3,), outcome2, instance = run_config(config2, synth_root)
    assert outcome2 == {}
    assert len(instance.get_runs()) == runs_before
    assert usage_rows(synth_root) == usage_before
    assert llm_cache_rows(synth_root) == cache_before
    assert lineage(synth_root).query("SELECT count(*) AS n FROM materializations")[0]["n"] == mats_before
    members = {m["batch_id"]: m["reused"] for m in lineage(synth_root).batches_using(reg1.fingerprint)}
    assert members == {"batch_20250101_first": False, "batch_20250102_second": True}


# ------------------------------------------------------------------ (c) stage reuse


def test_validation_change_reuses_generated_stage(synth_root, write_yaml):
    a = copa_config(batch_id="batch_20250101_val", limit=3, max_tokens=10)
    b = copa_config(batch_id="batch_20250101_val", limit=3, max_tokens=10,
                    validation={"validators": [{"kind": "judge"}]})
    (reg_a,), out_a, instance = run_config(write_yaml(a), synth_root)
    assert out_a[reg_a.fingerprint].success
    (reg_b,), out_b, instance = run_config(write_yaml(b), synth_root)
    assert reg_b.fingerprint != reg_a.fingerprint and reg_b.name != reg_a.name
    assert reg_b.fingerprints.generated == reg_a.fingerprints.generated
    assert out_b[reg_b.fingerprint].success
    run_b = out_b[reg_b.fingerprint].run_id

    mats = materializations(instance, run_b)
    assert mats["rephrase/source"]["reused"] is True
    assert mats["rephrase/rephrased"]["reused"] is True
    assert mats["rephrase/validated"]["reused"] is False
    assert mats["rephrase/published"]["reused"] is False
    assert "llm_requests" not in mats["rephrase/rephrased"]
    usage = usage_rows(synth_root, run_b)
    assert [u["asset"] for u in usage] == ["rephrase/validated"]
    assert usage[0]["requests"] >= 1
    rows = lineage(synth_root).query(
        "SELECT asset, reused FROM materializations WHERE run_id = ? ORDER BY id", [run_b])
    assert [(r["asset"], r["reused"]) for r in rows] == [
        ("rephrase/source", True), ("rephrase/rephrased", True), ("rephrase/validated", False), ("rephrase/published", False)]
    # the rephrased rows are literally the same file
    store = Store(synth_root)
    assert (store.stage_dir("Copa", "generated", reg_a.fingerprints.generated) / "data.jsonl").is_file()
    assert len(list((synth_root / "_stages" / "Copa" / "generated").iterdir())) == 1
    assert store.is_complete("Copa", reg_a.name, reg_a.fingerprint) and store.is_complete("Copa", reg_b.name, reg_b.fingerprint)


# ------------------------------------------------------------------ (d) crash mid-stage


def test_kill_during_generation_leaves_nothing_complete_and_resumes(synth_root, write_yaml, env_for_subprocess, tmp_path):
    total = 24
    config = write_yaml(copa_config(batch_id="batch_20250101_crash", limit=total, max_tokens=32, validation=None))
    log = tmp_path / "child.log"
    with open(log, "w") as out:
        child = subprocess.Popen([sys.executable, "-c", RUN_ONE, str(config), str(synth_root), "0"], cwd=REPO,
                                 env=env_for_subprocess(), stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        while llm_cache_rows(synth_root) < 1:
            assert child.poll() is None, f"child ended before generating:\n{log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "generation never started"
            time.sleep(0.05)
        os.killpg(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    persisted = llm_cache_rows(synth_root)
    assert 1 <= persisted < total, f"kill came too late to test anything ({persisted} of {total} persisted)"

    store = Store(synth_root)
    (record,) = store.registrations()
    assert list(store.complete_experiments()) == []
    assert not (store.shared / "Copa" / record["semantic_name"] / ".fingerprint").exists()
    assert not store.stage_complete("Copa", "generated", record["stages"]["generated"])
    assert list((synth_root / "_stages").glob("Copa/generated/*/.fingerprint")) == []
    assert list((synth_root / "_stages").glob("Copa/generated/.tmp-*/.fingerprint")) == []
    assert lineage(synth_root).experiment(record["fingerprint"])["status"] == "registered"

    (reg,), outcome, instance = run_config(config, synth_root)
    assert reg.fingerprint == record["fingerprint"] and outcome[reg.fingerprint].success
    assert store.is_complete("Copa", reg.name, reg.fingerprint)
    assert len(jsonl_rows(store.experiment_dir("Copa", reg.name) / "Copa" / "copa_train.jsonl")) == total
    (usage,) = [u for u in usage_rows(synth_root, outcome[reg.fingerprint].run_id) if u["asset"] == "rephrase/rephrased"]
    assert usage["requests"] == total
    assert usage["cache_hits"] >= persisted  # what was answered before the kill is not asked again


# ------------------------------------------------------------------ (e) concurrency


def test_eight_concurrent_materializations_while_cli_reads(synth_root, write_yaml, env_for_subprocess, tmp_path):
    temps = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 0.9]
    config = write_yaml(copa_config(batch_id="batch_20250101_parallel", limit=2, max_tokens=8, validation=None,
                                    temperature=temps))
    regs = register_config(config, synth_root)
    assert len({r.fingerprint for r in regs}) == 8
    # create the Dagster instance's SQLite storage once: concurrent first use of a fresh DAGSTER_HOME races on
    # schema creation inside Dagster ("table secondary_indexes already exists"; see the report)
    from synth_assets.cli.materialize import dagster_instance

    dagster_instance(synth_root).get_runs(limit=1)
    env = env_for_subprocess()
    children = []
    for i in range(8):
        err = open(tmp_path / f"child{i}.err", "w")
        out = open(tmp_path / f"child{i}.out", "w")
        children.append((subprocess.Popen([sys.executable, "-c", RUN_ONE, str(config), str(synth_root), str(i)],
                                          cwd=REPO, env=env, stdout=out, stderr=err), out, err))
    synth = str(REPO / ".venv" / "bin" / "synth")
    cli_runs = []
    deadline = time.monotonic() + 420
    try:
        while any(c.poll() is None for c, _, _ in children) or len(cli_runs) < 4:
            assert time.monotonic() < deadline, "concurrent materializations did not finish"
            for args in (["lineage", "cost", "--json"], ["batches", "--json"]):
                done = subprocess.run([synth, *args], env=env, capture_output=True, text=True, timeout=180)
                cli_runs.append((args, done))
    finally:
        for child, out, err in children:
            if child.poll() is None:
                child.kill()
            child.wait(timeout=60)
            out.close()
            err.close()

    for i, (child, _, _) in enumerate(children):
        stderr = (tmp_path / f"child{i}.err").read_text()
        assert child.returncode == 0, f"child {i} failed:\n{stderr[-3000:]}"
        assert not LOCK_ERROR.search(stderr), stderr[-3000:]
    for args, done in cli_runs:
        assert done.returncode == 0, (args, done.stderr[-2000:])
        assert not LOCK_ERROR.search(done.stderr), done.stderr
        json.loads(done.stdout)
    lin = lineage(synth_root)
    per_fp = lin.query("SELECT fingerprint, count(*) AS n FROM materializations GROUP BY fingerprint")
    assert {r["fingerprint"]: r["n"] for r in per_fp} == {r.fingerprint: 4 for r in regs}
    assert lin.query("SELECT count(*) AS n FROM materializations")[0]["n"] == 32
    assert lin.query("SELECT count(*) AS n FROM llm_usage WHERE asset = 'rephrase/rephrased'")[0]["n"] == 8
    store = Store(synth_root)
    assert sorted(fp for _, _, fp in store.complete_experiments()) == sorted(r.fingerprint for r in regs)
    assert len(store.views("batch_20250101_parallel")) == 8
    final = json.loads(subprocess.run([synth, "batches", "--json"], env=env, capture_output=True, text=True).stdout)
    assert [(b["batch_id"], b["experiments"]) for b in final] == [("batch_20250101_parallel", 8)]


# ------------------------------------------------------------------ (f) stories recipe


def test_stories_end_to_end(synth_root, write_yaml):
    config = write_yaml({
        "experiment": {"batch_id": "batch_20250101_stories", "purpose": "stories"},
        "dataset": {"dataset_name": "BedtimeStories", "limit": 2, "seed": 3},
        "generation": {"max_tokens": 16, "k_shot": 1},
    })
    (reg,), outcome, instance = run_config(config, synth_root)
    assert outcome[reg.fingerprint].success
    run_id = outcome[reg.fingerprint].run_id
    mats = materializations(instance, run_id)
    assert set(mats) == STORIES_ASSETS
    assert mats["stories/prompts"]["rows"] == 2 and mats["stories/stories"]["rows"] == 2
    store = Store(synth_root)
    stories = store.read_stage("BedtimeStories", "generated", reg.fingerprints.generated)
    assert len(stories) == 2
    assert all(s["content"] and s["prompt"] for s in stories)
    validated = store.read_stage("BedtimeStories", "validated", reg.fingerprints.validated)
    assert all("passed" in v["validation"] for v in validated)
    shared = store.experiment_dir("BedtimeStories", reg.name)
    assert (shared / ".fingerprint").read_text().strip() == reg.fingerprint
    train = shared / "BedtimeStories" / "bedtimestories_train.jsonl"
    assert train.is_file()
    assert len(jsonl_rows(train)) == sum(1 for v in validated if v["validation"]["passed"])
    usage = usage_rows(synth_root, run_id)
    assert [(u["asset"], u["requests"]) for u in usage] == [("stories/stories", 2)]
    assert (synth_root / "batch_20250101_stories" / "BedtimeStories" / reg.name).is_symlink()
