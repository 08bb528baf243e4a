"""Start a test server script as a subprocess on a free 127.0.0.1 port and wait until it answers."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, name: str, timeout_s: float) -> None:
    """Until `process` listens on 127.0.0.1:`port`; RuntimeError if it exits first, TimeoutError after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} before listening on 127.0.0.1:{port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{name} did not listen on 127.0.0.1:{port} within {timeout_s} s")


def serve(app, port: int, max_seconds: float, **run_app_options) -> None:
    """Run an aiohttp test server on 127.0.0.1:`port` until it exits on its own after `max_seconds` (or is killed)."""
    import asyncio
    import os

    from aiohttp import web

    async def deadline(_: web.Application) -> None:
        asyncio.get_running_loop().call_later(max_seconds, os._exit, 0)

    app.on_startup.append(deadline)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None, **run_app_options)


def launch(script: str | Path, args: list[str], ready_path: str, what: str, attempts: int = 300) -> tuple[subprocess.Popen, str]:
    """(process, base URL of its `/v1`): `script --port P *args`, ready once `GET {ready_path}` answers. Stop it by its PID."""
    import httpx

    port = free_port()
    proc = subprocess.Popen([sys.executable, str(Path(script).resolve()), "--port", str(port), *args])
    root = f"http://127.0.0.1:{port}"
    for _ in range(attempts):
        try:
            httpx.get(f"{root}{ready_path}", timeout=1)
            return proc, f"{root}/v1"
        except httpx.HTTPError:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{what} did not start")
