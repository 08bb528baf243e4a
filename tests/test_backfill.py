"""`synth backfill` over several partitions, and the backfill policy the assets declare."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from dagster import AssetsDefinition
from typer.testing import CliRunner

from synth_assets.cli.main import app
from synth_assets.core.lineage import Lineage
from synth_assets.core.stores import open_store


def test_every_stage_asset_backfills_one_partition_per_run():
    from synth_assets.definitions import defs

    policies = {a.key.to_user_string(): a.backfill_policy for a in defs.assets
                if isinstance(a, AssetsDefinition) and a.partitions_def is not None}
    assert len(policies) >= 11
    assert all(p is not None and p.max_partitions_per_run == 1 for p in policies.values()), policies


@pytest.mark.slow
def test_backfill_runs_each_selected_partition_and_lineage_points_at_its_data(synth_root: Path, tmp_path: Path):
    runner = CliRunner()
    configs = []
    for i, temperature in enumerate([0.2, 0.5, 0.8]):
        path = tmp_path / f"c{i}.yaml"
        path.write_text(yaml.safe_dump({
            "experiment": {"batch_id": "batch_20250401_backfill", "purpose": "backfill"},
            "dataset": {"dataset_name": "CB", "limit": 1},
            "generation": {"temperature": temperature, "max_tokens": 6},
        }))
        configs.append(str(path))
    registered = runner.invoke(app, ["register", *configs, "--json"])
    assert registered.exit_code == 0, registered.output

    out = runner.invoke(app, ["backfill", "--recipe", "rephrase", "--dataset", "CB", "--json"])
    assert out.exit_code == 0, out.output
    report = json.loads(out.output[out.output.index("{\n"):])
    assert len(report["partitions"]) == 3 and all(p["success"] for p in report["partitions"])
    assert len({p["run_id"] for p in report["partitions"]}) == 3  # one run per partition

    store, lineage = open_store(synth_root), Lineage(synth_root / "lineage.duckdb")
    for partition in report["partitions"]:
        [row] = lineage.query(
            "SELECT path FROM materializations WHERE asset = 'rephrase/published' AND run_id = ?", [partition["run_id"]])
        assert row["path"] == store.uri(f"_shared/CB/{partition['semantic_name']}/CB/cb_train.jsonl")
        assert Path(row["path"]).is_file()
        assert store.is_complete("CB", partition["semantic_name"], partition["fingerprint"])
    assert len(store.views("batch_20250401_backfill")) == 3

    unknown = runner.invoke(app, ["backfill", "--recipe", "rephrase", "--dataset", "Nope"])
    assert unknown.exit_code != 0 and "no registered rephrase partitions" in unknown.output
