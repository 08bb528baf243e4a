"""A scriptable OpenAI-compatible chat server for fault injection and benchmarks (aiohttp).

Run: `python -m synth_assets.testing.fake_openai_server --port P [--latency S] [--max-seconds T]`.

Each request is keyed by the content of its last message. `POST /control` (JSON, all keys optional):
  rules: {content: {status, times, retry_after, sleep, malformed, text, finish_reason}}  -- `times` limits the
         faults (status, sleep, malformed) to the first k arrivals of that content (default: always); `sleep`
         delays the answer (seconds); `text` is the answer (default `echo: {content}`), `finish_reason` its
         finish reason (default `stop`)
  default: a rule for every content that has no rule of its own (default: none)
  hold_after: N  -- once N requests were answered, hold every further request (null releases them)
  latency: seconds added to every answer;  reset: true clears the counts
`GET /counts` returns per-content `received` / `answered` counts and the arrival times (monotonic),
`held`: how many requests wait for the hold to be released, and the same counts per distinct request
(`received_requests` / `answered_requests`, keyed by `request_key(body)`: the same prompt at another
temperature is another request). A request whose client went away before its answer (held, or during
the latency) is not counted as answered.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import subprocess
import time
from collections import Counter

from aiohttp import web

from synth_assets.testing.launch import launch, serve


def request_key(body: dict) -> str:
    """sha256 of the canonical JSON of a chat request body (model, messages, sampling parameters)."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class FakeOpenAI:
    def __init__(self, latency: float):
        self.latency = latency
        self.rules: dict[str, dict] = {}
        self.default_rule: dict = {}
        self.hold_after: int | None = None
        self.release = asyncio.Event()
        self.held = 0
        self.reset()

    def reset(self) -> None:
        self.received: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()
        self.received_requests: Counter[str] = Counter()
        self.answered_requests: Counter[str] = Counter()
        self.arrivals: list[float] = []

    async def control(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("reset"):
            self.reset()
        if "rules" in body:
            self.rules = body["rules"]
        if "default" in body:
            self.default_rule = body["default"] or {}
        if "latency" in body:
            self.latency = float(body["latency"])
        if "hold_after" in body:
            self.hold_after = body["hold_after"]
            if self.hold_after is None:
                self.release.set()
                self.release = asyncio.Event()
        return web.json_response({"ok": True})

    async def counts(self, _: web.Request) -> web.Response:
        return web.json_response({"received": self.received, "answered": self.answered, "arrivals": self.arrivals,
                                  "received_requests": self.received_requests, "answered_requests": self.answered_requests,
                                  "held": self.held})

    async def chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        content = body["messages"][-1]["content"]
        key = request_key(body)
        self.received[content] += 1
        self.received_requests[key] += 1
        self.arrivals.append(time.monotonic())
        if self.hold_after is not None and sum(self.answered.values()) >= self.hold_after:
            self.held += 1
            try:
                await self.release.wait()
            finally:
                self.held -= 1
        rule = self.rules.get(content, self.default_rule)
        active = rule.get("times") is None or self.received[content] <= rule["times"]
        delay = self.latency + (rule.get("sleep", 0) if active else 0)
        if delay:
            await asyncio.sleep(delay)
        if active and rule.get("status"):
            headers = {"Retry-After": str(rule["retry_after"])} if "retry_after" in rule else {}
            error = {"error": {"message": f"injected {rule['status']}", "type": "fake", "code": None}}
            return web.json_response(error, status=rule["status"], headers=headers)
        if active and rule.get("malformed"):
            return web.Response(text='{"choices": [ this is not json', content_type="application/json")
        if request.transport is None or request.transport.is_closing():
            return web.Response(status=499)  # the client went away while held or waiting: nothing was answered
        self.answered[content] += 1
        self.answered_requests[key] += 1
        words = sum(len(m["content"].split()) for m in body["messages"])
        text = rule.get("text", f"echo: {content}")
        finish_reason = rule.get("finish_reason", "stop")
        return web.json_response({
            "id": "chatcmpl-fake", "object": "chat.completion", "created": int(time.time()), "model": body.get("model", "fake"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish_reason}],
            "usage": {"prompt_tokens": words, "completion_tokens": len(text.split()), "total_tokens": words + len(text.split())},
        })


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--max-seconds", type=float, default=900.0, help="exit on its own after this long")
    args = parser.parse_args()
    serve(application(FakeOpenAI(args.latency)), args.port, args.max_seconds, backlog=4096)


def application(fake: FakeOpenAI) -> web.Application:
    """The chat, control and counts routes of `fake`."""
    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.router.add_post("/v1/chat/completions", fake.chat)
    app.router.add_post("/control", fake.control)
    app.router.add_get("/counts", fake.counts)
    return app


class FakeOpenAIClient:
    """Control and counts of a running fake server, from the test side (`base_url` ends in `/v1`)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.root = base_url.removesuffix("/v1")

    def control(self, **body) -> None:
        import httpx

        httpx.post(f"{self.root}/control", json=body, timeout=10).raise_for_status()

    def counts(self) -> dict:
        import httpx

        return httpx.get(f"{self.root}/counts", timeout=10).json()


def start(latency: float = 0.0, max_seconds: float = 900.0) -> tuple[subprocess.Popen, str]:
    """Start the server as a subprocess; returns (process, base URL of its `/v1`). Stop it by its PID."""
    return launch(__file__, ["--latency", str(latency), "--max-seconds", str(max_seconds)], "/counts", "fake OpenAI server", 200)


if __name__ == "__main__":
    main()
