"""Start a test server script as a subprocess on a free 127.0.0.1 port and wait until it answers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
