"""The `synth` CLI against a real store: one tiny real materialization per module, copied per test."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from synth_assets.cli.main import app
from synth_assets.recipes.registry import fingerprint, load_experiments
from synth_assets.core.experiment_registration import semantic_name
from synth_assets.core.fingerprint import SCHEME
from tests.conftest import copa_config, isolate, lineage_for, local_store, run_config

LEGACY = Path("/work/shared/legacy_example/synthetic")
FIRST, SECOND, OTHER = "batch_20250101_first", "batch_20250102_second", "batch_20250103_other"


def snapshot(tree: Path) -> dict[str, tuple[str, str | bytes]]:
    out = {}
    for p in sorted(tree.rglob("*")):
        rel = str(p.relative_to(tree))
        out[rel] = ("link", os.readlink(p)) if p.is_symlink() else ("file", p.read_bytes()) if p.is_file() else ("dir", "")
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A store with one complete Copa experiment (made by FIRST, reused by SECOND) and one registered-only one."""
    base = tmp_path_factory.mktemp("cli")
    mp = pytest.MonkeyPatch()
    try:
        root = isolate(base / "root", base / "dagster_home", mp)
        configs = base / "configs"
        configs.mkdir()
        paths = {}
        for key, batch, extra in (("first", FIRST, {}), ("second", SECOND, {}), ("other", OTHER, {"temperature": 0.3})):
            paths[key] = configs / f"{key}.yaml"
            paths[key].write_text(yaml.safe_dump(copa_config(batch_id=batch, limit=2, max_tokens=8, validation=None, **extra)))
        (reg,), outcome, _ = run_config(paths["first"], root)
        assert outcome[reg.fingerprint].success
        yield {"root": root, "configs": paths, "fingerprint": reg.fingerprint, "name": reg.name}
    finally:
        mp.undo()


@pytest.fixture
def cli(built, tmp_path, monkeypatch):
    """A private copy of the built store; `cli(*args)` runs `synth --root COPY args...`."""
    root = tmp_path / "root"
    shutil.copytree(built["root"], root, symlinks=True)
    isolate(root, tmp_path / "dagster_home", monkeypatch)
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(app, ["--root", str(root), *args], env={"SYNTH_ROOT": str(root)}, catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    invoke.root = root  # type: ignore[attr-defined]
    invoke.built = built  # type: ignore[attr-defined]
    return invoke


def as_json(result):
    return json.loads(result.stdout)


@pytest.fixture
def with_second(cli):
    """The same config registered in a second batch (complete, reused), and an other registered one."""
    cli("register", str(cli.built["configs"]["second"]))
    cli("register", str(cli.built["configs"]["other"]))
    return cli


# ------------------------------------------------------------------ fingerprint / register


def test_fingerprint_json(cli, write_yaml):
    path = write_yaml(copa_config(temperature=[0.3, 0.7], limit=2))
    out = as_json(cli("fingerprint", str(path), "--json"))
    exps = load_experiments(path)
    assert len(out) == 2
    for item, exp in zip(out, exps):
        fps = fingerprint(exp)
        assert item["config"] == str(path) and item["dataset"] == "Copa" and item["scheme"] == SCHEME
        assert item["fingerprint_full"] == fps.experiment and item["fingerprint"] == fps.experiment[:12]
        assert item["semantic_name"] == semantic_name(exp)
        assert item["stages"] == {k: v[:12] for k, v in fps.stages.items()}
    assert out[0]["stages"]["source"] == out[1]["stages"]["source"]


def test_fingerprint_writes_nothing(tmp_path, monkeypatch, write_yaml):
    root = isolate(tmp_path / "empty_root", tmp_path / "home", monkeypatch)
    path = write_yaml(copa_config())
    result = CliRunner().invoke(app, ["--root", str(root), "fingerprint", str(path), "--json"], env={"SYNTH_ROOT": str(root)})
    assert result.exit_code == 0, result.output
    assert list(root.iterdir()) == []


def test_fingerprint_bad_config_names_file_and_line(cli, write_yaml):
    text = yaml.safe_dump(copa_config()).replace("temperature: 0.7", "temprature: 0.7")
    path = write_yaml(text)
    result = cli("fingerprint", str(path), ok=False)
    assert result.exit_code == 2
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "temprature" in ln)
    assert f"{path}:{line}" in result.output.replace("\n", "") and "temprature" in result.output


def test_register_new_and_reused(cli, write_yaml):
    new = as_json(cli("register", str(cli.built["configs"]["other"]), "--json"))
    assert len(new) == 1 and new[0]["complete"] is False and new[0]["reused"] is False
    assert new[0]["batch_id"] == OTHER and new[0]["report"].startswith("new")
    reused = as_json(cli("register", str(cli.built["configs"]["second"]), "--json"))
    assert reused[0]["complete"] is True and reused[0]["reused"] is True
    assert reused[0]["origin_batch"] == FIRST and reused[0]["fingerprint"] == cli.built["fingerprint"]
    assert (cli.root / SECOND / "Copa" / cli.built["name"]).is_symlink()
    batches = {b["batch_id"]: b for b in as_json(cli("batches", "--json"))}
    assert set(batches) == {FIRST, SECOND, OTHER}
    assert (batches[SECOND]["reused"], batches[SECOND]["new"]) == (1, 0)
    assert (batches[FIRST]["reused"], batches[FIRST]["new"]) == (0, 1)


def test_run_reused_config_makes_no_llm_call(with_second):
    cli = with_second
    usage = lineage_for(cli.root).query("SELECT count(*) AS n FROM llm_usage")[0]["n"]
    out = as_json(cli("run", str(cli.built["configs"]["second"]), "--json"))
    assert out[0]["complete"] is True and out[0]["run"] is None
    assert lineage_for(cli.root).query("SELECT count(*) AS n FROM llm_usage")[0]["n"] == usage


# ------------------------------------------------------------------ batch / batches


def test_batch_shows_data_reuse(with_second):
    cli = with_second
    second = cli("batch", SECOND).output
    assert f"Data reuse: Yes (origin batch: {FIRST})" in second
    assert cli.built["name"] in second
    first = cli("batch", FIRST).output
    assert "Data reuse: No (new)" in first
    members = as_json(cli("batch", SECOND, "--json"))
    assert [(m["fingerprint"], m["reused"], m["complete"]) for m in members] == [(cli.built["fingerprint"], True, True)]


def test_batch_shows_complete_or_pending(with_second):
    cli = with_second
    assert "[complete]" in cli("batch", SECOND).output
    assert "[pending]" in cli("batch", OTHER).output


def test_batch_unknown_fails(cli):
    result = cli("batch", "batch_29990101_nope", ok=False)
    assert result.exit_code != 0 and "batch_29990101_nope" in result.output


# ------------------------------------------------------------------ rm


def test_rm_refuses_shared_data_used_by_batches(with_second):
    cli = with_second
    store = local_store(cli.root)
    shared = store.experiment_dir("Copa", cli.built["name"])
    before = snapshot(shared)
    result = cli("rm", str(shared), ok=False)
    assert result.exit_code != 0
    assert FIRST in result.output and SECOND in result.output and "refusing" in result.output
    assert snapshot(shared) == before
    result = cli("rm", cli.built["fingerprint"][:12], ok=False)  # by fingerprint too
    assert result.exit_code != 0 and snapshot(shared) == before

    cli("rm", str(shared), "--force")
    assert not shared.exists()
    assert not (cli.root / FIRST / "Copa" / cli.built["name"]).exists()
    assert not (cli.root / SECOND / "Copa" / cli.built["name"]).exists()
    with pytest.raises(KeyError):
        store.registration(cli.built["fingerprint"])
    assert lineage_for(cli.root).batches_using(cli.built["fingerprint"]) == []


def test_rm_unreferenced_shared_data(cli):
    cli("rm", FIRST)
    shared = local_store(cli.root).experiment_dir("Copa", cli.built["name"])
    assert shared.is_dir()
    cli("rm", cli.built["fingerprint"][:12])
    assert not shared.exists()


def test_rm_batch_removes_view_not_shared(with_second):
    cli = with_second
    before = snapshot(cli.root / "_shared")
    stages = snapshot(cli.root / "_stages")
    cli("rm", FIRST)
    assert not (cli.root / FIRST).exists()
    assert snapshot(cli.root / "_shared") == before and snapshot(cli.root / "_stages") == stages
    assert (cli.root / SECOND / "Copa" / cli.built["name"]).is_symlink()
    assert [b["batch_id"] for b in lineage_for(cli.root).batches_using(cli.built["fingerprint"])] == [SECOND]
    # one view by its path
    cli("rm", str(cli.root / SECOND / "Copa" / cli.built["name"]))
    assert not (cli.root / SECOND / "Copa" / cli.built["name"]).exists()
    assert snapshot(cli.root / "_shared") == before


# ------------------------------------------------------------------ resolve / data-paths / compare


def test_resolve_batch_shared_fingerprint(with_second):
    cli = with_second
    fp, name = cli.built["fingerprint"], cli.built["name"]
    shared = str(local_store(cli.root).experiment_dir("Copa", name))
    view = str(cli.root / SECOND / "Copa" / name)
    by_view = as_json(cli("resolve", view, "--json"))
    by_shared = as_json(cli("resolve", shared, "--json"))
    by_file = as_json(cli("resolve", f"{view}/Copa/copa_train.jsonl", "--json"))
    by_fp = as_json(cli("resolve", fp[:10], "--json"))
    assert by_view == by_shared == by_file == by_fp
    assert by_fp["fingerprint"] == fp and by_fp["shared_path"] == shared and by_fp["complete"] is True
    assert sorted(by_fp["batch_paths"]) == sorted([str(cli.root / FIRST / "Copa" / name), view])
    assert by_fp["origin_batch"] == FIRST
    result = cli("resolve", "ffffffffffff", ok=False)
    assert result.exit_code != 0


def test_data_paths_json(with_second):
    cli = with_second
    out = as_json(cli("data-paths", "--dataset", "Copa", "--format", "json"))
    name = cli.built["name"]
    assert list(out) == ["Copa"] and list(out["Copa"]) == [name]  # only complete experiments
    files = out["Copa"][name]
    assert set(files) == {"train", "validation", "test"}
    assert all(Path(p).is_file() for p in files.values())
    assert len(Path(files["train"]).read_text().splitlines()) == 2
    via_batch = as_json(cli("data-paths", "--dataset", "Copa", "--batch", SECOND, "--format", "json"))
    assert via_batch["Copa"][name]["train"] == str(cli.root / SECOND / "Copa" / name / "Copa" / "copa_train.jsonl")
    assert as_json(cli("data-paths", "--dataset", "Copa", "--batch", OTHER, "--format", "json")) == {"Copa": {}}
    assert yaml.safe_load(cli("data-paths", "--dataset", "Copa").stdout) == out
    assert cli("data-paths", "--dataset", "Copa", "--format", "xml", ok=False).exit_code == 2


def test_compare(with_second):
    cli = with_second
    other = next(r for r in local_store(cli.root).registrations() if r["fingerprint"] != cli.built["fingerprint"])
    out = as_json(cli("compare", str(cli.root / SECOND / "Copa" / cli.built["name"]), other["fingerprint"], "--json"))
    assert out["a"] == cli.built["fingerprint"] and out["b"] == other["fingerprint"]
    assert out["different"] == {"generation.temperature": [0.7, 0.3]}
    assert out["same"]["generation.max_tokens"] == 8 and out["same"]["source.dataset"] == "Copa"
    table = cli("compare", cli.built["fingerprint"], other["fingerprint"]).output
    assert "generation.temperature" in table


# ------------------------------------------------------------------ import-legacy


@pytest.mark.skipif(not LEGACY.is_dir(), reason="legacy sample tree not available")
def test_import_legacy_then_batches(cli, tmp_path):
    tree = tmp_path / "legacy" / "synthetic"
    shutil.copytree(LEGACY, tree, symlinks=True)
    cli("import-legacy", str(tree))
    batches = {b["batch_id"] for b in as_json(cli("batches", "--json"))}
    assert {"batch_20240105_temperature", "batch_20240106_topp", "batch_20240107_reuse"} <= batches
    shared = {(d["dataset"], d["semantic_name"]) for d in as_json(cli("shared", "--json"))}
    assert {("Copa", "temp05_topp10_gpt4o"), ("Copa", "temp09_topp10_gpt4o"), ("CB", "temp07_topp09_gpt4o")} <= shared
    reuse = cli("batch", "batch_20240107_reuse").output
    assert "Data reuse: Yes (origin batch: batch_20240105_temperature)" in reuse
    cli("import-legacy", str(tree))  # idempotent
    assert len(as_json(cli("shared", "--json"))) == 4


# ------------------------------------------------------------------ lineage


def test_lineage_commands(with_second):
    cli = with_second
    fp, name = cli.built["fingerprint"], cli.built["name"]
    origin = as_json(cli("lineage", "origin", fp[:12], "--json"))
    assert origin["batch_id"] == FIRST and origin["fingerprint"] == fp and origin["semantic_name"] == name
    users = as_json(cli("lineage", "batches", fp, "--json"))
    assert [(u["batch_id"], u["reused"]) for u in users] == [(FIRST, False), (SECOND, True)]
    # lineage records absolute paths: ask about the file in the store the run wrote (this test works on a copy)
    train = cli.built["root"] / FIRST / "Copa" / name / "Copa" / "copa_train.jsonl"
    steps = as_json(cli("lineage", "file", str(train), "--json"))
    assert [s["asset"] for s in steps if s["kind"] == "materialization"] == [
        "rephrase/published", "rephrase/validated", "rephrase/rephrased", "rephrase/source"]
    assert steps[-1]["kind"] == "experiment" and steps[-1]["fingerprint"] == fp
    assert "temperature: 0.7" in steps[-1]["config_yaml"]
    cost = as_json(cli("lineage", "cost", "--json"))
    assert [c["batch_id"] for c in cost] == [FIRST]
    assert cost[0]["requests"] == 2 and cost[0]["completion_tokens"] > 0
    assert cli("lineage", "origin", "ffffffffffff", ok=False).exit_code != 0


def test_the_cli_starts_without_loading_the_curation_recipe_or_an_embedding_model():
    """Every `synth` command pays for what its module imports: curation (scipy, rensa, pyarrow.compute) loads only when used."""
    import subprocess
    import sys

    code = ("import sys, synth_assets.cli.main; "
            "print(sorted(m for m in sys.modules if m.startswith(('synth_assets.recipes.curation', 'model2vec', 'sentence_transformers'))))")
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
