"""Fixtures for tests that use the Dagster UI in a real browser.

A small store (a three-experiment Copa sweep made by `synth run` with the local model, and a second
batch that reuses one of its experiments without a run), one `dagster dev` over it for the whole
session, and a Chromium page per test whose screenshot is saved to `$SYNTH_UI_ARTIFACTS` (default
`tests/ui/artifacts/`) after every test, named by test; a test that does not pass also leaves a
Playwright trace (`playwright show-trace NAME.trace.zip`).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

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
SWEEP_MAX_TOKENS = 24  # short enough to be quick, long enough for the small model to finish some rewrites
REUSE_BATCH = "batch_20250102_reuse"  # takes up the 0.7 experiment of the sweep: a view, no run
REUSED_TEMPERATURE = 0.7
REPHRASE_ASSETS = ("source", "rephrased", "validated", "published")
BACKFILL_TIMEOUT_S = 300.0
SENSOR_TICK_TIMEOUT_S = 120.0  # the daemon's first ticks after `dagster dev` starts

expect.set_options(timeout=UI_TIMEOUT_MS)


@dataclass(frozen=True)
class UIStore:
    """A store root with the sweep materialized, the Dagster home that has its runs, and their environment."""

    root: Path
    home: Path
    env: dict[str, str]
    experiments: list[dict]  # `synth run --json` rows of the sweep: dataset, semantic_name, fingerprint, run, ...
    reuse: dict  # the `synth run --json` row of the batch that reuses one of the sweep's experiments


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


def synth(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """Run the `synth` command of this environment; fail the test with its output if it fails."""
    done = subprocess.run([str(Path(sys.executable).with_name("synth")), *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"synth {' '.join(args)} failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


def _run_config(env: dict[str, str], path: Path, config: dict) -> list[dict]:
    path.write_text(yaml.safe_dump(config))
    out = synth(env, "run", str(path), "--json").stdout
    return json.loads(out[out.index("["):])


@pytest.fixture(scope="session")
def ui_store(tmp_path_factory: pytest.TempPathFactory) -> UIStore:
    """The Copa sweep (3 experiments, 3 rows, short max_tokens) registered and materialized by `synth run`, then a
    second batch registering one of its experiments again (complete: a view, no run)."""
    base = tmp_path_factory.mktemp("ui")
    root, home = base / "root", base / "dagster_home"
    home.mkdir(parents=True)
    env = _isolated_env(root, home)
    experiments = _run_config(env, base / "sweep.yaml", copa_config(batch_id=SWEEP_BATCH, limit=3, max_tokens=SWEEP_MAX_TOKENS,
                                                                     temperature=SWEEP_TEMPERATURES))
    assert len(experiments) == len(SWEEP_TEMPERATURES) and all(e["run"]["success"] for e in experiments), experiments
    [reuse] = _run_config(env, base / "reuse.yaml", copa_config(batch_id=REUSE_BATCH, limit=3, max_tokens=SWEEP_MAX_TOKENS,
                                                                 temperature=REUSED_TEMPERATURE))
    assert reuse["complete"] and reuse["reused"] and reuse["run"] is None, reuse
    return UIStore(root, home, env, experiments, reuse)


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


def snapshot(page: Page, name: str) -> None:
    """A screenshot of the page as it is now, `{name}.png` beside the per-test ones (for pages a test passes through)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / f"{name}.png", full_page=True)


def metadata_row(page: Page, key: str) -> Locator:
    """The row of the metadata table whose first cell is `key` (not a row of a markdown table shown inside a value)."""
    return page.locator(f"xpath=//tr[not(ancestor::tr)][td[1][normalize-space(.)='{key}']]")


def experiment_key(experiment: dict) -> str:
    """The `fingerprint` partition key of a `synth run --json` row: `{semantic_name}·{fp12}`."""
    return f"{experiment['semantic_name']}·{experiment['fingerprint'][:12]}"


@pytest.fixture(scope="session")
def location_name(dagster_dev: DagsterDev) -> str:
    """The name the UI gives the project's code location (from workspace.yaml)."""
    [location] = dagster_dev.locations()
    return location["name"]


def wait_until(condition, timeout: float, what: str, poll: float = 2.0):
    """`condition()`'s first truthy value, polled; AssertionError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout:.0f} s")
        time.sleep(poll)


@pytest.fixture(scope="session")
def sweep_partitions(dagster_dev: DagsterDev) -> list[str]:
    """The sweep's (dataset|fingerprint) partition keys, as the UI lists them, sorted."""
    keys = sorted(dagster_dev.partition_keys("rephrase/published"))
    assert len(keys) == len(SWEEP_TEMPERATURES), keys
    return keys
