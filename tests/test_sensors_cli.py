"""`synth sensors list|start|stop` turns sensors on and off in the Dagster instance the daemon and the UI read."""

from __future__ import annotations

import json
import os
import threading
import time

from dagster import DagsterInstance
from dagster._core.definitions.run_request import InstigatorType
from dagster._core.scheduler.instigation import InstigatorStatus, TickData, TickStatus
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


def test_a_stop_made_while_a_tick_runs_outlasts_the_daemon_writing_back_the_state_it_read(synth_root):
    """The daemon writes back the state it read when a tick began: a stop during that tick must still hold after it."""
    runner = CliRunner()
    assert runner.invoke(app, ["sensors", "start", "config_drop_sensor"]).exit_code == 0
    with DagsterInstance.from_config(os.environ["DAGSTER_HOME"]) as instance:
        read_at_tick_start = next(s for s in instance.all_instigator_state() if s.instigator_name == "config_drop_sensor")
        tick = instance.create_tick(TickData(read_at_tick_start.instigator_origin_id, "config_drop_sensor", InstigatorType.SENSOR,
                                             TickStatus.STARTED, time.time(), selector_id=read_at_tick_start.selector_id))
    written_back = threading.Event()

    def daemon_ends_the_tick() -> None:
        with DagsterInstance.from_config(os.environ["DAGSTER_HOME"]) as daemon:
            deadline = time.monotonic() + 30
            while stored_states()["config_drop_sensor"] != InstigatorStatus.STOPPED and time.monotonic() < deadline:
                time.sleep(0.05)
            daemon.update_instigator_state(read_at_tick_start)
            written_back.set()
            time.sleep(1)
            daemon.update_tick(tick.with_status(TickStatus.SKIPPED))

    daemon = threading.Thread(target=daemon_ends_the_tick)
    daemon.start()
    stopped = runner.invoke(app, ["sensors", "stop", "config_drop_sensor"])
    daemon.join()

    assert stopped.exit_code == 0, stopped.output
    assert written_back.is_set()
    assert stored_states()["config_drop_sensor"] == InstigatorStatus.STOPPED
