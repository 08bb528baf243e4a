"""Reviewed slices -> OpenAI Batch API input files, and the checks every input file passes before upload.

A batch input line is `{"custom_id", "method": "POST", "url": "/v1/chat/completions", "body": {...}}`.
`custom_id` is `req-` + the first 32 hex digits of the sha256 of the canonical request (method, url,
body), so the same request always has the same id. Next to the input files, `meta.jsonl` maps every
custom_id to its slice (scenario, kind, name, path, code) for compiling the results.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from synth_assets.recipes.openai_batch.errors import InputError
from synth_assets.core.fingerprint import digest
from synth_assets.recipes.openai_batch.util import atomic_write_text

DEFAULT_TEMPLATES = Path(__file__).with_name("templates.yaml")
ENDPOINT = "/v1/chat/completions"
ENDPOINTS = ("/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/v1/responses", "/v1/moderations")
MAX_REQUESTS_PER_FILE = 50_000
MAX_BYTES_PER_FILE = 200 * 1024 * 1024
KINDS = {"function": "scenario1", "class": "scenario2"}
REJECTED = {"rejected", "reject", "skip", "excluded", "no", "false"}
_PLACEHOLDER = re.compile(r"\{(name|qualname|path|kind|code|docstring)\}")


# ---------------------------------------------------------------- templates


@dataclass(frozen=True)
class Templates:
    model: str
    endpoint: str
    params: dict[str, Any]
    caps: dict[str, int | None]
    scenarios: dict[str, dict[str, str]]  # scenario -> {kind, system, user}
    source: str = ""

    def scenario_for(self, kind: str) -> str:
        for name, spec in self.scenarios.items():
            if spec.get("kind") == kind:
                return name
        raise KeyError(kind)

    def as_dict(self) -> dict[str, Any]:
        return {"model": self.model, "endpoint": self.endpoint, "params": self.params, "caps": self.caps, "scenarios": self.scenarios}


def load_templates(path: str | Path | None = None) -> Templates:
    """Parse a templates YAML (default: the packaged `templates.yaml`)."""
    path = Path(path or DEFAULT_TEMPLATES)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(str(path), [f"cannot read templates: {exc}"]) from None
    problems = []
    scenarios = raw.get("scenarios") or {}
    kinds = {}
    for name, spec in scenarios.items():
        if not isinstance(spec, dict) or not spec.get("user") or spec.get("kind") not in KINDS:
            problems.append(f"scenarios.{name}: needs 'kind' (function|class) and a 'user' template")
        elif spec["kind"] in kinds:
            problems.append(f"scenarios.{name}: kind {spec['kind']!r} is already handled by {kinds[spec['kind']]}")
        else:
            kinds[spec["kind"]] = name
    if not scenarios:
        problems.append("no scenarios defined")
    endpoint = raw.get("endpoint", ENDPOINT)
    if endpoint not in ENDPOINTS:
        problems.append(f"endpoint {endpoint!r} is not one of {', '.join(ENDPOINTS)}")
    if problems:
        raise InputError(str(path), problems)
    caps = {"max_scenario1": None, "max_scenario2": None, **(raw.get("caps") or {})}
    return Templates(model=str(raw.get("model") or "gpt-4o-mini"), endpoint=endpoint, params=dict(raw.get("params") or {}),
                     caps=caps, scenarios=scenarios, source=str(path))


def render(template: str, fields: dict[str, Any]) -> str:
    """Replace the known `{placeholder}`s only; code full of braces stays intact."""
    return _PLACEHOLDER.sub(lambda m: str(fields.get(m.group(1), "")), template)


def json_objects(lines: list[str], problems: list[str]) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) of every JSON-object line; the others go to `problems`, named by line."""
    for line_no, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {line_no}: not valid JSON ({exc.msg})")
            continue
        if not isinstance(row, dict):
            problems.append(f"line {line_no}: expected a JSON object, got {type(row).__name__}")
            continue
        yield line_no, row


# ---------------------------------------------------------------- slices


def read_slices(path: str | Path) -> list[dict[str, Any]]:
    """Reviewed slices of a JSONL file; every bad line is reported (by line number) at once."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), ["file not found"])
    rows, problems = [], []
    for line_no, row in json_objects(path.read_text(encoding="utf-8").splitlines(), problems):
        missing = [k for k in ("kind", "code", "path", "name") if not row.get(k)]
        if missing:
            problems.append(f"line {line_no}: missing {', '.join(repr(m) for m in missing)}")
        elif row["kind"] not in KINDS:
            problems.append(f"line {line_no}: unknown kind {row['kind']!r} (expected function or class)")
        elif not isinstance(row["code"], str):
            problems.append(f"line {line_no}: 'code' must be a string")
        row["_line"] = line_no
        rows.append(row)
    if problems:
        raise InputError(str(path), problems)
    if not rows:
        raise InputError(str(path), ["no slices: the file is empty"])
    return rows


def review_status(row: dict[str, Any]) -> str:
    review = row.get("review")
    status = review.get("status") if isinstance(review, dict) else review if isinstance(review, str) else row.get("review_status")
    if isinstance(review, dict) and review.get("approved") is False:
        return "rejected"
    return str(status or "auto").lower()


@dataclass
class BuildResult:
    requests: list[dict[str, Any]]  # batch input lines
    meta: list[dict[str, Any]]  # custom_id -> slice fields
    rejected: int = 0
    capped: dict[str, int] = field(default_factory=dict)
    duplicates: int = 0


def build_requests(slices: list[dict[str, Any]], templates: Templates, *, model: str | None = None,
                   max_scenario1: int | None = None, max_scenario2: int | None = None) -> BuildResult:
    """Requests for reviewed slices: function -> scenario 1, class -> scenario 2, capped per scenario.

    Identical requests (the same slice twice) are sent once; `duplicates` counts them.
    """
    model = model or templates.model
    caps = {"scenario1": max_scenario1 if max_scenario1 is not None else templates.caps.get("max_scenario1"),
            "scenario2": max_scenario2 if max_scenario2 is not None else templates.caps.get("max_scenario2")}
    result, taken, seen = BuildResult([], []), {"scenario1": 0, "scenario2": 0}, set()
    for row in slices:
        if review_status(row) in REJECTED:
            result.rejected += 1
            continue
        scenario = templates.scenario_for(row["kind"])
        cap_key = KINDS[row["kind"]]
        cap = caps.get(cap_key)
        if cap is not None and taken[cap_key] >= int(cap):
            result.capped[cap_key] = result.capped.get(cap_key, 0) + 1
            continue
        spec = templates.scenarios[scenario]
        fields = {"name": row["name"], "qualname": row.get("qualname") or row["name"], "path": row["path"],
                  "kind": row["kind"], "code": row["code"].rstrip("\n"), "docstring": row.get("docstring", "")}
        messages = []
        if spec.get("system"):
            messages.append({"role": "system", "content": render(spec["system"], fields).strip()})
        messages.append({"role": "user", "content": render(spec["user"], fields).strip()})
        body = {"model": model, "messages": messages, **templates.params}
        request = {"method": "POST", "url": templates.endpoint, "body": body}
        custom_id = request_id(request)
        if custom_id in seen:
            result.duplicates += 1
            continue
        seen.add(custom_id)
        taken[cap_key] += 1
        result.requests.append({"custom_id": custom_id, **request})
        result.meta.append({"custom_id": custom_id, "scenario": scenario, "kind": row["kind"], "name": row["name"],
                            "qualname": fields["qualname"], "path": row["path"], "code": row["code"],
                            "slice_id": row.get("id"), "review": row.get("review")})
    return result


def request_id(request: dict[str, Any]) -> str:
    """Deterministic custom_id: hash of the canonical request (method, url, body)."""
    return "req-" + digest({"method": request.get("method"), "url": request.get("url"), "body": request.get("body")})[:32]


# ---------------------------------------------------------------- files


def encode_lines(requests: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in requests).encode("utf-8")


def split_requests(requests: list[dict[str, Any]], *, max_requests: int = MAX_REQUESTS_PER_FILE,
                   max_bytes: int = MAX_BYTES_PER_FILE) -> list[list[dict[str, Any]]]:
    """Chunks within the Batch API's per-file limits (requests and bytes), in order."""
    chunks, current, size = [], [], 0
    for r in requests:
        line = len(json.dumps(r, ensure_ascii=False, sort_keys=True).encode("utf-8")) + 1
        if line > max_bytes:
            raise InputError("requests", [f"request {r.get('custom_id')} alone is {line} bytes, over the {max_bytes} byte file limit"])
        if current and (len(current) >= max_requests or size + line > max_bytes):
            chunks.append(current)
            current, size = [], 0
        current.append(r)
        size += line
    if current:
        chunks.append(current)
    return chunks


def write_batch_files(result: BuildResult, out_dir: str | Path, *, prefix: str = "batch_input",
                      max_requests: int = MAX_REQUESTS_PER_FILE, max_bytes: int = MAX_BYTES_PER_FILE) -> list[Path]:
    """Write `{prefix}_0001.jsonl`, ... and `meta.jsonl` under out_dir; return the input file paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(f"{prefix}_*.jsonl"):
        stale.unlink()
    paths = []
    for i, chunk in enumerate(split_requests(result.requests, max_requests=max_requests, max_bytes=max_bytes), 1):
        path = out / f"{prefix}_{i:04d}.jsonl"
        atomic_write_text(path, encode_lines(chunk).decode("utf-8"))
        paths.append(path)
    atomic_write_text(out / "meta.jsonl", "".join(json.dumps(m, ensure_ascii=False) + "\n" for m in result.meta))
    return paths


@dataclass(frozen=True)
class InputFile:
    """A validated batch input file."""

    path: str
    data: bytes
    requests: list[dict[str, Any]]
    endpoint: str
    model: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def custom_ids(self) -> list[str]:
        return [r["custom_id"] for r in self.requests]


def validate_input(path: str | Path | None = None, data: bytes | None = None, *,
                   max_requests: int = MAX_REQUESTS_PER_FILE, max_bytes: int = MAX_BYTES_PER_FILE) -> InputFile:
    """Check a batch input file before upload: JSON lines, unique custom_ids (both lines named),
    one endpoint and one model, the per-file limits. Raises InputError listing every problem."""
    source = str(path or "<input>")
    if data is None:
        if path is None or not Path(path).is_file():
            raise InputError(source, ["file not found"])
        data = Path(path).read_bytes()
    problems: list[str] = []
    requests: list[dict[str, Any]] = []
    first_line: dict[str, int] = {}
    endpoints: dict[str, int] = {}
    models: dict[str, int] = {}
    if len(data) > max_bytes:
        problems.append(f"file is {len(data)} bytes, over the Batch API limit of {max_bytes} (split it with `build`)")
    for line_no, row in json_objects(data.decode("utf-8", errors="replace").splitlines(), problems):
        cid, body = row.get("custom_id"), row.get("body")
        if not isinstance(cid, str) or not cid:
            problems.append(f"line {line_no}: missing custom_id")
        elif cid in first_line:
            problems.append(f"line {line_no}: duplicate custom_id {cid!r} (first used on line {first_line[cid]})")
        else:
            first_line[cid] = line_no
        if row.get("method", "POST") != "POST":
            problems.append(f"line {line_no}: method must be POST")
        url = row.get("url")
        if url not in ENDPOINTS:
            problems.append(f"line {line_no}: url {url!r} is not a Batch API endpoint ({', '.join(ENDPOINTS)})")
        else:
            endpoints.setdefault(url, line_no)
        if not isinstance(body, dict) or not body.get("model"):
            problems.append(f"line {line_no}: body needs a model")
        else:
            models.setdefault(body["model"], line_no)
            if url == ENDPOINT and not body.get("messages"):
                problems.append(f"line {line_no}: body needs messages")
        requests.append(row)
    if len(endpoints) > 1:
        problems.append(f"one file must use one endpoint, found {', '.join(f'{u} (line {n})' for u, n in endpoints.items())}")
    if len(models) > 1:
        problems.append(f"one file must use one model, found {', '.join(f'{m} (line {n})' for m, n in models.items())}")
    if not requests and not problems:
        problems.append("no requests: the file is empty")
    if len(requests) > max_requests:
        problems.append(f"{len(requests)} requests, over the Batch API limit of {max_requests} per file (split it with `build`)")
    if problems:
        raise InputError(source, problems)
    return InputFile(source, data, requests, next(iter(endpoints)), next(iter(models)))


def read_meta(path: str | Path | None) -> dict[str, dict[str, Any]]:
    """custom_id -> slice fields of a `meta.jsonl` (empty when there is none)."""
    if path is None or not Path(path).is_file():
        return {}
    out = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if line.strip():
                row = json.loads(line)
                out[row["custom_id"]] = row
    return out
