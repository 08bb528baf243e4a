"""The code location loads the way `dagster dev -w workspace.yaml` loads it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_workspace_loads_with_dagster_cli(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "SYNTH_ROOT": str(tmp_path / "root")}
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    dagster = Path(sys.executable).with_name("dagster")
    result = subprocess.run([str(dagster), "definitions", "validate", "-w", "workspace.yaml"], cwd=REPO, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful for code location synth_assets.definitions" in result.stdout + result.stderr


def test_every_recipe_has_a_job_and_sensors_are_registered():
    from synth_assets.definitions import defs

    jobs = {job.name for job in defs.jobs}
    assert {"rephrase_job", "stories_job", "translation_judge_job", "curation_job", "batchapi_submit_job"} <= jobs
    assert {s.name for s in defs.sensors} == {"config_drop_sensor", "s3_config_drop_sensor", "judge_drop_sensor", "batchapi_sensor",
                                            "batch_views_sensor", "evaluations_automation"}
