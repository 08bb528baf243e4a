"""The pages users start from: the `rephrase` asset group's graph and the sensors."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import REPHRASE_ASSETS, SWEEP_TEMPERATURES

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
