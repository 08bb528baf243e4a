"""`synth sensors list|start|stop`: the code location's sensors on the Dagster instance `synth run` and `dagster dev` share.

The code location is loaded in this process (as `dagster dev -w workspace.yaml` names it:
`synth_assets.definitions`); a sensor's on/off state is stored in the instance under its selector
(location, repository, sensor name), which is what the daemon and the UI read.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

from synth_assets.cli.common import JsonOption, console, fail, print_json, print_table, root

LOCATION = "synth_assets.definitions"  # the module workspace.yaml loads, and the location name the UI shows for it
LocationOption = typer.Option(LOCATION, "--location", help="Code location name, as the UI shows it.")

app = typer.Typer(no_args_is_help=True, help="The Dagster sensors: list them (state, last tick), start, stop.")


@contextmanager
def _repository(location: str) -> Iterator[tuple[Any, Any]]:
    """(instance, repository) of the code location, loaded in this process over this command's store root."""
    from dagster._core.remote_origin import InProcessCodeLocationOrigin
    from dagster._core.types.loadable_target_origin import LoadableTargetOrigin

    from synth_assets.cli.materialize import dagster_instance

    os.environ["SYNTH_ROOT"] = root()  # what the code location builds its definitions over
    instance = dagster_instance(root())
    origin = InProcessCodeLocationOrigin(LoadableTargetOrigin(module_name=LOCATION, working_directory=os.getcwd()),
                                         location_name=location)
    with origin.create_location(instance) as code_location:
        yield instance, code_location.get_repository(code_location.get_repository_names()[0])


def _sensor(repo: Any, name: str) -> Any:
    known = sorted(s.name for s in repo.get_sensors())
    if name not in known:
        raise fail(f"no sensor {name!r}; the sensors are: {', '.join(known)}")
    return repo.get_sensor(name)


def _describe(instance: Any, sensor: Any) -> dict[str, Any]:
    state = sensor.get_current_instigator_state(instance.get_instigator_state(sensor.get_remote_origin_id(), sensor.selector_id))
    ticks = instance.get_ticks(sensor.get_remote_origin_id(), sensor.selector_id, limit=1)
    last = None
    if ticks:
        tick = ticks[0]
        found = tick.skip_reason or (f"{len(tick.run_ids)} runs requested" if tick.run_ids else "") or \
            (tick.error.message.strip().splitlines()[0] if tick.error else "")
        last = {"at": dt.datetime.fromtimestamp(tick.timestamp, dt.timezone.utc).isoformat(timespec="seconds"),
                "status": tick.status.value, "found": found}
    return {"name": sensor.name, "running": state.is_running, "default": sensor.default_status.value.lower(),
            "every_s": sensor.min_interval_seconds, "last_tick": last, "description": sensor.description or ""}


@app.command("list")
def list_command(as_json: bool = JsonOption, location: str = LocationOption) -> None:
    """Every sensor: running or stopped, its interval, its last tick (what it found) and what it watches."""
    with _repository(location) as (instance, repo):
        rows = [_describe(instance, s) for s in sorted(repo.get_sensors(), key=lambda s: s.name)]
    if as_json:
        return print_json(rows)
    print_table("Sensors", ["sensor", "state", "every", "last tick", "watches"], (
        [r["name"], "running" if r["running"] else "stopped", f"{r['every_s']} s",
         f"{r['last_tick']['at']} {r['last_tick']['status']}: {r['last_tick']['found']}" if r["last_tick"] else "never ticked",
         r["description"]] for r in rows))


TICK_TIMEOUT_S = 90  # a tick still marked started after this long belongs to a daemon that died


def _is_running(instance: Any, sensor: Any) -> bool:
    stored = instance.get_instigator_state(sensor.get_remote_origin_id(), sensor.selector_id)
    return sensor.get_current_instigator_state(stored).is_running


def _tick_in_flight(instance: Any, sensor: Any) -> bool:
    from dagster._core.scheduler.instigation import TickStatus

    ticks = instance.get_ticks(sensor.get_remote_origin_id(), sensor.selector_id, limit=1)
    return bool(ticks) and ticks[0].status == TickStatus.STARTED and time.time() - ticks[0].timestamp < TICK_TIMEOUT_S


def _apply(instance: Any, sensor: Any, on: bool) -> None:
    if on:
        instance.start_sensor(sensor)
    else:
        instance.stop_sensor(sensor.get_remote_origin_id(), sensor.selector_id, sensor)


def _switch_and_hold(instance: Any, sensor: Any, on: bool, poll_s: float = 0.5) -> None:
    """Switch a sensor and make the switch stick.

    The daemon writes back the sensor state it read when a tick began, so a switch made while a tick
    runs can be undone when that tick ends: re-apply it until no tick is in flight and the state holds.
    """
    deadline = time.monotonic() + TICK_TIMEOUT_S
    _apply(instance, sensor, on)
    while True:
        time.sleep(poll_s)
        if _is_running(instance, sensor) != on:
            if time.monotonic() > deadline:
                raise fail(f"{sensor.name}: the Dagster daemon keeps it {'stopped' if on else 'running'}; try again")
            _apply(instance, sensor, on)
        elif not _tick_in_flight(instance, sensor) or time.monotonic() > deadline:
            return


def _switch(names: list[str], location: str, on: bool) -> None:
    with _repository(location) as (instance, repo):
        sensors = [_sensor(repo, name) for name in names]
        for sensor in sensors:
            _switch_and_hold(instance, sensor, on)
            console.print(f"{sensor.name}: {'started' if on else 'stopped'}")
    if on:
        console.print("Sensors tick while the Dagster daemon runs (`dagster dev` starts one).")


@app.command("start")
def start_command(names: list[str] = typer.Argument(..., help="Sensor names (see `synth sensors list`)."),
                  location: str = LocationOption) -> None:
    """Turn sensors on (stored in the Dagster instance; the daemon ticks them)."""
    _switch(names, location, True)


@app.command("stop")
def stop_command(names: list[str] = typer.Argument(..., help="Sensor names (see `synth sensors list`)."),
                 location: str = LocationOption) -> None:
    """Turn sensors off."""
    _switch(names, location, False)
