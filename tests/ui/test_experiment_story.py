"""An experiment in the UI: its partitions by semantic name, the published asset's story, check results per partition."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.ui.conftest import REUSE_BATCH, REUSED_TEMPERATURE, SWEEP_BATCH, SWEEP_TEMPERATURES, UIStore, experiment_key, \
    metadata_row, snapshot

pytestmark = [pytest.mark.slow, pytest.mark.ui]

STORY_ENTRIES = ("rows", "rewrite_rate", "acceptance_rate", "quality", "prompt_tokens", "completion_tokens", "cost_usd",
                 "saved_by_cache_usd", "cost", "origin_batch", "batches", "shared_path", "path", "store_root", "preview")


def test_the_partitions_page_lists_experiments_by_semantic_name(page: Page, ui_store: UIStore):
    page.goto("/assets/rephrase/published?view=partitions")

    for experiment in ui_store.experiments:
        key = experiment_key(experiment)
        shown = page.get_by_title(key, exact=True)
        expect(shown).to_be_visible()  # the list cuts long names in the middle and keeps the whole one as its title
        expect(shown).to_contain_text(experiment["fingerprint"][:12])
    expect(page.get_by_text(f"Materialized ({len(SWEEP_TEMPERATURES)})")).to_be_visible()


def test_the_published_asset_shows_quality_cost_batches_and_each_rewrite(page: Page, ui_store: UIStore):
    reused = next(e for e in ui_store.experiments if f"temp{str(REUSED_TEMPERATURE).replace('.', '')}_" in e["semantic_name"])
    page.goto("/assets/rephrase/published?view=partitions")
    page.get_by_title(experiment_key(reused), exact=True).click()

    expect(page.get_by_title(f"Copa|{experiment_key(reused)}", exact=True)).to_be_visible()
    for entry in STORY_ENTRIES:
        expect(metadata_row(page, entry)).to_be_visible()
    expect(metadata_row(page, "origin_batch")).to_contain_text(SWEEP_BATCH)
    # the batches using it when it was last materialized (REUSE_BATCH took it up later, without a run, unless a
    # backfill of this session materialized it again since): the `batches` asset shows the reuse either way
    batches = rf"^batches\s*{SWEEP_BATCH} \(origin\)(, {REUSE_BATCH} \(reuses it\))?\s*$"
    expect(metadata_row(page, "batches")).to_have_text(re.compile(batches))
    expect(metadata_row(page, "path")).to_contain_text(f"_shared/Copa/{reused['semantic_name']}/Copa/copa_train.jsonl")
    expect(metadata_row(page, "cost")).to_contain_text("all stages")
    expect(metadata_row(page, "quality")).to_contain_text("acceptance_rate")
    for entry in ("rewrite_rate", "acceptance_rate", "cost_usd"):  # rounded: no `0.6666666666666666`
        expect(metadata_row(page, entry)).to_have_text(re.compile(rf"^\s*{entry}\s*\d+(\.\d{{1,6}})?(e-\d+)?\s*$"))
    preview = metadata_row(page, "preview")
    for header in ("original", "rewrite", "verdict"):
        expect(preview.get_by_role("columnheader", name=header, exact=True)).to_be_visible()
    verdicts = preview.get_by_role("cell", name=re.compile(r"^(accepted \(candidate|rejected, original kept: )"))
    expect(verdicts).to_have_count(3)


def test_check_results_are_kept_per_partition(page: Page, ui_store: UIStore):
    page.goto("/assets/rephrase/validated?view=checks")
    page.get_by_text("pass_rate", exact=True).first.click()
    page.get_by_role("tab", name="Partitions").last.click()

    expect(page.get_by_text(f"Passed ({len(SWEEP_TEMPERATURES)})")).to_be_visible()
    experiment = ui_store.experiments[0]
    page.get_by_title(experiment_key(experiment), exact=True).click()
    expect(page.get_by_text(re.compile(r"^passed: pass_rate \d(\.\d+)?, floor \d(\.\d+)?$")).first).to_be_visible()
    snapshot(page, "check_pass_rate_of_one_partition")
