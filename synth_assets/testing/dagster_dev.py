"""Run `dagster dev` (webserver + daemon) over a private DAGSTER_HOME, for tests that use the UI.

    with DagsterDev(tmp / "dagster_home", env={"SYNTH_ROOT": str(root)}) as dev:
        backfill_id = dev.launch_partition_backfill(["rephrase/source"], ["Copa|7c6e24..."])
        backfill = dev.wait_for_backfill(backfill_id)

`dagster dev` maps SIGTERM to its SIGINT handler, and a process started in the background inherits
SIGINT ignored, so it would ignore both: it is started with SIGINT reset to the default, in its own
session (process group), and the whole group is stopped: SIGTERM, then SIGKILL.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import httpx

from synth_assets.core.processes import group_members
from synth_assets.testing.launch import free_port
from synth_assets.testing.webserver_api import WebserverAPI, WebserverError

REPO = Path(__file__).resolve().parents[2]
LOG_TAIL_LINES = 50
# exec'd as `python -c EXEC_WITH_DEFAULT_SIGINT -m dagster dev ...`: an ignored SIGINT survives exec, a default one
# makes Python install its KeyboardInterrupt handler, which `dagster dev` also uses for SIGTERM
EXEC_WITH_DEFAULT_SIGINT = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
)

DAGSTER_YAML = """\
telemetry:
  enabled: false
nux:
  enabled: false
run_monitoring:
  enabled: true
  poll_interval_seconds: 5
"""


class DagsterDevError(WebserverError):
    """`dagster dev` did not start in time, or its code location failed to load."""


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class DagsterDev(WebserverAPI):
    """`dagster dev -w workspace.yaml` (webserver and daemon) on 127.0.0.1, as a context manager.

    `home` becomes DAGSTER_HOME with a `dagster.yaml` (telemetry and the welcome dialog off, run
    monitoring on); `env` is added to this process's environment for `dagster dev` and every run it
    launches (SYNTH_ROOT, ...). The helpers of `WebserverAPI` (GraphQL, backfills, runs) work on it.
    Entering waits (at most `startup_timeout` seconds) until GraphQL answers and every code location
    is loaded; a location that fails to load or a timeout raises `DagsterDevError` with the log's tail.
    """

    def __init__(
        self,
        home: str | os.PathLike[str],
        env: Mapping[str, str] | None = None,
        *,
        workspace: str | os.PathLike[str] = REPO / "workspace.yaml",
        port: int | None = None,
        startup_timeout: float = 240.0,
        stop_timeout: float = 15.0,
    ) -> None:
        self.home = Path(home).resolve()
        self.env = dict(env or {})
        self.workspace = Path(workspace).resolve()
        self.port = port or free_port()
        super().__init__(f"http://127.0.0.1:{self.port}")
        self.startup_timeout = startup_timeout
        self.stop_timeout = stop_timeout
        self.log_path = self.home / "dagster_dev.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.returncode: int | None = None  # of `dagster dev` once stopped: -9 when it had to be killed
        self._log: BinaryIO | None = None

    def __enter__(self) -> DagsterDev:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        """Write DAGSTER_HOME, start `dagster dev` in its own process group and wait until it is ready."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "dagster.yaml").write_text(DAGSTER_YAML)
        env = {**os.environ, **self.env, "DAGSTER_HOME": str(self.home)}
        if not _port_free(self.port):
            raise DagsterDevError(f"port {self.port} on 127.0.0.1 is in use")
        command = [sys.executable, "-c", EXEC_WITH_DEFAULT_SIGINT, "-m", "dagster", "dev",
                   "-w", str(self.workspace), "-h", "127.0.0.1", "-p", str(self.port)]
        self._log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            command, cwd=self.workspace.parent, env=env, stdin=subprocess.DEVNULL,
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the whole process group (SIGTERM, then SIGKILL after `stop_timeout`) and wait for it."""
        if self.process is None:
            return
        pgid = self.process.pid
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            if self._group_ended(pgid):
                break
        self.returncode = self.process.wait(timeout=self.stop_timeout)
        self.process = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def _group_ended(self, pgid: int) -> bool:
        """Wait up to `stop_timeout` s for every process of the group to end; whether they did."""
        assert self.process is not None
        deadline = time.monotonic() + self.stop_timeout
        while time.monotonic() < deadline:
            self.process.poll()  # reap the leader, so that it does not linger as a zombie
            if not group_members(pgid):
                return True
            time.sleep(0.2)
        return False

    def log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        """The last lines of `dagster dev`'s output (webserver, daemon and code server)."""
        if not self.log_path.exists():
            return "(no log yet)"
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def describe_failure(self, message: str) -> str:
        return f"{message}\n--- last {LOG_TAIL_LINES} lines of {self.log_path} ---\n{self.log_tail()}"

    def _fail(self, message: str) -> DagsterDevError:
        return DagsterDevError(self.describe_failure(message))

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise self._fail(f"dagster dev exited with code {self.process.returncode} before it was ready")
            try:
                entries = self.locations()
            except (httpx.HTTPError, WebserverError):
                entries = []
            failed = [f"{e['name']}: {e['error']}" for e in entries if e["error"]]
            if failed:
                raise self._fail("code location failed to load: " + "; ".join(failed))
            if entries and all(e["loaded"] for e in entries):
                return
            if time.monotonic() > deadline:
                raise self._fail(f"dagster dev at {self.url} not ready after {self.startup_timeout:.0f}s (locations: {entries})")
            time.sleep(0.5)
