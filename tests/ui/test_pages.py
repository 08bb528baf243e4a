"""The pages users start from: the `rephrase` asset group's graph and the sensors."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from synth_assets.testing.dagster_dev import DagsterDev
from tests.ui.conftest import REPHRASE_ASSETS, SENSOR_TICK_TIMEOUT_S, SWEEP_TEMPERATURES, UIStore, snapshot, synth, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.ui]


def test_rephrase_group_graph_shows_the_four_stages_with_the_sweep_partitions(page: Page, location_name: str):
    page.goto(f"/locations/{location_name}/asset-groups/rephrase")

    for name in REPHRASE_ASSETS:
        expect(page.get_by_text(name, exact=True)).to_be_visible()
    expect(page.get_by_text(f"{len(SWEEP_TEMPERATURES)} partitions", exact=True)).to_have_count(len(REPHRASE_ASSETS))
    expect(page.get_by_role("button", name="Materialize all")).to_be_enabled()


def test_automation_page_lists_every_sensor_of_the_code_location(page: Page, location_name: str):
    from synth_assets.definitions import defs

    sensors = sorted(s.name for s in defs.sensors)
    assert sensors, "the code location defines no sensor"

    page.goto("/")
    # a link's accessible name starts with its icon's label ("schedule Automation", "sensors config_drop_sensor ...")
    page.get_by_role("navigation").get_by_role("link", name=re.compile(r"(^|\s)Automation$")).click()

    for name in sensors:
        link = page.get_by_role("link", name=re.compile(rf"(^|\s){re.escape(name)}(\s|$)"))
        expect(link).to_be_visible()
        expect(link).to_have_attribute("href", f"/locations/{location_name}/sensors/{name}")


SENSOR_TICKS_QUERY = """
query SensorTicks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status ticks(limit: 1) { status skipReason } } }
  }
}
"""


def sensor_state(dev: DagsterDev, location: str, name: str) -> dict:
    selector = {"repositoryLocationName": location, "repositoryName": "__repository__", "sensorName": name}
    return dev.graphql(SENSOR_TICKS_QUERY, {"selector": selector})["sensorOrError"]["sensorState"]


def test_sensor_pages_describe_each_sensor_and_ticks_say_what_they_watched_and_found(page: Page, dagster_dev: DagsterDev,
                                                                                     location_name: str):
    from synth_assets.definitions import defs

    for sensor in sorted(defs.sensors, key=lambda s: s.name):
        page.goto(f"/locations/{location_name}/sensors/{sensor.name}")
        description = page.get_by_role("row").filter(has=page.get_by_role("cell", name="Description", exact=True))
        expect(description).to_contain_text(sensor.description)
    tick = wait_until(lambda: sensor_state(dagster_dev, location_name, "batch_views_sensor")["ticks"], SENSOR_TICK_TIMEOUT_S,
                      "a tick of batch_views_sensor")[0]
    assert tick["skipReason"].startswith("watched 2 batches in the lineage of "), tick

    page.goto(f"/locations/{location_name}/sensors/batch_views_sensor")
    latest = page.get_by_role("row").filter(has=page.get_by_role("cell", name="Latest tick", exact=True))
    latest.get_by_text("0 runs requested").hover()  # a tick that requests no run: its reason is its tooltip
    expect(page.get_by_text(re.compile(r"^watched 2 batches in the lineage of .+: "))).to_be_visible()


def test_synth_sensors_start_and_stop_switch_a_sensor_in_the_ui(page: Page, dagster_dev: DagsterDev, ui_store: UIStore,
                                                               location_name: str):
    name = "config_drop_sensor"
    page.goto(f"/locations/{location_name}/sensors/{name}")
    switch = page.get_by_role("checkbox")
    expect(switch).not_to_be_checked()

    synth(ui_store.env, "sensors", "start", name, "--location", location_name)
    try:
        page.reload()
        expect(switch).to_be_checked()
        assert sensor_state(dagster_dev, location_name, name)["status"] == "RUNNING"
        snapshot(page, "sensor_started_by_synth_sensors")
    finally:
        synth(ui_store.env, "sensors", "stop", name, "--location", location_name)
    page.reload()
    expect(switch).not_to_be_checked()
