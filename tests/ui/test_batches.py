"""Batches in the UI: the `batches` asset has one partition per batch; selecting one shows its view."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from synth_assets.testing.dagster_dev import DagsterDev
from tests.ui.conftest import SENSOR_TICK_TIMEOUT_S, REUSE_BATCH, SWEEP_BATCH, UIStore, metadata_row, snapshot, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.ui]


def test_a_sweep_batch_is_selected_in_one_click_and_shows_experiments_quality_chart_and_cost(page: Page, ui_store: UIStore):
    page.goto("/assets/batches?view=partitions")
    page.get_by_title(SWEEP_BATCH, exact=True).click()

    table = metadata_row(page, "experiments_table")
    for experiment in ui_store.experiments:
        row = table.get_by_role("row").filter(has_text=experiment["semantic_name"])
        expect(row).to_contain_text(experiment["fingerprint"][:12])
        expect(row).to_contain_text("new")
        expect(row).to_contain_text("complete")
        expect(metadata_row(page, "quality").get_by_role("row").filter(has_text=experiment["semantic_name"])).to_be_visible()
    expect(metadata_row(page, "sweep")).to_contain_text("swept generation.temperature")
    for entry in ("cost_usd", "prompt_tokens", "saved_by_reuse_usd", "saved_by_cache_usd"):
        expect(metadata_row(page, entry)).to_be_visible()
    expect(metadata_row(page, "view_folder")).to_contain_text(SWEEP_BATCH)
    snapshot(page, "batch_sweep_view")

    metadata_row(page, "sweep_chart").get_by_text("Show Markdown").click()
    chart = page.get_by_role("dialog").get_by_role("img", name="quality against generation.temperature")
    expect(chart).to_be_visible()
    snapshot(page, "batch_sweep_chart")
    page.get_by_role("dialog").get_by_role("button", name="Close").click()


def test_a_batch_registered_without_a_run_shows_up_through_the_sensor(page: Page, dagster_dev: DagsterDev, ui_store: UIStore):
    wait_until(lambda: dagster_dev.materializations("batches", [REUSE_BATCH]), SENSOR_TICK_TIMEOUT_S,
               f"batch_views_sensor reports {REUSE_BATCH}")
    page.goto("/assets/batches?view=partitions")
    page.get_by_title(REUSE_BATCH, exact=True).click()

    row = metadata_row(page, "experiments_table").get_by_role("row").filter(has_text=ui_store.reuse["semantic_name"])
    expect(row).to_contain_text(f"reused (origin {SWEEP_BATCH})")
    expect(row).to_contain_text("complete")
    expect(metadata_row(page, "reused")).to_contain_text("1")
