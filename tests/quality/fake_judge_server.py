"""The fault-injection OpenAI server (tests/fake_openai_server.py) plus scripted replies and a request log.

A rule `{"replies": [text, ...], "finish_reason": "stop"}` for a message content answers its k-th
arrival with `replies[min(k, len) - 1]`; every request body is kept for `GET /requests`.
Run: `python tests/quality/fake_judge_server.py --port P [--max-seconds T]`.
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from synth_assets.testing.fake_openai_server import FakeOpenAI, FakeOpenAIClient, application  # noqa: E402
from synth_assets.testing.launch import launch, serve  # noqa: E402


class ScriptedOpenAI(FakeOpenAI):
    def reset(self) -> None:
        super().reset()
        self.bodies: list[dict] = []

    async def requests(self, _: web.Request) -> web.Response:
        return web.json_response(self.bodies)

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        content = body["messages"][-1]["content"]
        rule = self.rules.get(content, {})
        if "replies" not in rule:
            return await super().chat(request)  # aiohttp keeps the body: it can be read again
        self.bodies.append(body)
        self.received[content] += 1
        self.answered[content] += 1
        replies = rule["replies"]
        text = replies[min(self.received[content], len(replies)) - 1]
        return web.json_response({
            "id": "chatcmpl-scripted", "object": "chat.completion", "created": int(time.time()), "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                         "finish_reason": rule.get("finish_reason", "stop")}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
        })


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--max-seconds", type=float, default=600.0, help="exit on its own after this long")
    args = parser.parse_args()
    fake = ScriptedOpenAI(0.0)
    app = application(fake)
    app.router.add_get("/requests", fake.requests)
    serve(app, args.port, args.max_seconds)


def start(max_seconds: float = 600.0) -> tuple[subprocess.Popen, str]:
    """Start the server as a subprocess; returns (process, base URL of its `/v1`). Stop it by its PID."""
    return launch(__file__, ["--max-seconds", str(max_seconds)], "/counts", "scripted fake OpenAI server", 200)


class ScriptedServer(FakeOpenAIClient):
    """The client of a running scripted server: set its rules, read what it received."""

    def script(self, rules: dict) -> None:
        self.control(reset=True, rules=rules)

    def received(self, content: str) -> int:
        return self.counts()["received"].get(content, 0)

    def requests(self) -> list[dict]:
        return httpx.get(f"{self.root}/requests", timeout=5).json()


@contextlib.contextmanager
def running(max_seconds: float = 600.0) -> Iterator[ScriptedServer]:
    """The scripted server in a child process for the `with` block, killed after it."""
    proc, base_url = start(max_seconds)
    try:
        yield ScriptedServer(base_url)
    finally:
        proc.kill()
        proc.wait(timeout=10)


if __name__ == "__main__":
    main()
