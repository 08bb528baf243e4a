"""A new recipe is its own package plus one registration line: the platform gives it everything else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from synth_assets.core.fingerprint import Fingerprints, stage_fingerprints
from synth_assets.core.registry import draft_record, register_record
from synth_assets.core.store import DirWriter, jsonl_bytes
from synth_assets.recipes import registry
from synth_assets.recipes.base import Published, Recipe, Rows, Stage, StageRun
from tests.conftest import lineage_for, local_store


def _numbers(run: StageRun) -> Rows:
    return [{"n": i, "square": i * i} for i in range(run.job["count"])]


def _publish(run: StageRun, rows: Rows, files: DirWriter) -> Published:
    files.write_bytes("numbers.jsonl", jsonl_bytes(rows))
    return Published("numbers.jsonl", {"numbers": len(rows)})


TOY = Recipe(
    name="toy",
    description="Squares of the first `count` numbers.",
    stages=(
        Stage("numbers", "numbers", "The numbers and their squares.", _numbers, reads_upstream=False,
              required_fields=lambda job: ["n", "square"]),
        Stage("published", "published", "The numbers, published.", lambda run: run.upstream),
    ),
    load=lambda record, store: record["config"],
    publish=_publish,
)


@pytest.fixture
def toy_recipe():
    registry.add(TOY)  # the one registration line (`synth_assets/recipes/installed.py` lists the module defining RECIPE)
    yield TOY
    registry.remove(TOY.name)


def register_toy(root: Path, count: int, batch: str):
    config = {"count": count}
    fps = Fingerprints("toy/1", stage_fingerprints("toy/1", {"numbers": config, "published": {}}), {"numbers": config})
    draft = draft_record(fps, dataset="integers", recipe="toy", config=config, config_yaml=json.dumps(config), source_file="")
    return register_record(draft, f"count{count}", local_store(root), lineage_for(root), batch_id=batch)


def test_a_toy_recipe_gets_assets_job_claims_reuse_lineage_and_publishing(synth_root, toy_recipe):
    from synth_assets.cli.materialize import definitions, materialize

    definitions.cache_clear()
    defs = definitions(str(synth_root))
    assert {"toy/numbers", "toy/published"} <= {a.key.to_user_string() for a in defs.assets}
    assert defs.resolve_job_def("toy_job") is not None

    reg = register_toy(synth_root, 5, "batch_20250101_toy")
    outcome = materialize([reg], str(synth_root), log_level="WARNING")
    assert outcome[reg.fingerprint].success, outcome
    shared = local_store(synth_root).experiment_dir("integers", "count5")
    assert [json.loads(line)["square"] for line in (shared / "numbers.jsonl").read_text().splitlines()] == [0, 1, 4, 9, 16]
    assert json.loads((shared / "experiment_metadata.json").read_text())["parameter_fingerprint"] == reg.fingerprint
    assert (synth_root / "batch_20250101_toy" / "integers" / "count5").is_symlink()

    again = register_toy(synth_root, 5, "batch_20250102_toy")  # the same fingerprint in another batch: reused
    assert again.complete and again.reused
    rows = lineage_for(synth_root).query("SELECT asset, reused FROM materializations ORDER BY id")
    assert [(r["asset"], r["reused"]) for r in rows] == [("toy/numbers", False), ("toy/published", False)]
    definitions.cache_clear()
