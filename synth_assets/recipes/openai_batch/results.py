"""The one parser of Batch API output and error files, for the API's files and `run-local`'s alike.

A line is `{"id", "custom_id", "response": {"status_code", "request_id", "body"} | null, "error": {"code", "message"} | null}`.
It is *ok* when `error` is null and the status code is 200. Lines whose error code says the request
never ran (`batch_expired`, `batch_cancelled`) are *missing*, not failed: they are resubmitted without
counting as an attempt. A line that does not parse is reported by number; the other lines are kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

NOT_RUN_CODES = {"batch_expired", "batch_cancelled", "batch_canceled"}


class ResultParseError(ValueError):
    def __init__(self, source: str, line_no: int, message: str):
        self.source, self.line_no = source, line_no
        super().__init__(f"{source}:{line_no}: {message}")


@dataclass(frozen=True)
class ResultLine:
    custom_id: str
    status: str  # ok | failed | missing
    status_code: int | None
    body: dict[str, Any] | None
    error: dict[str, Any] | None
    raw: dict[str, Any]
    line_no: int

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def texts(self) -> list[str | None]:
        choices = (self.body or {}).get("choices") or []
        out = []
        for c in choices:
            if "message" in c:
                out.append((c.get("message") or {}).get("content"))
            else:
                out.append(c.get("text"))
        return out

    @property
    def text(self) -> str | None:
        texts = self.texts
        return texts[0] if texts else None

    @property
    def finish_reason(self) -> str | None:
        choices = (self.body or {}).get("choices") or []
        return choices[0].get("finish_reason") if choices else None

    @property
    def usage(self) -> dict[str, int]:
        usage = (self.body or {}).get("usage") or {}
        return {"prompt_tokens": int(usage.get("prompt_tokens") or 0), "completion_tokens": int(usage.get("completion_tokens") or 0)}

    @property
    def model(self) -> str | None:
        return (self.body or {}).get("model")

    @property
    def error_message(self) -> str:
        if self.error:
            return f"{self.error.get('code') or 'error'}: {self.error.get('message') or ''}".strip()
        err = (self.body or {}).get("error") if isinstance(self.body, dict) else None
        if isinstance(err, dict):
            return f"HTTP {self.status_code}: {err.get('message') or err.get('type') or err}"
        return f"HTTP {self.status_code}" if self.status_code not in (None, 200) else ""


def parse_result_line(text: str, line_no: int = 0, source: str = "<results>") -> ResultLine:
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResultParseError(source, line_no, f"not valid JSON ({exc.msg})") from None
    if not isinstance(raw, dict):
        raise ResultParseError(source, line_no, "expected a JSON object")
    cid = raw.get("custom_id")
    if not isinstance(cid, str) or not cid:
        raise ResultParseError(source, line_no, "missing custom_id")
    response, error = raw.get("response"), raw.get("error")
    if response is not None and not isinstance(response, dict):
        raise ResultParseError(source, line_no, "'response' must be an object or null")
    if error is not None and not isinstance(error, dict):
        raise ResultParseError(source, line_no, "'error' must be an object or null")
    if response is None and error is None:
        raise ResultParseError(source, line_no, "neither 'response' nor 'error'")
    code = response.get("status_code") if response else None
    body = response.get("body") if response else None
    if body is not None and not isinstance(body, dict):
        raise ResultParseError(source, line_no, "'response.body' must be an object")
    if error is None and code == 200:
        if not isinstance(body, dict) or not isinstance(body.get("choices", []), list):
            raise ResultParseError(source, line_no, "status 200 without a response body")
        status = "ok"
    elif error is not None and error.get("code") in NOT_RUN_CODES:
        status = "missing"
    else:
        status = "failed"
    return ResultLine(cid, status, code, body, error, raw, line_no)


def parse_results(data: bytes | str, source: str = "<results>") -> tuple[list[ResultLine], list[ResultParseError]]:
    """Every parseable line of an output / error file, and the errors of those that do not parse."""
    text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
    lines, errors = [], []
    for line_no, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            lines.append(parse_result_line(line, line_no, source))
        except ResultParseError as exc:
            errors.append(exc)
    return lines, errors
