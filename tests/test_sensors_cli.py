"""`synth sensors list|start|stop` turns sensors on and off in the Dagster instance the daemon and the UI read."""

from __future__ import annotations

import json
import os

from dagster import DagsterInstance
from dagster._core.scheduler.instigation import InstigatorStatus
from typer.testing import CliRunner

from synth_assets.cli.main import app


def stored_states() -> dict[str, InstigatorStatus]:
    """Sensor name -> the state stored in the instance (what the daemon looks up by selector)."""
    with DagsterInstance.from_config(os.environ["DAGSTER_HOME"]) as instance:
        return {s.instigator_name: s.status for s in instance.all_instigator_state()}


def listed(runner: CliRunner) -> dict[str, dict]:
    done = runner.invoke(app, ["sensors", "list", "--json"])
    assert done.exit_code == 0, done.output
    return {row["name"]: row for row in json.loads(done.output)}


def test_sensors_are_listed_started_and_stopped(synth_root):
    runner = CliRunner()
    before = listed(runner)
    assert before["config_drop_sensor"]["running"] is False and before["batch_views_sensor"]["running"] is True
    assert "$SYNTH_DROP_DIR" in before["config_drop_sensor"]["description"] and before["config_drop_sensor"]["every_s"] == 30

    started = runner.invoke(app, ["sensors", "start", "config_drop_sensor", "judge_drop_sensor"])
    assert started.exit_code == 0, started.output
    assert "config_drop_sensor: started" in started.output and "judge_drop_sensor: started" in started.output
    assert stored_states()["config_drop_sensor"] == InstigatorStatus.RUNNING
    assert listed(runner)["config_drop_sensor"]["running"] is True

    stopped = runner.invoke(app, ["sensors", "stop", "config_drop_sensor"])
    assert stopped.exit_code == 0, stopped.output
    assert stored_states()["config_drop_sensor"] == InstigatorStatus.STOPPED
    assert stored_states()["judge_drop_sensor"] == InstigatorStatus.RUNNING


def test_an_unknown_sensor_is_refused_with_the_known_names(synth_root):
    done = CliRunner().invoke(app, ["sensors", "start", "config_drop_senser"])

    assert done.exit_code == 1
    assert "no sensor 'config_drop_senser'; the sensors are: batch_views_sensor, batchapi_sensor, config_drop_sensor" in done.output
    assert "config_drop_senser" not in stored_states()
