"""Run a batch input file through the LLM layer (local model or any OpenAI-compatible URL) and write
output / error files in the Batch API's own line format, so they go through the same parser."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from synth_assets.core.fingerprint import digest
from synth_assets.llm.client import LLMClient
from synth_assets.llm.types import ChatRequest
from synth_assets.recipes.openai_batch.build import validate_input
from synth_assets.recipes.openai_batch.util import atomic_write_text

_MAPPED = {"messages", "model", "temperature", "top_p", "max_tokens", "frequency_penalty", "presence_penalty", "seed",
           "stop", "response_format", "n", "logprobs"}
_IGNORED = {"user", "metadata", "store", "stream", "service_tier", "parallel_tool_calls"}


def to_chat_request(body: dict[str, Any]) -> ChatRequest:
    """A Chat Completions request body as the LLM layer's ChatRequest (ValueError for what it cannot run)."""
    fields = dict(body)
    if "max_completion_tokens" in fields:
        fields["max_tokens"] = fields.pop("max_completion_tokens")
    if fields.get("stream"):
        raise ValueError("stream=true is not supported in batches")
    unknown = sorted(k for k in fields if k not in _MAPPED | _IGNORED)
    if unknown:
        raise ValueError(f"unsupported parameter(s): {', '.join(unknown)}")
    fields = {k: v for k, v in fields.items() if k in _MAPPED and v is not None}
    if isinstance(fields.get("stop"), str):
        fields["stop"] = [fields["stop"]]
    return ChatRequest.model_validate(fields)


def _line_id(custom_id: str, salt: str) -> str:
    return "batch_req_" + digest({"custom_id": custom_id, "salt": salt})[:24]


def error_line(custom_id: str, status_code: int, message: str, err_type: str, salt: str) -> dict[str, Any]:
    return {"id": _line_id(custom_id, salt), "custom_id": custom_id,
            "response": {"status_code": status_code, "request_id": f"local-{uuid.uuid4().hex[:16]}",
                         "body": {"error": {"message": message, "type": err_type, "param": None, "code": None}}},
            "error": None}


def run_requests(requests: list[dict[str, Any]], llm: LLMClient, *, use_cache: bool | None = None,
                 progress: bool = False, logger: Any = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]], dict[str, Any]]:
    """(output lines, error lines, usage dict) for batch input lines, in input order."""
    salt = uuid.uuid4().hex
    outputs, errors, runnable = [], [], []
    for row in requests:
        cid = row["custom_id"]
        if row.get("url") != "/v1/chat/completions":
            errors.append(error_line(cid, 400, f"local runs support /v1/chat/completions only, not {row.get('url')}", "invalid_request_error", salt))
            continue
        try:
            runnable.append((cid, to_chat_request(row.get("body") or {})))
        except (ValueError, ValidationError) as exc:
            errors.append(error_line(cid, 400, " ".join(str(exc).split()), "invalid_request_error", salt))
    usage: dict[str, Any] = {}
    if runnable:
        result = llm.chat([r for _, r in runnable], use_cache=use_cache, progress=progress, logger=logger, description="batch run-local")
        usage = result.usage.to_dict()
        grouped = result.by_request()
        for (cid, req), samples in zip(runnable, grouped):
            failed = [s for s in samples if not s.ok]
            if failed:
                message = failed[0].error or "request failed"
                code = re.search(r"\bHTTP (\d{3})\b", message)
                status = int(code.group(1)) if code else 500
                errors.append(error_line(cid, status, message, "invalid_request_error" if status < 500 else "server_error", salt))
                continue
            prompt = samples[0].prompt_tokens
            completion = sum(s.completion_tokens for s in samples)
            body = {
                "id": "chatcmpl-" + digest({"cid": cid, "salt": salt})[:24],
                "object": "chat.completion",
                "created": int(time.time()),
                "model": samples[0].model,
                "choices": [{"index": i, "message": {"role": "assistant", "content": s.text}, "finish_reason": s.finish_reason,
                             "logprobs": {"content": s.logprobs} if s.logprobs else None} for i, s in enumerate(samples)],
                "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion},
                "system_fingerprint": f"{samples[0].backend}",
            }
            outputs.append({"id": _line_id(cid, salt), "custom_id": cid,
                            "response": {"status_code": 200, "request_id": f"local-{uuid.uuid4().hex[:16]}", "body": body},
                            "error": None})
    return outputs, errors, usage


def dumps_lines(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)


def run_file(input_path: str | Path, out: str | Path, errors_path: str | Path | None, llm: LLMClient, *,
             use_cache: bool | None = None, progress: bool = False) -> dict[str, Any]:
    """`run-local`: validate the input like an upload would, run it, write output (and error) files."""
    checked = validate_input(input_path)
    outputs, errors, usage = run_requests(checked.requests, llm, use_cache=use_cache, progress=progress)
    atomic_write_text(Path(out), dumps_lines(outputs))
    errors_path = Path(errors_path) if errors_path else Path(out).with_name(Path(out).stem + "_errors.jsonl")
    atomic_write_text(errors_path, dumps_lines(errors))
    return {"requests": len(checked.requests), "completed": len(outputs), "failed": len(errors), "output": str(out),
            "errors": str(errors_path), "usage": usage}
