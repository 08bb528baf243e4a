"""Throwaway PostgreSQL and Redis servers on 127.0.0.1 for tests and benchmarks.

Each server runs from a fresh temporary directory on a free loopback port, is its own process
(stopped by its PID when the ``with`` block ends) and is deleted afterwards. PostgreSQL refuses to
run as root, so under root ``initdb`` and ``postgres`` run as the ``postgres`` user. A missing
binary raises `ServerUnavailable`, whose message says what to install.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from synth_assets.testing.launch import free_port, wait_for_port


class ServerUnavailable(RuntimeError):
    """A server's binaries are not installed here."""


def _stop(process: subprocess.Popen, sig: int, timeout_s: float = 30.0) -> None:
    """Signal the server by its PID, wait, and kill it if it does not go."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout_s)


# ------------------------------------------------------------------------------------ PostgreSQL


def postgres_bin_dir() -> Path:
    """`$SYNTH_PG_BIN`, else the newest /usr/lib/postgresql/*/bin, else the folder of `initdb` on PATH."""
    candidates = [os.environ.get("SYNTH_PG_BIN")]
    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(Path(p).parent.name), reverse=True)
    found = shutil.which("initdb")
    candidates.append(str(Path(found).parent) if found else None)
    for folder in filter(None, candidates):
        if (Path(folder) / "initdb").exists() and (Path(folder) / "postgres").exists():
            return Path(folder)
    raise ServerUnavailable("PostgreSQL server binaries not found (set $SYNTH_PG_BIN, or "
                            "`apt-get install -y postgresql`)")


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str
    bin_dir: Path

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq connection string (the form DuckDB's postgres extension and psycopg2 take)."""
        return f"dbname={dbname} host={self.host} port={self.port} user={self.user}"

    def url(self, dbname: str = "postgres") -> str:
        """A postgresql:// URL (the form SQLAlchemy and dagster-postgres take)."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """Create a database; returns its libpq connection string."""
        subprocess.run([str(self.bin_dir / "createdb"), "-h", self.host, "-p", str(self.port), "-U", self.user, name],
                       check=True, capture_output=True, timeout=60)
        return self.dsn(name)


def _run_as(user: str | None) -> dict:
    return {"user": user, "group": pwd.getpwnam(user).pw_gid, "extra_groups": []} if user else {}


@contextlib.contextmanager
def postgres_server(timeout_s: float = 60.0) -> Iterator[PostgresServer]:
    """A PostgreSQL server (trust auth, superuser ``postgres``, fsync off) for the ``with`` block."""
    bin_dir = postgres_bin_dir()
    os_user = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            raise ServerUnavailable("running as root, and there is no `postgres` user to run PostgreSQL as") from None
        os_user = "postgres"
    tmp = Path(tempfile.mkdtemp(prefix="synth-pg-"))
    try:
        if os_user:
            shutil.chown(tmp, os_user, pwd.getpwnam(os_user).pw_gid)
        data = tmp / "data"
        subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8",
                        "--no-sync", "--locale=C"], check=True, capture_output=True, timeout=timeout_s,
                       **_run_as(os_user))
        port = free_port()
        with open(tmp / "postgres.log", "wb") as log:
            process = subprocess.Popen(
                [str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(tmp),
                 "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
                 "-c", "max_connections=200"],
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **_run_as(os_user))
        try:
            wait_for_port(port, process, "postgres", timeout_s)
            _wait_ready(bin_dir, port, process, timeout_s)
            yield PostgresServer("127.0.0.1", port, "postgres", bin_dir)
        finally:
            _stop(process, signal.SIGINT)  # PostgreSQL's "fast" shutdown
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _wait_ready(bin_dir: Path, port: int, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if subprocess.run([str(bin_dir / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(port)],
                          timeout=10).returncode == 0:
            return
        if process.poll() is not None:
            raise RuntimeError(f"postgres exited with {process.returncode}")
        time.sleep(0.1)
    raise TimeoutError(f"postgres on 127.0.0.1:{port} was not ready within {timeout_s} s")


# ------------------------------------------------------------------------------------------ Redis


@contextlib.contextmanager
def redis_server(timeout_s: float = 30.0) -> Iterator[str]:
    """A Redis server without persistence for the ``with`` block; yields its ``redis://`` URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServerUnavailable("redis-server not found (`apt-get install -y redis-server`)")
    tmp = Path(tempfile.mkdtemp(prefix="synth-redis-"))
    port = free_port()
    with open(tmp / "redis.log", "wb") as log:
        process = subprocess.Popen(
            [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
             "--dir", str(tmp), "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for_port(port, process, "redis-server", timeout_s)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        _stop(process, signal.SIGTERM)
        shutil.rmtree(tmp, ignore_errors=True)
