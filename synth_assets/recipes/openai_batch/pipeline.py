"""Submit, monitor, download, resubmit and compile batches; every state change goes to the ledger first.

Idempotency of `submit_file` (key = input sha256 + endpoint + model + backend + salt):
  1. the job row is written before anything is sent;
  2. the uploaded file id is recorded as soon as the upload returns; a job without one looks for an
     earlier upload of the same file name and size before uploading (dies after upload, before record);
  3. before creating a batch for a job that already had a file, the batches are listed and matched on
     `metadata.synth_job_key` (dies after create, before record); the batch id is recorded at once.
A per-key lock keeps two processes from submitting the same file at the same time. Where the lineage
is shared (`$SYNTH_LINEAGE`), the ledger, that lock and the kept input files are shared too
(`ledger_postgres`, `kept_files`): these guarantees then hold across machines.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from synth_assets.core.fingerprint import Fingerprints, digest, model_slug, stage_fingerprints
from synth_assets.core.lineage import Lineage
from synth_assets.core.names import check_safe_name
from synth_assets.core.registry import Registration, draft_record, register_record
from synth_assets.core.root import lineage_path
from synth_assets.core.stores import open_store
from synth_assets.llm.pricing import PriceTable, load_prices
from synth_assets.recipes.openai_batch import cost as costs
from synth_assets.recipes.openai_batch.build import InputFile, encode_lines, validate_input
from synth_assets.recipes.openai_batch.client import OPEN, TERMINAL, BatchClient, LocalBatchClient, OpenAIBatchClient
from synth_assets.recipes.openai_batch.errors import BatchAPIError
from synth_assets.recipes.openai_batch.kept_files import KeptFiles
from synth_assets.recipes.openai_batch.ledger import now
from synth_assets.recipes.openai_batch.ledger_postgres import open_ledger
from synth_assets.recipes.openai_batch.results import ResultLine, parse_results
from synth_assets.recipes.openai_batch.util import atomic_write_bytes, lineage_db, state_dir

SCHEME = "batchapi/1"
RECIPE = "batchapi"
UNSENT = ("new", "uploaded")
log = logging.getLogger("synth.batch_api")


def job_key(sha256: str, endpoint: str, model: str, backend: str, salt: str = "") -> str:
    return digest({"scheme": SCHEME, "input_sha256": sha256, "endpoint": endpoint, "model": model, "backend": backend, "salt": salt})


@dataclass
class RootState:
    """Where one original input file stands."""

    root_key: str
    requests: int
    ok: int
    failed: dict[str, str] = field(default_factory=dict)  # custom_id -> last error, retries exhausted
    todo: list[str] = field(default_factory=list)  # neither completed nor given up
    open_jobs: list[str] = field(default_factory=list)
    status: str = "waiting"  # waiting | resubmitted | complete | held | stuck
    resubmitted: str | None = None  # job key of a resubmission made now

    @property
    def done(self) -> bool:
        return self.status == "complete"


class BatchPipeline:
    def __init__(self, root: str | Path, client: BatchClient | Callable[[], BatchClient], *, backend: str = "openai",
                 max_retries: int = 2, max_resubmits: int = 10, prices: PriceTable | None = None,
                 record_lineage: bool = True, logger: Any = None):
        self.root = str(root)
        self.folder = state_dir(root) / ".synth" / "batch_api"
        self.ledger = open_ledger(self.folder)
        self.kept = KeptFiles(self.root, self.folder, self.ledger.shared)
        self._client = client
        self.backend = backend
        self.max_retries, self.max_resubmits = max_retries, max_resubmits
        self.prices = prices or load_prices()
        self.record_lineage = record_lineage
        self.log = logger or log

    @property
    def client(self) -> BatchClient:
        if callable(self._client) and not hasattr(self._client, "upload"):
            self._client = self._client()
        return self._client  # type: ignore[return-value]

    # ------------------------------------------------------------------ inputs

    def input_copy(self, checked: InputFile) -> Path:
        """Content-addressed copy of an input file (resubmissions are cut from it)."""
        return self.kept.keep(f"inputs/{checked.sha256}.jsonl", checked.data)

    def _read_input(self, job: dict[str, Any]) -> InputFile:
        return self.kept.read_input(job["input_path"])

    # ------------------------------------------------------------------ submit

    def submit_file(self, path: str | Path | None = None, *, data: bytes | None = None, root_key: str | None = None,
                    parent_key: str | None = None, attempt: int = 0, salt: str = "",
                    metadata: dict[str, str] | None = None) -> dict[str, Any]:
        """Submit one input file (validated first: nothing is uploaded for a bad file); idempotent."""
        checked = validate_input(path, data) if data is not None else self.kept.read_input(path)
        key = job_key(checked.sha256, checked.endpoint, checked.model, self.backend, salt)
        stored = self.input_copy(checked)
        with self.ledger.lock(key):
            existing = self.ledger.job(key)
            job = existing or self.ledger.add_job(
                key=key, root_key=root_key or key, parent_key=parent_key, attempt=attempt, backend=self.backend,
                input_sha256=checked.sha256, input_path=str(stored), endpoint=checked.endpoint, model=checked.model,
                n_requests=len(checked.requests), filename=f"synth-{key[:32]}.jsonl",
                estimate=costs.estimate(checked.requests, self.prices, free=self.backend == "local"))
            if job["batch_id"]:
                return job
            return self._send(job, checked.data, resumed=existing is not None, metadata=metadata or {})

    def _send(self, job: dict[str, Any], data: bytes, *, resumed: bool, metadata: dict[str, str]) -> dict[str, Any]:
        client, key = self.client, job["key"]
        file_id = job["file_id"]
        if file_id and client.file(file_id) is None:
            file_id = None  # the upload was deleted: upload again
        if not file_id:
            found = client.find_file(job["filename"], len(data)) if resumed else None
            uploaded = found or client.upload(job["filename"], data)
            file_id = uploaded["id"]
            job = self.ledger.update_job(key, file_id=file_id, status="uploaded")
            self.log.info(f"{'found earlier upload' if found else 'uploaded'} {job['filename']} as {file_id}")
        batch = client.find_batch("synth_job_key", key) if resumed else None
        if batch is None:
            meta = {"synth_job_key": key, "synth_root_key": job["root_key"], "synth_attempt": str(job["attempt"]),
                    **{k: str(v)[:512] for k, v in metadata.items()}}
            batch = client.create(file_id, job["endpoint"], dict(list(meta.items())[:16]))
        else:
            self.log.info(f"found batch {batch['id']} created earlier for {key[:12]}")
        job = self._record_batch(job, batch)
        return job

    def _record_batch(self, job: dict[str, Any], batch: dict[str, Any]) -> dict[str, Any]:
        job = self.ledger.update_job(job["key"], batch_id=batch["id"], status=batch["status"], submitted_at=now(),
                                     request_counts=batch.get("request_counts"), output_file_id=batch.get("output_file_id"),
                                     error_file_id=batch.get("error_file_id"), batch_errors=batch.get("errors"))
        self.log.info(f"batch {batch['id']} ({job['n_requests']} requests, {job['model']}) is {batch['status']}")
        if self.record_lineage:
            try:
                est = job["estimate"] or {}
                self._lineage().record_api_batch(
                    batch_id=batch["id"], job_key=job["key"], input_sha256=job["input_sha256"], endpoint=job["endpoint"],
                    model=job["model"], requests=job["n_requests"], estimate_usd=est.get("cost_usd", 0.0),
                    description=(f"{self.backend}; root {job['root_key'][:12]}, attempt {job['attempt']}; "
                                 f"{est.get('prompt_tokens', 0)} prompt + <= {est.get('completion_tokens_max', 0)} completion tokens"))
            except Exception as exc:  # the ledger already holds the batch id
                self.log.warning(f"lineage record of batch {batch['id']} failed: {exc}")
        return job

    def _lineage(self):
        return Lineage(lineage_db(self.root))

    def resume(self, job: dict[str, Any]) -> dict[str, Any]:
        """Finish the submission of a job that a dead process left without a batch id."""
        if job["batch_id"]:
            return job
        checked = self._read_input(job)
        with self.ledger.lock(job["key"]):
            job = self.ledger.job(job["key"]) or job
            return job if job["batch_id"] else self._send(job, checked.data, resumed=True, metadata={})

    # ------------------------------------------------------------------ monitor

    def find(self, ident: str) -> dict[str, Any]:
        job = self.ledger.find(ident)
        if job is None:
            raise BatchAPIError(f"unknown batch id {ident!r}: not in the ledger {self.ledger.path} (see `synth batches-api list --all`)")
        return job

    def refresh(self, job: dict[str, Any]) -> dict[str, Any]:
        """Ask the API where a submitted batch stands; record it."""
        if not job["batch_id"] or (job["status"] in TERMINAL and job["ingested"]):
            return job
        batch = self.client.retrieve(job["batch_id"])
        if batch["status"] == job["status"] and batch.get("request_counts") == job["request_counts"]:
            return job
        return self.ledger.update_job(job["key"], status=batch["status"], request_counts=batch.get("request_counts"),
                                      output_file_id=batch.get("output_file_id"), error_file_id=batch.get("error_file_id"),
                                      batch_errors=batch.get("errors"))

    def refresh_open(self) -> list[dict[str, Any]]:
        """Refresh every open batch; return the jobs whose status changed."""
        changed = []
        for job in self.ledger.jobs(statuses=OPEN):
            try:
                new = self.refresh(job)
            except BatchAPIError as exc:
                self.log.warning(f"cannot poll {job['batch_id']}: {exc}")
                continue
            if new["status"] != job["status"]:
                changed.append(new)
        return changed

    def cancel(self, job: dict[str, Any]) -> dict[str, Any]:
        """Cancel a batch; what it completed is kept and its set is held (no automatic resubmission)."""
        if job["batch_id"] and job["status"] not in TERMINAL:
            batch = self.client.cancel(job["batch_id"])
            job = self.ledger.update_job(job["key"], status=batch["status"])
        return self.ledger.update_job(job["key"], held=1)

    # ------------------------------------------------------------------ download

    def download(self, job: dict[str, Any], run_id: str = "cli", partition_key: str = "") -> dict[str, Any]:
        """Fetch the output and error files of a terminal batch, keep them, record every parseable line.

        Returns the counts and the parse problems (lines that do not parse are reported, the rest kept)."""
        job = self.refresh(job)
        if job["status"] not in TERMINAL:
            raise BatchAPIError(f"batch {job['batch_id']} is {job['status']}: nothing to download yet")
        folder = self.folder / "downloads" / job["batch_id"]
        lines: list[ResultLine] = []
        problems: list[str] = []
        for kind, file_id in (("output", job["output_file_id"]), ("errors", job["error_file_id"])):
            if not file_id:
                continue
            path = folder / f"{kind}.jsonl"
            if not path.is_file():
                atomic_write_bytes(path, self.client.content(file_id))
            parsed, errors = parse_results(path.read_bytes(), str(path))
            lines += parsed
            problems += [str(e) for e in errors]
        if job["status"] == "failed":  # the whole file was refused: each request failed once
            message = "; ".join(e.get("message", "") for e in ((job["batch_errors"] or {}).get("data") or [])) or "batch failed"
            have = {line.custom_id for line in lines}
            for cid in self._read_input(job).custom_ids:
                if cid not in have:
                    lines.append(ResultLine(cid, "failed", None, None, {"code": "batch_failed", "message": message},
                                            {"custom_id": cid, "response": None, "error": {"code": "batch_failed", "message": message}}, 0))
        usage = costs.actual(lines, job["model"], self.prices, charged=self.backend != "local")
        counts = self.ledger.ingest(job, lines, extra={"usage": usage, "parse_errors": problems or None})
        job = self.ledger.job(job["key"])
        for p in problems:
            self.log.warning(f"unparseable result line kept out (its request will be sent again): {p}")
        if self.record_lineage and self.ledger.claim_usage(job["key"]):  # claimed first: two downloads never both count it
            try:
                self._lineage().record_llm_usage(
                    run_id=run_id, asset="batchapi/download", partition_key=partition_key, fingerprint=job["root_key"],
                    batch_id=job["batch_id"], backend=f"{self.backend}-batch", model=job["model"], usage=job["usage"] or usage)
            except Exception as exc:
                self.ledger.update_job(job["key"], usage_recorded=0)
                self.log.warning(f"lineage usage record of {job['batch_id']} failed: {exc}")
            job = self.ledger.job(job["key"])
        return {"job": job, "counts": counts, "problems": problems, "folder": str(folder)}

    # ------------------------------------------------------------------ advance

    def advance_root(self, root_key: str, *, poll: bool = True, resubmit: bool = True, run_id: str = "cli",
                     partition_key: str = "") -> RootState:
        """Download what finished, then resubmit only what is neither completed nor out of retries."""
        for job in self.ledger.jobs(root_key=root_key):
            if job["status"] in UNSENT:
                self.resume(job)
            elif poll and job["status"] in OPEN:
                self.refresh(job)
        for job in self.ledger.jobs(root_key=root_key):
            if job["status"] in TERMINAL and not job["ingested"]:
                self.download(job, run_id=run_id, partition_key=partition_key)
        jobs = self.ledger.jobs(root_key=root_key)
        root = next((j for j in jobs if j["key"] == root_key), None)
        if root is None:
            raise BatchAPIError(f"no job {root_key[:12]} in the ledger")
        checked = self._read_input(root)
        results = self.ledger.results(root_key)
        state = RootState(root_key, len(checked.requests), 0)
        for cid in checked.custom_ids:
            r = results.get(cid)
            if r and r["status"] == "ok":
                state.ok += 1
            elif r and r["failures"] > self.max_retries:
                state.failed[cid] = r["last_error"] or "failed"
            else:
                state.todo.append(cid)
        state.open_jobs = [j["batch_id"] or j["key"] for j in jobs if j["status"] in OPEN or j["status"] in UNSENT]
        if state.open_jobs:
            state.status = "waiting"
        elif not state.todo:
            state.status = "complete"
        elif any(j["held"] for j in jobs):
            state.status = "held"
        elif len(jobs) - 1 >= self.max_resubmits:
            state.status = "stuck"
        elif resubmit:
            todo = set(state.todo)
            attempt = max(j["attempt"] for j in jobs) + 1
            lines = [r for r in checked.requests if r["custom_id"] in todo]
            child = self.submit_file(data=encode_lines(lines), root_key=root_key, parent_key=jobs[-1]["key"], attempt=attempt,
                                     salt=f"{root_key}:{attempt}", metadata={"synth_resubmission_of": root_key})
            self.log.info(f"resubmitted {len(lines)} of {state.requests} requests of {root_key[:12]} as {child['batch_id']}")
            state.status, state.resubmitted = "resubmitted", child["key"]
            state.open_jobs.append(child["batch_id"])
        return state

    def release(self, root_key: str) -> None:
        for job in self.ledger.jobs(root_key=root_key):
            if job["held"]:
                self.ledger.update_job(job["key"], held=0)

    # ------------------------------------------------------------------ sets (Dagster partitions)

    def register_set(self, dataset: str, inputs: list[str | Path], meta_path: str | Path | None = None,
                     description: str = "") -> dict[str, Any]:
        """A (dataset, fingerprint) partition made of batch input files (validated, copied by content)."""
        check_safe_name(dataset, "dataset")
        roots, files, models = [], [], set()
        for path in inputs:
            checked = validate_input(path)
            stored = self.input_copy(checked)
            roots.append(job_key(checked.sha256, checked.endpoint, checked.model, self.backend))
            files.append({"source": str(path), "stored": str(stored), "sha256": checked.sha256, "requests": len(checked.requests)})
            models.add(checked.model)
        ids = [cid for f in files for cid in self.kept.read_input(f["stored"]).custom_ids]
        dupes = {c for c in ids if ids.count(c) > 1} if len(ids) != len(set(ids)) else set()
        if dupes:
            raise BatchAPIError(f"custom_id(s) used in more than one input file: {', '.join(sorted(dupes)[:5])}")
        meta_stored = meta_digest = None
        if meta_path and Path(meta_path).is_file():
            data = Path(meta_path).read_bytes()
            meta_digest = digest(data.decode("utf-8"))
            meta_stored = str(self.kept.keep(f"meta/{meta_digest}.jsonl", data))
        set_fp = digest({"scheme": SCHEME, "stage": "batchapi", "dataset": dataset, "roots": roots,
                         "meta_sha256": meta_digest, "max_retries": self.max_retries})
        spec = {"dataset": dataset, "inputs": files, "meta": meta_stored,
                "model": ", ".join(sorted(models)), "backend": self.backend, "max_retries": self.max_retries,
                "description": description}
        self.ledger.add_set(set_fp, dataset, set_fp[:12], spec, roots)
        s = self.ledger.set_by_partition(dataset, set_fp[:12])
        self.register(s)
        return s

    def submit_set(self, s: dict[str, Any]) -> list[dict[str, Any]]:
        meta = {"synth_dataset": s["dataset"], "synth_partition": s["partition_fp"]}
        return [self.submit_file(f["stored"], metadata=meta) for f in s["spec"]["inputs"]]

    def set_jobs(self, s: dict[str, Any]) -> list[dict[str, Any]]:
        return [j for root in s["roots"] for j in self.ledger.jobs(root_key=root)]

    def advance_set(self, s: dict[str, Any], **kwargs: Any) -> list[RootState]:
        states = []
        for root, f in zip(s["roots"], s["spec"]["inputs"]):
            if self.ledger.job(root) is None:
                self.submit_file(f["stored"], metadata={"synth_dataset": s["dataset"], "synth_partition": s["partition_fp"]})
            states.append(self.advance_root(root, **kwargs))
        return states

    def compile_set(self, s: dict[str, Any]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(training records, failures) of a set: results joined to requests and slices by custom_id."""
        meta = self.kept.read_meta(s["spec"].get("meta"))
        rows, failures = [], []
        for root, f in zip(s["roots"], s["spec"]["inputs"]):
            results = self.ledger.results(root)
            for request in self.kept.read_input(f["stored"]).requests:
                cid = request["custom_id"]
                r = results.get(cid)
                info = meta.get(cid, {})
                if r is None or r["status"] != "ok":
                    failures.append({"custom_id": cid, "error": (r or {}).get("last_error") or "no result",
                                     "failures": (r or {}).get("failures", 0), "name": info.get("name"), "path": info.get("path")})
                    continue
                line = parse_results(json.dumps(r["line"]), "ledger")[0][0]
                record = {"custom_id": cid, "scenario": info.get("scenario"), "kind": info.get("kind"), "name": info.get("name"),
                          "path": info.get("path"), "code": info.get("code"), "response": line.text,
                          "finish_reason": line.finish_reason, "model": line.model or request["body"].get("model"),
                          "usage": line.usage, "batch_id": r["batch_id"]}
                if len(line.texts) > 1:
                    record["responses"] = line.texts
                if not info:
                    record["messages"] = request["body"].get("messages")
                rows.append(record)
        return rows, failures

    def fingerprints(self, s: dict[str, Any]) -> Fingerprints:
        """Stages of a set, each fingerprinted over the set (submission and collection add no parameters)."""
        fp = s["set_fp"]
        stages = stage_fingerprints(SCHEME, {stage: {"upstream": fp} for stage in ("requests", "submitted", "compiled")})
        return Fingerprints(SCHEME, stages, {"set": s["spec"]})

    def register(self, s: dict[str, Any], *, today: dt.date | None = None) -> Registration:
        """Register a set in the store (batch `batch_{date}_batchapi`) like any recipe's job."""
        fps = self.fingerprints(s)
        requests = sum(f["requests"] for f in s["spec"]["inputs"])
        name = f"{model_slug(s['spec']['model'].split(',')[0])}_{self.backend}_{requests}req"
        draft = draft_record(fps, dataset=s["dataset"], recipe=RECIPE, config=s["spec"], source_file="",
                             config_yaml=yaml.safe_dump(s["spec"], sort_keys=False), fingerprint=s["set_fp"])
        batch_id = f"batch_{(today or dt.date.today()).strftime('%Y%m%d')}_batchapi"
        return register_record(draft, name, open_store(self.root), Lineage(lineage_path(self.root)), batch_id=batch_id,
                               purpose="batchapi", description=s["spec"].get("description") or "OpenAI Batch API sets", job=s,
                               fingerprints=fps)


def make_pipeline(root: str | Path, *, backend: str = "openai", base_url: str | None = None, config_json: str | None = None,
                  max_retries: int = 2, max_resubmits: int = 10, prices_path: str | None = None, logger: Any = None) -> BatchPipeline:
    """A pipeline on the OpenAI Batch API (`openai`) or the local executor (`local`); the client (and key) on first use."""
    if backend not in ("openai", "local"):
        raise BatchAPIError(f"unknown batch backend {backend!r}: openai | local")
    if backend == "local":
        client: Any = lambda: LocalBatchClient(state_dir(root) / ".synth" / "batch_api" / "local")  # noqa: E731
    else:
        client = lambda: OpenAIBatchClient(base_url=base_url, config_json=config_json)  # noqa: E731
    return BatchPipeline(root, client, backend=backend, max_retries=max_retries, max_resubmits=max_resubmits,
                         prices=load_prices(prices_path), logger=logger)
