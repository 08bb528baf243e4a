"""A two-partition backfill of the `rephrase` group: by clicks in the UI, and by the GraphQL call the UI makes."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from synth_assets.testing.dagster_dev import DagsterDev
from synth_assets.testing.webserver_api import BackfillResult
from tests.ui.conftest import BACKFILL_TIMEOUT_S, REPHRASE_ASSETS, REUSE_BATCH, REUSED_TEMPERATURE, SWEEP_BATCH, \
    assert_backfill_succeeded, run_partition

pytestmark = [pytest.mark.slow, pytest.mark.ui]

def pick_partitions(page: Page, select: Locator, values: list[str]) -> None:
    """Open a partition dimension's drop-down in the launch dialog, tick `values`, close it."""
    select.click()
    menu = page.get_by_role("dialog").filter(has=page.get_by_placeholder("Filter partitions"))
    for value in values:
        item = menu.get_by_role("menuitem").filter(has_text=value)
        item.click()
        expect(item.get_by_role("checkbox")).to_be_checked()
    page.keyboard.press("Escape")
    expect(menu).to_have_count(0)


def check_backfill(dev: DagsterDev, backfill: BackfillResult, partitions: list[str]) -> None:
    """One run per chosen partition (the assets' policy), all successful, each materializing `published` and
    tagged by the stage assets with its experiment's fingerprint and the batches using it."""
    assert sorted(run_partition(r) for r in backfill.runs) == sorted(partitions), backfill.runs
    assert_backfill_succeeded(dev, backfill)
    published = dev.materializations("rephrase/published", partitions)
    for run in backfill.runs:
        assert (run.run_id, run_partition(run)) in published, (run, published)
        experiment = run_partition(run).split("|")[1]
        assert run.tags["synth/fingerprint"] == experiment.split("·")[1], run.tags
        reused = experiment.startswith(f"temp{str(REUSED_TEMPERATURE).replace('.', '')}_")
        assert run.tags["synth/batch"] == (f"{SWEEP_BATCH},{REUSE_BATCH}" if reused else SWEEP_BATCH), run.tags


def test_backfill_of_two_partitions_launched_by_clicks(page: Page, dagster_dev: DagsterDev, location_name: str,
                                                        sweep_partitions: list[str]):
    chosen = sweep_partitions[1:]
    dataset = {key.split("|")[0] for key in chosen}
    fingerprints = [key.split("|")[1] for key in chosen]
    assert dataset == {"Copa"}

    page.goto(f"/locations/{location_name}/asset-groups/rephrase")
    page.get_by_role("button", name="Materialize all").click()
    dialog = page.get_by_role("dialog").filter(has_text=f"Launch runs to materialize {len(REPHRASE_ASSETS)} assets")
    selects = dialog.locator('[aria-haspopup="dialog"]')  # one drop-down per dimension: dataset, fingerprint
    expect(selects).to_have_count(2)
    pick_partitions(page, selects.nth(0), sorted(dataset))
    pick_partitions(page, selects.nth(1), fingerprints)
    expect(dialog.get_by_text(f"{len(chosen)} partitions", exact=True)).to_be_visible()
    dialog.get_by_role("button", name="Launch backfill").click()

    created = page.get_by_text(re.compile(r"Created backfill \w+"))
    expect(created).to_be_visible()
    backfill_id = re.search(r"Created backfill (\w+)", created.inner_text()).group(1)
    page.get_by_role("link", name="View", exact=True).click()
    expect(page).to_have_url(re.compile(rf"/runs/b/{backfill_id}"))

    backfill = dagster_dev.wait_for_backfill(backfill_id, timeout=BACKFILL_TIMEOUT_S)
    page.reload()  # the screenshot shows the finished backfill
    assert all(r.tags.get("dagster/from_ui") == "true" for r in backfill.runs), backfill.runs
    check_backfill(dagster_dev, backfill, chosen)


def test_backfill_of_two_partitions_launched_through_graphql(dagster_dev: DagsterDev, sweep_partitions: list[str]):
    chosen = sweep_partitions[:2]
    backfill_id = dagster_dev.launch_partition_backfill([f"rephrase/{name}" for name in REPHRASE_ASSETS], chosen)

    backfill = dagster_dev.wait_for_backfill(backfill_id, timeout=BACKFILL_TIMEOUT_S)
    check_backfill(dagster_dev, backfill, chosen)
