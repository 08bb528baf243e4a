"""The training effect in the UI: the sweep evaluated by `synth run` (its config with the built-in probe), the
batch's view shows the training-effect table and chart, and an evaluation backfill launched from the UI reuses
the stored results (no probe runs again, the run ids in lineage stay)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from synth_assets.testing.dagster_dev import DagsterDev
from tests.conftest import copa_config
from tests.ui.conftest import (BACKFILL_TIMEOUT_S, SWEEP_BATCH, SWEEP_MAX_TOKENS, SWEEP_TEMPERATURES, UIStore, assert_backfill_succeeded,
                               metadata_row, snapshot, synth)

pytestmark = [pytest.mark.slow, pytest.mark.ui]


@pytest.fixture(scope="module")
def evaluated(ui_store: UIStore, dagster_dev: DagsterDev, tmp_path_factory) -> list[dict]:
    """The sweep's config again with `evaluation: [{name: probe, kind: probe}]`: complete already, so only evaluated."""
    import yaml

    config = tmp_path_factory.mktemp("effect") / "sweep_probe.yaml"
    config.write_text(yaml.safe_dump({**copa_config(batch_id=SWEEP_BATCH, limit=3, max_tokens=SWEEP_MAX_TOKENS,
                                                    temperature=SWEEP_TEMPERATURES), "evaluation": [{"name": "probe", "kind": "probe"}]}))
    synth(ui_store.env, "run", str(config))
    rows = json.loads(synth(ui_store.env, "evaluations", SWEEP_BATCH, "--json").stdout)
    assert len(rows) == len(SWEEP_TEMPERATURES) and all(r["status"] == "ok" for r in rows), rows
    return rows


def test_the_batch_shows_its_training_effect_table_and_chart(page: Page, evaluated: list[dict]):
    page.goto("/assets/batches?view=partitions")
    page.get_by_title(SWEEP_BATCH, exact=True).click()

    table = metadata_row(page, "training_effect")
    for row in evaluated:
        line = table.get_by_role("row").filter(has_text=row["experiment"])
        expect(line).to_contain_text("probe")
        expect(line).to_contain_text(f"{row['value']:.3f}")
        expect(line).to_contain_text(f"{row['delta']:+.3f}")
    expect(table).to_contain_text("the sweep shows no difference" if _overlap(evaluated) else "95 % intervals apart")
    snapshot(page, "batch_training_effect")

    metadata_row(page, "training_effect_chart").get_by_text("Show Markdown").click()
    expect(page.get_by_role("dialog").get_by_role("img", name="quality against probe")).to_be_visible()
    snapshot(page, "batch_training_effect_chart")


def _overlap(rows: list[dict]) -> bool:
    best = max(rows, key=lambda r: r["value"])
    return all(r["low"] <= best["high"] and best["low"] <= r["high"] for r in rows)


def test_an_evaluation_backfill_from_the_ui_reuses_the_stored_results(dagster_dev: DagsterDev, ui_store: UIStore,
                                                                      evaluated: list[dict], sweep_partitions: list[str]):
    backfill_id = dagster_dev.launch_partition_backfill(["rephrase/evaluation"], sweep_partitions[:2])
    backfill = dagster_dev.wait_for_backfill(backfill_id, timeout=BACKFILL_TIMEOUT_S)
    assert_backfill_succeeded(dagster_dev, backfill)
    again = json.loads(synth(ui_store.env, "evaluations", SWEEP_BATCH, "--json").stdout)
    assert {r["fingerprint"]: r["run_id"] for r in again} == {r["fingerprint"]: r["run_id"] for r in evaluated}
