"""The few Batch API calls the pipeline makes, behind one interface with two implementations:

* `OpenAIBatchClient`: the official `openai` SDK (any base URL; the key comes from OPENAI_API_KEY or an
  old `config.json` with `api_key`, read at call time and never written anywhere);
* `LocalBatchClient`: the same calls served on this machine -- uploads and batches are files under
  `{root}/.synth/batch_api/local/`, and creating a batch runs it through the LLM layer at once.

Every method returns plain dicts shaped like the API's objects.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path
from typing import Any, Iterator, Protocol

from synth_assets.core.processes import alive
from synth_assets.recipes.openai_batch.build import validate_input
from synth_assets.recipes.openai_batch.errors import BatchAPIError
from synth_assets.recipes.openai_batch.util import atomic_write_text

TERMINAL = ("completed", "expired", "cancelled", "failed")
OPEN = ("validating", "in_progress", "finalizing", "cancelling")
STATUSES = OPEN[:3] + ("completed", "expired", "cancelling", "cancelled", "failed")


class BatchClient(Protocol):
    kind: str

    def upload(self, filename: str, data: bytes) -> dict[str, Any]: ...
    def file(self, file_id: str) -> dict[str, Any] | None: ...
    def find_file(self, filename: str, size: int) -> dict[str, Any] | None: ...
    def create(self, file_id: str, endpoint: str, metadata: dict[str, str]) -> dict[str, Any]: ...
    def retrieve(self, batch_id: str) -> dict[str, Any]: ...
    def find_batch(self, key: str, value: str) -> dict[str, Any] | None: ...
    def cancel(self, batch_id: str) -> dict[str, Any]: ...
    def content(self, file_id: str) -> bytes: ...


def resolve_api_key(config_json: str | Path | None = None) -> str:
    """OPENAI_API_KEY, else `api_key` of an old `config.json`; never stored, logged or copied."""
    key = os.environ.get("OPENAI_API_KEY")
    if key:
        return key
    if config_json:
        try:
            data = json.loads(Path(config_json).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise BatchAPIError(f"cannot read {config_json}: {type(exc).__name__}") from None
        key = data.get("api_key") if isinstance(data, dict) else None
        if not key:
            raise BatchAPIError(f"{config_json} has no 'api_key'")
        return key
    raise BatchAPIError("no API key: set OPENAI_API_KEY (or pass --config-json PATH to a config.json with api_key), "
                        "or use the local backend (--backend local)")


def _dump(obj: Any) -> dict[str, Any]:
    return obj.model_dump() if hasattr(obj, "model_dump") else dict(obj)


class _FindBatch:
    def find_batch(self, key: str, value: str) -> dict[str, Any] | None:
        """The batch whose metadata has `key` = `value` (how a restart finds what it created)."""
        for b in self.batches():
            if (b.get("metadata") or {}).get(key) == value:
                return b
        return None


class OpenAIBatchClient(_FindBatch):
    """The official SDK; `base_url` defaults to OPENAI_BASE_URL or api.openai.com."""

    kind = "openai"

    def __init__(self, base_url: str | None = None, config_json: str | Path | None = None, timeout_s: float = 120.0,
                 max_retries: int = 3):
        import openai

        self._openai = openai
        self.base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
        self._sdk = openai.OpenAI(api_key=resolve_api_key(config_json), base_url=self.base_url, timeout=timeout_s,
                                  max_retries=max_retries)
        self.max_retries = max_retries

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except self._openai.NotFoundError:
            raise BatchAPIError(f"{what}: not found on {self.base_url or 'api.openai.com'}") from None
        except self._openai.AuthenticationError:
            raise BatchAPIError(f"{what}: the API key was refused (401)") from None
        except self._openai.APIStatusError as exc:
            raise BatchAPIError(f"{what}: HTTP {exc.status_code}: {exc.message}") from None
        except self._openai.APIConnectionError as exc:  # timeouts included
            raise BatchAPIError(f"{what}: cannot reach {self.base_url or 'api.openai.com'}: {exc}") from None

    def upload(self, filename: str, data: bytes) -> dict[str, Any]:
        return _dump(self._call("upload", self._sdk.files.create, file=(filename, data, "application/jsonl"), purpose="batch"))

    def file(self, file_id: str) -> dict[str, Any] | None:
        try:
            return _dump(self._sdk.files.retrieve(file_id))
        except self._openai.NotFoundError:
            return None

    def find_file(self, filename: str, size: int) -> dict[str, Any] | None:
        for f in self._call("list files", self._sdk.files.list, purpose="batch"):
            if f.filename == filename and int(f.bytes or 0) == size and f.status != "error":
                return _dump(f)
        return None

    def create(self, file_id: str, endpoint: str, metadata: dict[str, str]) -> dict[str, Any]:
        """Create a batch without blind retries: a POST that timed out may have created it (and be billed),
        so before each new attempt look for a batch carrying our job key."""
        once = self._sdk.with_options(max_retries=0).batches.create
        attempt = 0
        while True:
            try:
                return _dump(once(input_file_id=file_id, endpoint=endpoint, completion_window="24h", metadata=metadata))
            except (self._openai.APIConnectionError, self._openai.InternalServerError, self._openai.RateLimitError):
                if attempt == self.max_retries:
                    raise BatchAPIError(f"create batch: failed {attempt + 1} times on {self.base_url or 'api.openai.com'}") from None
            except self._openai.APIStatusError as exc:
                raise BatchAPIError(f"create batch: HTTP {exc.status_code}: {exc.message}") from None
            time.sleep(min(2 ** attempt, 30))
            attempt += 1
            key = metadata.get("synth_job_key")
            found = self.find_batch("synth_job_key", key) if key else None
            if found is not None:
                return found

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        return _dump(self._call(f"batch {batch_id}", self._sdk.batches.retrieve, batch_id))

    def batches(self) -> Iterator[dict[str, Any]]:
        for b in self._call("list batches", self._sdk.batches.list, limit=100):
            yield _dump(b)

    def cancel(self, batch_id: str) -> dict[str, Any]:
        return _dump(self._call(f"cancel {batch_id}", self._sdk.batches.cancel, batch_id))

    def content(self, file_id: str) -> bytes:
        return self._call(f"file {file_id}", self._sdk.files.content, file_id).content


class LocalBatchClient(_FindBatch):
    """Batch API calls answered on this machine through the LLM layer (no key, no network)."""

    kind = "local"

    def __init__(self, folder: str | Path, llm: Any = None):
        self.folder = Path(folder)
        self.llm = llm

    def _files(self) -> Path:
        return self.folder / "files"

    def _batches(self) -> Path:
        return self.folder / "batches"

    def _put_file(self, filename: str, data: bytes, purpose: str) -> dict[str, Any]:
        fid = f"file-local-{uuid.uuid4().hex[:20]}"
        self._files().mkdir(parents=True, exist_ok=True)
        (self._files() / f"{fid}.data").write_bytes(data)
        meta = {"id": fid, "object": "file", "bytes": len(data), "created_at": int(time.time()), "filename": filename,
                "purpose": purpose, "status": "processed"}
        atomic_write_text(self._files() / f"{fid}.json", json.dumps(meta))
        return meta

    def upload(self, filename: str, data: bytes) -> dict[str, Any]:
        return self._put_file(filename, data, "batch")

    def file(self, file_id: str) -> dict[str, Any] | None:
        path = self._files() / f"{file_id}.json"
        return json.loads(path.read_text()) if path.is_file() else None

    def find_file(self, filename: str, size: int) -> dict[str, Any] | None:
        for path in sorted(self._files().glob("*.json")) if self._files().is_dir() else []:
            meta = json.loads(path.read_text())
            if meta["filename"] == filename and meta["bytes"] == size and (self._files() / f"{meta['id']}.data").is_file():
                return meta
        return None

    def content(self, file_id: str) -> bytes:
        path = self._files() / f"{file_id}.data"
        if not path.is_file():
            raise BatchAPIError(f"file {file_id}: not found in {self._files()}")
        return path.read_bytes()

    def _save(self, batch: dict[str, Any]) -> dict[str, Any]:
        atomic_write_text(self._batches() / f"{batch['id']}.json", json.dumps(batch))
        return batch

    def create(self, file_id: str, endpoint: str, metadata: dict[str, str]) -> dict[str, Any]:
        from synth_assets.llm.client import LLMClient
        from synth_assets.recipes.openai_batch.local_run import dumps_lines, run_requests

        data = self.content(file_id)
        now = int(time.time())
        batch = {"id": f"batch_local_{uuid.uuid4().hex[:20]}", "object": "batch", "endpoint": endpoint, "errors": None,
                 "input_file_id": file_id, "completion_window": "24h", "status": "in_progress", "output_file_id": None,
                 "error_file_id": None, "created_at": now, "in_progress_at": now, "expires_at": now + 86400,
                 "request_counts": {"total": 0, "completed": 0, "failed": 0}, "metadata": metadata, "pid": os.getpid()}
        self._save(batch)  # visible to find_batch before it runs, like the API's
        try:
            checked = validate_input(data=data)
        except ValueError as exc:
            batch.update(status="failed", failed_at=int(time.time()),
                         errors={"object": "list", "data": [{"code": "invalid_file", "message": str(exc), "line": None}]})
            return self._save(batch)
        outputs, errors, _ = run_requests(checked.requests, self.llm or LLMClient())
        batch["request_counts"] = {"total": len(checked.requests), "completed": len(outputs), "failed": len(errors)}
        if outputs:
            batch["output_file_id"] = self._put_file(f"{batch['id']}_output.jsonl", dumps_lines(outputs).encode(), "batch_output")["id"]
        if errors:
            batch["error_file_id"] = self._put_file(f"{batch['id']}_error.jsonl", dumps_lines(errors).encode(), "batch_output")["id"]
        batch.update(status="completed", finalizing_at=int(time.time()), completed_at=int(time.time()))
        return self._save(batch)

    def retrieve(self, batch_id: str) -> dict[str, Any]:
        path = self._batches() / f"{batch_id}.json"
        if not path.is_file():
            raise BatchAPIError(f"batch {batch_id}: not found in {self._batches()}")
        batch = json.loads(path.read_text())
        if batch["status"] in OPEN and not alive(batch.get("pid")):
            # the process running it died: like an expired batch, nothing of it completed
            batch.update(status="expired", expired_at=int(time.time()))
            self._save(batch)
        return batch

    def batches(self) -> Iterator[dict[str, Any]]:
        for path in sorted(self._batches().glob("*.json")) if self._batches().is_dir() else []:
            yield json.loads(path.read_text())

    def cancel(self, batch_id: str) -> dict[str, Any]:
        batch = self.retrieve(batch_id)
        if batch["status"] in OPEN:
            batch.update(status="cancelled", cancelled_at=int(time.time()))
            self._save(batch)
        return batch
