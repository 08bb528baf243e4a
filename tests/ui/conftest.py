"""Fixtures for tests that use the Dagster UI in a real browser.

A small store (a three-experiment Copa sweep made by `synth run` with the local model), one
`dagster dev` over it for the whole session, and a Chromium page per test whose screenshot is saved
to `$SYNTH_UI_ARTIFACTS` (default `tests/ui/artifacts/`) after every test, named by test; a test that
does not pass also leaves a Playwright trace (`playwright show-trace NAME.trace.zip`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, Page, expect, sync_playwright

from synth_assets.testing.dagster_dev import DagsterDev
from synth_assets.testing.webserver_api import BackfillResult, RunInfo
from tests.conftest import REPO, copa_config

CHROMIUM = Path(os.environ.get("SYNTH_UI_CHROMIUM", "/usr/bin/chromium"))
# without the background-networking flags Chromium's own connections are refused on a closed network
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("SYNTH_UI_ARTIFACTS") or Path(__file__).parent / "artifacts")
VIEWPORT = {"width": 1600, "height": 1000}
UI_TIMEOUT_MS = 60_000  # two shared cores: the first page load compiles a large JS bundle

SWEEP_BATCH = "batch_20250101_ui"
SWEEP_TEMPERATURES = [0.3, 0.7, 1.0]
REPHRASE_ASSETS = ("source", "rephrased", "validated", "published")
BACKFILL_TIMEOUT_S = 300.0

expect.set_options(timeout=UI_TIMEOUT_MS)


@dataclass(frozen=True)
class UIStore:
    """A store root with the sweep materialized, the Dagster home that has its runs, and their environment."""

    root: Path
    home: Path
    env: dict[str, str]
    experiments: list[dict]  # `synth run --json` rows: dataset, semantic_name, fingerprint, run, ...


class BackfillRunsFailed(AssertionError):
    """A backfill launched by a test did not complete successfully (its runs' errors in the message)."""


def _isolated_env(root: Path, home: Path) -> dict[str, str]:
    """This environment without any SYNTH_* setting of the caller, pointed at a private root and home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYNTH_")}
    env.update(SYNTH_ROOT=str(root), DAGSTER_HOME=str(home))
    return env


def run_partition(run: RunInfo) -> str | None:
    """The partition a run materialized: its `dagster/partition` tag, or a one-partition range's key."""
    if "dagster/partition" in run.tags:
        return run.tags["dagster/partition"]
    start, end = run.tags.get("dagster/asset_partition_range_start"), run.tags.get("dagster/asset_partition_range_end")
    return start if start == end else None


def assert_backfill_succeeded(dev: DagsterDev, backfill: BackfillResult) -> None:
    """Raise `BackfillRunsFailed` with each failed run's errors unless the backfill and all its runs succeeded."""
    failed = [r for r in backfill.runs if r.status != "SUCCESS"]
    if backfill.status == "COMPLETED_SUCCESS" and backfill.runs and not failed:
        return
    details = "\n".join(f"run {r.run_id} ({run_partition(r)}): {r.status}\n  " + "\n  ".join(dev.run_errors(r.run_id))
                        for r in failed)
    raise BackfillRunsFailed(f"backfill {backfill.backfill_id}: {backfill.status} {backfill.error or ''}\n{details}")


@pytest.fixture(scope="session")
def ui_store(tmp_path_factory: pytest.TempPathFactory) -> UIStore:
    """The Copa sweep (3 experiments, 3 rows, tiny max_tokens) registered and materialized by `synth run`."""
    base = tmp_path_factory.mktemp("ui")
    root, home = base / "root", base / "dagster_home"
    home.mkdir(parents=True)
    config = base / "sweep.yaml"
    config.write_text(yaml.safe_dump(copa_config(batch_id=SWEEP_BATCH, limit=3, max_tokens=8, temperature=SWEEP_TEMPERATURES)))
    env = _isolated_env(root, home)
    synth = Path(sys.executable).with_name("synth")
    done = subprocess.run([str(synth), "run", str(config), "--json"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"synth run failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    experiments = json.loads(done.stdout[done.stdout.index("["):])
    assert len(experiments) == len(SWEEP_TEMPERATURES) and all(e["run"]["success"] for e in experiments), experiments
    return UIStore(root, home, env, experiments)


@pytest.fixture(scope="session")
def dagster_dev(ui_store: UIStore) -> Iterator[DagsterDev]:
    """`dagster dev` (webserver + daemon) over the sweep's store and Dagster home; its log is kept as an artifact."""
    dev = DagsterDev(ui_store.home, env=ui_store.env)
    try:
        with dev:
            yield dev
    finally:
        if dev.log_path.exists():
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(dev.log_path, ARTIFACTS / "dagster_dev.log")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's headless Chromium driven by Playwright (Playwright's own browser builds cannot be downloaded here)."""
    if not CHROMIUM.exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: `apt-get install -y chromium` (or set SYNTH_UI_CHROMIUM)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Keep each phase's report on the test item, so that fixtures know whether the test passed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser: Browser, dagster_dev: DagsterDev, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A fresh browser page on the running UI (relative URLs work); screenshot (and trace on failure) afterwards."""
    context = browser.new_context(base_url=dagster_dev.url, viewport=VIEWPORT)
    context.set_default_timeout(UI_TIMEOUT_MS)
    context.tracing.start(screenshots=True, snapshots=True)
    page = context.new_page()
    try:
        yield page
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)
        call = getattr(request.node, "report_call", None)
        context.tracing.stop(path=None if call is not None and call.passed else ARTIFACTS / f"{name}.trace.zip")
        context.close()


@pytest.fixture(scope="session")
def location_name(dagster_dev: DagsterDev) -> str:
    """The name the UI gives the project's code location (from workspace.yaml)."""
    [location] = dagster_dev.locations()
    return location["name"]


@pytest.fixture(scope="session")
def sweep_partitions(dagster_dev: DagsterDev) -> list[str]:
    """The sweep's (dataset|fingerprint) partition keys, as the UI lists them, sorted."""
    keys = sorted(dagster_dev.partition_keys("rephrase/published"))
    assert len(keys) == len(SWEEP_TEMPERATURES), keys
    return keys
