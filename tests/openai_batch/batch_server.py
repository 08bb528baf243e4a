"""An OpenAI-Batch-compatible test server (aiohttp), for the official `openai` client.

Run: `python tests/openai_batch/batch_server.py --port P [--step 0.2] [--max-seconds 300]`.

Endpoints (the API's shapes): POST /v1/files (multipart: file, purpose), GET /v1/files (list),
GET /v1/files/{id}, GET /v1/files/{id}/content, POST /v1/batches, GET /v1/batches/{id},
GET /v1/batches (list: data, first_id, last_id, has_more; `after`, `limit`), POST /v1/batches/{id}/cancel.

Status: validating -> in_progress -> finalizing -> terminal, one step every `step` seconds (time driven,
when `auto`), or moved by `POST /control {"advance": {"batch_id": ID, "to": STATUS}}`. What a batch does
at its end is its plan (`default_plan`, or the next of `next_plans`):
  {"mode": "complete" | "expire" | "fail", "fraction": 0.7 (share done before expiry / cancel),
   "fail_ids": [custom_id, ...] (answered with HTTP 500 lines in the error file), "malformed": n (corrupt the
   first n output lines)}.
`POST /control` also takes: reset, auto, step, hold_uploads_after (uploads after the n-th wait until it is
set to null). `GET /control/state`: counters, files and batches (with their custom_ids).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import time
import uuid

from aiohttp import web

from synth_assets.testing.launch import launch, serve

ORDER = ("validating", "in_progress", "finalizing")
TERMINAL = ("completed", "expired", "cancelled", "failed")


def _err(status: int, message: str, code: str | None = None) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "invalid_request_error", "param": None, "code": code}},
                             status=status)


class BatchServer:
    def __init__(self, step: float):
        self.step = step
        self.reset()

    def reset(self) -> None:
        self.files: dict[str, dict] = {}
        self.data: dict[str, bytes] = {}
        self.batches: dict[str, dict] = {}
        self.plans: dict[str, dict] = {}
        self.lines: dict[str, list[dict]] = {}
        self.started: dict[str, float] = {}
        self.counts = {"uploads": 0, "batch_creates": 0, "cancels": 0, "content_gets": 0, "retrieves": 0, "lists": 0}
        self.auto = True
        self.default_plan = {"mode": "complete"}
        self.next_plans: list[dict] = []
        self.hold_uploads_after: int | None = None
        self.release = asyncio.Event()
        self.fail_counts: dict[str, int] = {}

    # ------------------------------------------------------------ helpers

    @staticmethod
    def _auth(request: web.Request) -> web.Response | None:
        if not request.headers.get("Authorization", "").startswith("Bearer ") or len(request.headers["Authorization"]) < 10:
            return _err(401, "missing API key", "invalid_api_key")
        return None

    def _new_file(self, data: bytes, filename: str, purpose: str) -> dict:
        fid = f"file-{uuid.uuid4().hex[:24]}"
        self.files[fid] = {"id": fid, "object": "file", "bytes": len(data), "created_at": int(time.time()),
                           "filename": filename, "purpose": purpose, "status": "processed", "expires_at": None,
                           "status_details": None}
        self.data[fid] = data
        return self.files[fid]

    def _tick(self, bid: str) -> dict:
        """Advance a batch by time (when auto) and finalize it when it reaches its end."""
        b = self.batches[bid]
        if b["status"] in TERMINAL or not self.auto:
            return b
        steps = int((time.monotonic() - self.started[bid]) / self.step) if self.step > 0 else 99
        if b["status"] == "cancelling":
            if steps >= 1:
                self._finish(bid, "cancelled")
            return b
        if steps < len(ORDER):
            self._set(b, ORDER[max(steps, ORDER.index(b["status"]))])
            return b
        mode = self.plans[bid].get("mode", "complete")
        self._finish(bid, {"complete": "completed", "expire": "expired", "fail": "failed"}[mode])
        return b

    @staticmethod
    def _set(b: dict, status: str) -> None:
        if b["status"] != status:
            b["status"] = status
            b[f"{status}_at"] = int(time.time())

    def _finish(self, bid: str, status: str) -> None:
        b, plan, lines = self.batches[bid], self.plans[bid], self.lines[bid]
        if status == "failed":
            b["errors"] = {"object": "list", "data": [{"code": "invalid_request", "message": "injected batch failure", "param": None, "line": None}]}
            b["request_counts"] = {"total": len(lines), "completed": 0, "failed": 0}
            self._set(b, "failed")
            return
        done = len(lines) if status == "completed" else int(round(len(lines) * float(plan.get("fraction", 0.5))))
        outputs, errors = [], []
        for i, line in enumerate(lines):
            cid = line["custom_id"]
            if i >= done:
                code = "batch_expired" if status == "expired" else "batch_cancelled"
                errors.append({"id": f"batch_req_{uuid.uuid4().hex[:20]}", "custom_id": cid, "response": None,
                               "error": {"code": code, "message": f"This request could not be executed before the batch was {status}."}})
                continue
            if cid in plan.get("fail_ids", []):
                self.fail_counts[cid] = self.fail_counts.get(cid, 0) + 1
                errors.append({"id": f"batch_req_{uuid.uuid4().hex[:20]}", "custom_id": cid,
                               "response": {"status_code": 500, "request_id": uuid.uuid4().hex,
                                            "body": {"error": {"message": "injected server error", "type": "server_error", "param": None, "code": None}}},
                               "error": None})
                continue
            body = line["body"]
            words = sum(len(str(m.get("content", "")).split()) for m in body.get("messages", []))
            text = f"answer to {cid}"
            outputs.append({"id": f"batch_req_{uuid.uuid4().hex[:20]}", "custom_id": cid,
                            "response": {"status_code": 200, "request_id": uuid.uuid4().hex,
                                         "body": {"id": f"chatcmpl-{uuid.uuid4().hex[:20]}", "object": "chat.completion",
                                                  "created": int(time.time()), "model": body.get("model"),
                                                  "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                                                               "logprobs": None, "finish_reason": "stop"}],
                                                  "usage": {"prompt_tokens": words, "completion_tokens": 3, "total_tokens": words + 3}}},
                            "error": None})
        texts = [json.dumps(o) for o in outputs]
        for i in range(min(int(plan.get("malformed", 0)), len(texts))):
            texts[i] = texts[i][: len(texts[i]) // 2]  # truncated JSON
        if texts:
            b["output_file_id"] = self._new_file(("\n".join(texts) + "\n").encode(), f"{bid}_output.jsonl", "batch_output")["id"]
        if errors:
            b["error_file_id"] = self._new_file("".join(json.dumps(e) + "\n" for e in errors).encode(), f"{bid}_error.jsonl", "batch_output")["id"]
        failed = sum(1 for e in errors if e["error"] is None)
        b["request_counts"] = {"total": len(lines), "completed": len(outputs), "failed": failed}
        if status == "completed":
            self._set(b, "finalizing")
        self._set(b, status)

    # ------------------------------------------------------------ files

    async def upload(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        if self.hold_uploads_after is not None and self.counts["uploads"] >= self.hold_uploads_after:
            await self.release.wait()
        reader = await request.multipart()
        data, filename, purpose = None, "upload.jsonl", None
        async for part in reader:
            if part.name == "file":
                filename = part.filename or filename
                data = await part.read()
            elif part.name == "purpose":
                purpose = (await part.text()).strip()
        if data is None or purpose is None:
            return _err(400, "'file' and 'purpose' are required")
        if purpose != "batch":
            return _err(400, f"purpose {purpose!r} not supported here")
        self.counts["uploads"] += 1
        return web.json_response(self._new_file(bytes(data), filename, purpose))

    async def list_files(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        purpose = request.query.get("purpose")
        items = [f for f in self.files.values() if purpose is None or f["purpose"] == purpose]
        items.sort(key=lambda f: f["created_at"], reverse=request.query.get("order", "desc") == "desc")
        return self._page(request, items)

    async def get_file(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        f = self.files.get(request.match_info["id"])
        return web.json_response(f) if f else _err(404, f"No such File object: {request.match_info['id']}")

    async def file_content(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        fid = request.match_info["id"]
        if fid not in self.data:
            return _err(404, f"No such File object: {fid}")
        self.counts["content_gets"] += 1
        return web.Response(body=self.data[fid], content_type="application/octet-stream")

    # ------------------------------------------------------------ batches

    async def create(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        body = await request.json()
        fid, endpoint = body.get("input_file_id"), body.get("endpoint")
        if body.get("completion_window") != "24h":
            return _err(400, "completion_window must be 24h")
        if endpoint not in ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses"):
            return _err(400, f"unsupported endpoint {endpoint}")
        if fid not in self.files:
            return _err(400, f"No such File object: {fid}")
        metadata = body.get("metadata") or {}
        if len(metadata) > 16 or any(len(k) > 64 or len(str(v)) > 512 for k, v in metadata.items()):
            return _err(400, "metadata: at most 16 pairs, keys <= 64 and values <= 512 characters")
        now = int(time.time())
        bid = f"batch_{uuid.uuid4().hex[:24]}"
        self.counts["batch_creates"] += 1
        plan = self.next_plans.pop(0) if self.next_plans else dict(self.default_plan)
        lines, problems, seen = [], [], set()
        for n, text in enumerate(self.data[fid].decode().splitlines(), 1):
            if not text.strip():
                continue
            try:
                line = json.loads(text)
            except json.JSONDecodeError:
                problems.append({"code": "invalid_json_line", "message": "invalid JSON", "param": None, "line": n})
                continue
            if line.get("custom_id") in seen:
                problems.append({"code": "duplicate_custom_id", "message": f"duplicate custom_id {line.get('custom_id')}", "param": None, "line": n})
            if line.get("url") != endpoint:
                problems.append({"code": "mismatched_endpoint", "message": "url does not match the batch endpoint", "param": None, "line": n})
            seen.add(line.get("custom_id"))
            lines.append(line)
        b = {"id": bid, "object": "batch", "endpoint": endpoint, "errors": None, "input_file_id": fid,
             "completion_window": "24h", "status": "validating", "output_file_id": None, "error_file_id": None,
             "created_at": now, "in_progress_at": None, "expires_at": now + 86400, "finalizing_at": None,
             "completed_at": None, "failed_at": None, "expired_at": None, "cancelling_at": None, "cancelled_at": None,
             "request_counts": {"total": len(lines), "completed": 0, "failed": 0}, "metadata": metadata or None,
             "model": (lines[0].get("body") or {}).get("model") if lines else None}
        self.batches[bid], self.plans[bid], self.lines[bid] = b, plan, lines
        self.started[bid] = time.monotonic()
        if problems:
            b["errors"] = {"object": "list", "data": problems}
            self._set(b, "failed")
        return web.json_response(b)

    async def get_batch(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        bid = request.match_info["id"]
        if bid not in self.batches:
            return _err(404, f"No batch found with id '{bid}'.")
        self.counts["retrieves"] += 1
        return web.json_response(self._tick(bid))

    async def list_batches(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        self.counts["lists"] += 1
        items = [self._tick(bid) for bid in reversed(list(self.batches))]  # newest first
        return self._page(request, items)

    @staticmethod
    def _page(request: web.Request, items: list[dict]) -> web.Response:
        limit = min(int(request.query.get("limit", 20)), 100)
        after = request.query.get("after")
        if after:
            ids = [i["id"] for i in items]
            items = items[ids.index(after) + 1:] if after in ids else []
        page = items[:limit]
        return web.json_response({"object": "list", "data": page, "first_id": page[0]["id"] if page else None,
                                  "last_id": page[-1]["id"] if page else None, "has_more": len(items) > limit})

    async def cancel(self, request: web.Request) -> web.Response:
        if (denied := self._auth(request)) is not None:
            return denied
        bid = request.match_info["id"]
        if bid not in self.batches:
            return _err(404, f"No batch found with id '{bid}'.")
        b = self._tick(bid)
        if b["status"] in TERMINAL:
            return _err(400, f"Cannot cancel a batch with status {b['status']}.")
        self.counts["cancels"] += 1
        self._set(b, "cancelling")
        self.started[bid] = time.monotonic()
        if not self.auto:
            self._finish(bid, "cancelled")
        return web.json_response(b)

    # ------------------------------------------------------------ control

    async def control(self, request: web.Request) -> web.Response:
        body = await request.json()
        if body.get("reset"):
            self.release.set()
            self.reset()
        for key in ("auto", "step", "default_plan", "next_plans"):
            if key in body:
                setattr(self, key, body[key])
        if "hold_uploads_after" in body:
            self.hold_uploads_after = body["hold_uploads_after"]
            if self.hold_uploads_after is None:
                self.release.set()
                self.release = asyncio.Event()
        if "advance" in body:
            bid, to = body["advance"]["batch_id"], body["advance"]["to"]
            if bid not in self.batches:
                return _err(404, f"no batch {bid}")
            if to in ORDER or to == "cancelling":
                self._set(self.batches[bid], to)
            else:
                self._finish(bid, to)
        return web.json_response({"ok": True})

    async def state(self, _: web.Request) -> web.Response:
        return web.json_response({"counts": self.counts, "files": list(self.files.values()),
                                  "batches": list(self.batches.values()),
                                  "custom_ids": {bid: [line["custom_id"] for line in lines] for bid, lines in self.lines.items()},
                                  "input_sha": {fid: __import__("hashlib").sha256(d).hexdigest() for fid, d in self.data.items()},
                                  "fail_counts": self.fail_counts})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--step", type=float, default=0.2)
    parser.add_argument("--max-seconds", type=float, default=300.0, help="exit on its own after this long")
    args = parser.parse_args()
    server = BatchServer(args.step)
    app = web.Application(client_max_size=256 * 1024 * 1024)
    app.router.add_post("/v1/files", server.upload)
    app.router.add_get("/v1/files", server.list_files)
    app.router.add_get("/v1/files/{id}", server.get_file)
    app.router.add_get("/v1/files/{id}/content", server.file_content)
    app.router.add_post("/v1/batches", server.create)
    app.router.add_get("/v1/batches", server.list_batches)
    app.router.add_get("/v1/batches/{id}", server.get_batch)
    app.router.add_post("/v1/batches/{id}/cancel", server.cancel)
    app.router.add_post("/control", server.control)
    app.router.add_get("/control/state", server.state)
    serve(app, args.port, args.max_seconds)


def start(step: float = 0.2, max_seconds: float = 300.0) -> tuple[subprocess.Popen, str]:
    """Start the server as a subprocess; return (process, base URL of its /v1). Stop it by its PID."""
    return launch(__file__, ["--step", str(step), "--max-seconds", str(max_seconds)], "/control/state", "batch test server")


if __name__ == "__main__":
    main()
