"""A real S3 API on 127.0.0.1 (moto's server) for tests and benchmarks; clients talk to it over HTTP."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

import boto3
from moto.server import ThreadedMotoServer

from synth_assets.testing.launch import free_port, wait_for_port

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}


@contextlib.contextmanager
def s3_server(separate_process: bool = False) -> Iterator[str]:
    """Start a moto S3 server on a free loopback port; point the AWS environment at it; stop it after.

    `separate_process`: run it as its own process (stopped by PID), so that it does not share
    this process's GIL: what benchmarks need to measure the client side.
    """
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    if separate_process:
        process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, process, "moto server", timeout_s=30)
        except TimeoutError:
            process.kill()
            raise
        stop = lambda: (process.terminate(), process.wait(timeout=10))  # noqa: E731
    else:
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        stop = server.stop
    saved = {k: os.environ.get(k) for k in [*CREDENTIALS, "AWS_ENDPOINT_URL"]}
    os.environ.update({**CREDENTIALS, "AWS_ENDPOINT_URL": endpoint})
    try:
        yield endpoint
    finally:
        stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def make_bucket(name: str) -> None:
    boto3.client("s3").create_bucket(Bucket=name)
