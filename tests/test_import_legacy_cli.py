"""`synth import-legacy` through the CLI: parameters, legacy ids, `no data`, batch purposes, dry runs."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from synth_assets.cli.main import app
from synth_assets.core.fingerprint import legacy_fingerprint
from tests.conftest import isolate, lineage_for

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "legacy_tree"
PROMPT_A = "Rephrase the premise, keeping its meaning.\nPremise: {premise}\nRephrased premise:"
PROMPT_B = "Write the premise with other words.\nPremise: {premise}\nNew premise:"
ROWS = [{"premise": "The man turned on the faucet.", "label": 1}, {"premise": "The girl found a bug.", "label": 0}]


def legacy_experiment(tree: Path, dataset: str, name: str, *, batch: str, temperature: float = 0.7,
                      prompt: str = PROMPT_A, purpose: str = "temperature_study", description: str | None = None,
                      rows: list[dict] | None = ROWS) -> str:
    """Write one experiment as the old tooling did (config, metadata, .fingerprint, batch symlink); its legacy id."""
    config = {
        "dataset": {"dataset_name": dataset, "input_path": f"Data/original/{dataset}/{dataset.lower()}_train.jsonl"},
        "experiment": {"batch_id": batch, "purpose": purpose, "description": description or f"sweep point {name}"},
        "generation": {"field_to_rephrase": "premise", "model": "gpt-4o", "rephrase_prompt": prompt, "temperature": temperature},
        "task_name": dataset.lower(), "version": "1.0",
    }
    fp = legacy_fingerprint(config)
    folder = tree / "_shared" / dataset / name
    folder.mkdir(parents=True)
    (folder / "generation_config.yaml").write_text(yaml.safe_dump(config))
    (folder / "experiment_metadata.json").write_text(json.dumps({
        "created_at": "2024-02-01 09:30:00", "batch_id": batch, "experiment_purpose": purpose,
        "experiment_description": config["experiment"]["description"], "dataset_name": dataset,
        "parameter_fingerprint": fp, "generation": {"model": "gpt-4o", "temperature": temperature, "top_p": 1.0, "max_tokens": 256},
    }))
    (folder / ".fingerprint").write_text(fp + "\n")
    if rows is not None:
        (folder / dataset).mkdir()
        (folder / dataset / f"{dataset.lower()}_train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    view = tree / batch / dataset / name
    view.parent.mkdir(parents=True, exist_ok=True)
    view.symlink_to(f"../../_shared/{dataset}/{name}")
    return fp


def snapshot(tree: Path) -> dict[str, tuple[str, str | bytes]]:
    out = {}
    for p in sorted(tree.rglob("*")):
        rel = str(p.relative_to(tree))
        out[rel] = ("link", os.readlink(p)) if p.is_symlink() else ("file", p.read_bytes()) if p.is_file() else ("dir", "")
    return out


@pytest.fixture
def synth(tmp_path, monkeypatch):
    """`synth(*args)` runs `synth --root ROOT args...` on a private, empty store."""
    root = isolate(tmp_path / "root", tmp_path / "dagster_home", monkeypatch)
    runner = CliRunner()

    def invoke(*args: str, ok: bool = True):
        result = runner.invoke(app, ["--root", str(root), *args], catch_exceptions=False)
        if ok:
            assert result.exit_code == 0, result.output
        return result

    invoke.root = root  # type: ignore[attr-defined]
    return invoke


def test_compare_by_legacy_id_shows_exactly_the_differences(synth, tmp_path):
    tree = tmp_path / "legacy"
    a = legacy_experiment(tree, "Copa", "temp05_topp10_gpt4o", batch="batch_20240201_sweep", temperature=0.5, prompt=PROMPT_A)
    b = legacy_experiment(tree, "Copa", "temp09_topp10_gpt4o", batch="batch_20240201_sweep", temperature=0.9, prompt=PROMPT_B)
    synth("import-legacy", str(tree))
    out = json.loads(synth("compare", a, b, "--json").stdout)
    assert out["a"].startswith(a) and out["b"].startswith(b)
    assert out["different"] == {"generation.prompt": [PROMPT_A, PROMPT_B], "generation.temperature": [0.5, 0.9]}
    assert out["same"]["generation.model"] == "gpt-4o" and out["same"]["generation.top_p"] == 1
    assert out["same"]["source.dataset"] == "Copa" and out["same"]["generation.rewrite_fields"] == ["premise"]
    table = synth("compare", a, b).stdout
    assert "generation.temperature" in table and "generation.prompt" in table
    verbose = synth("batch", "batch_20240201_sweep", "--verbose").stdout
    assert "purpose: temperature_study  description: sweep point temp05_topp10_gpt4o" in verbose
    assert '"temperature": 0.9' in verbose and "Write the premise with other words" in verbose


def test_legacy_ids_are_accepted_by_every_command(synth, tmp_path):
    tree = tmp_path / "legacy"
    shutil.copytree(SAMPLE, tree)
    synth("import-legacy", str(tree))
    legacy_id, reused_id = "aff25e9c631b", "d408dbc570ba"  # CB/temp07_topp09_gpt4o, Copa/temp09_topp10_gpt4o
    resolved = json.loads(synth("resolve", reused_id, "--json").stdout)
    assert resolved["legacy_fingerprint"] == reused_id and resolved["fingerprint"].startswith(reused_id)
    assert resolved["semantic_name"] == "temp09_topp10_gpt4o" and resolved["complete"] is True
    assert json.loads(synth("lineage", "origin", legacy_id, "--json").stdout)["batch_id"] == "batch_20240106_topp"
    users = json.loads(synth("lineage", "batches", reused_id, "--json").stdout)
    assert [(u["batch_id"], u["reused"]) for u in users] == [("batch_20240105_temperature", False), ("batch_20240107_reuse", True)]
    paths = yaml.safe_load(synth("data-paths", "--fingerprint", legacy_id).stdout)
    assert paths == {"CB": {"temp07_topp09_gpt4o": {"train": str(synth.root / "_shared/CB/temp07_topp09_gpt4o/CB/cb_train.jsonl")}}}
    shared = {s["semantic_name"]: s for s in json.loads(synth("shared", "--json", "--verbose").stdout)}
    assert shared["temp07_topp09_gpt4o"]["params"]["generation"]["top_p"] == 0.9
    assert shared["temp07_topp09_gpt4o"]["purpose"] == "topp" and shared["temp07_topp09_gpt4o"]["state"] == "complete"
    assert "refusing to remove CB/temp07_topp09_gpt4o (aff25e9c631b)" in synth("rm", legacy_id, ok=False).output
    synth("rm", legacy_id, "--force")
    assert not (synth.root / "_shared" / "CB" / "temp07_topp09_gpt4o").exists()
    assert not (synth.root / "batch_20240106_topp").exists()
    assert lineage_for(synth.root).experiment(legacy_id) is None
    assert synth("resolve", legacy_id, ok=False).exit_code == 1


def test_legacy_experiment_without_split_files_has_no_data(synth, tmp_path):
    tree = tmp_path / "legacy"
    full = legacy_experiment(tree, "Copa", "temp05_topp10_gpt4o", batch="batch_20240201_sweep", temperature=0.5)
    empty = legacy_experiment(tree, "Copa", "temp09_topp10_gpt4o", batch="batch_20240201_sweep", temperature=0.9, rows=None)
    assert "no data" in synth("import-legacy", "--dry-run", str(tree)).stdout
    synth("import-legacy", str(tree))
    members = {m["semantic_name"]: m for m in json.loads(synth("batch", "batch_20240201_sweep", "--json").stdout)}
    assert (members["temp09_topp10_gpt4o"]["state"], members["temp09_topp10_gpt4o"]["complete"]) == ("no data", False)
    assert (members["temp05_topp10_gpt4o"]["state"], members["temp05_topp10_gpt4o"]["complete"]) == ("complete", True)
    assert "temp09_topp10_gpt4o  " + empty + "  Data reuse: No (new)  [no data]" in synth("batch", "batch_20240201_sweep").stdout
    assert json.loads(synth("resolve", empty, "--json").stdout)["complete"] is False
    assert {s["semantic_name"]: s["state"] for s in json.loads(synth("shared", "--json").stdout)} == {
        "temp05_topp10_gpt4o": "complete", "temp09_topp10_gpt4o": "no data"}
    statuses = {e["legacy_fingerprint"]: e["status"] for e in lineage_for(synth.root).experiments()}
    assert statuses == {full: "complete", empty: "registered"}
    result = synth("data-paths", "--dataset", "Copa")
    assert list(yaml.safe_load(result.stdout)["Copa"]) == ["temp05_topp10_gpt4o"]
    assert "Copa/temp09_topp10_gpt4o has no split files (no data); skipped" in result.stderr


def test_batch_purpose_and_description_come_from_the_metadata(synth, tmp_path):
    tree = tmp_path / "legacy"
    legacy_experiment(tree, "Copa", "temp05_topp10_gpt4o", batch="batch_20240201_sweep", temperature=0.5, description="low")
    legacy_experiment(tree, "Copa", "temp09_topp10_gpt4o", batch="batch_20240201_sweep", temperature=0.9, description="high")
    synth("import-legacy", str(tree))
    batch = next(b for b in json.loads(synth("batches", "--json").stdout) if b["batch_id"] == "batch_20240201_sweep")
    assert (batch["purpose"], batch["description"]) == ("temperature_study", "low; high")  # not "sweep" from the id


def test_dry_run_writes_nothing(synth, tmp_path):
    tree = tmp_path / "legacy"
    shutil.copytree(SAMPLE, tree)
    fresh = snapshot(synth.root)
    plan = synth("import-legacy", "--dry-run", str(tree)).stdout
    assert "dry run: nothing written" in plan and plan.count("import (copy)") == 3
    assert snapshot(synth.root) == fresh == {}
    synth("import-legacy", str(tree))
    legacy_experiment(tree, "Copa", "temp03_topp10_gpt4o", batch="batch_20240201_sweep", temperature=0.3)
    before = snapshot(synth.root)
    assert any(k.endswith("lineage.duckdb") for k in before)
    plan = synth("import-legacy", "--dry-run", str(tree)).stdout
    assert plan.count("already imported") == 3 and plan.count("import (copy)") == 1
    assert "batch_20240201_sweep" in plan and "1 create" in plan
    assert snapshot(synth.root) == before  # byte-identical: data, registrations, name markers, lineage file
