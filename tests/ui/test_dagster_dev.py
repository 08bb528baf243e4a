"""`DagsterDev` itself: a load error is reported with the log, and stopping ends every process it started."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from synth_assets.core.processes import group_members
from synth_assets.testing.dagster_dev import DagsterDev, DagsterDevError
from tests.conftest import REPO

pytestmark = [pytest.mark.slow, pytest.mark.ui]


def write_workspace(folder: Path, module_source: str) -> Path:
    """A workspace.yaml loading `defs_module.py` (with `module_source`) from `folder`."""
    (folder / "defs_module.py").write_text(textwrap.dedent(module_source))
    workspace = folder / "workspace.yaml"
    workspace.write_text("load_from:\n  - python_file:\n      relative_path: defs_module.py\n      location_name: tiny\n")
    return workspace


def test_a_code_location_that_fails_to_load_raises_with_its_error_and_the_log(tmp_path: Path):
    workspace = write_workspace(tmp_path, "raise RuntimeError('definitions are broken on purpose')\n")
    dev = DagsterDev(tmp_path / "home", workspace=workspace, startup_timeout=180)

    with pytest.raises(DagsterDevError) as failure:
        dev.start()

    message = str(failure.value)
    assert "code location failed to load: tiny" in message and "definitions are broken on purpose" in message
    assert f"last 50 lines of {dev.log_path}" in message
    assert dev.process is None and dev.returncode is not None


def test_stop_ends_the_whole_group_by_sigterm_even_when_started_from_the_background(tmp_path: Path):
    """A background job inherits SIGINT ignored, which `dagster dev` would also apply to SIGTERM."""
    workspace = write_workspace(tmp_path, "from dagster import Definitions\ndefs = Definitions()\n")
    script = textwrap.dedent(f"""
        import json, signal
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # what `cmd &` in a script does to its children
        from synth_assets.testing.dagster_dev import DagsterDev
        dev = DagsterDev({str(tmp_path / "home")!r}, workspace={str(workspace)!r}, stop_timeout=60)
        with dev:
            pgid, locations = dev.process.pid, dev.locations()
        print(json.dumps({{"pgid": pgid, "locations": locations, "returncode": dev.returncode}}))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.splitlines()[-1])

    assert result["locations"] == [{"name": "tiny", "loaded": True, "error": None}]
    assert result["returncode"] != -signal.SIGKILL, "dagster dev ignored SIGTERM and had to be killed"
    assert group_members(result["pgid"]) == []
