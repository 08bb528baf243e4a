"""Rephrase, the generation side: the records to rewrite and `generation.n` candidate rewrites per field.

Provenance of each row lives under `_synth` (dropped from published files):
`{"row": index in the split, "fields": {field: {"original": text, "candidates": [{"text", "finish_reason",
"error"}], ...}}}`; the validated stage adds each candidate's verdicts and the chosen one.
"""

from __future__ import annotations

import random
from typing import Any

from resources.llm import ChatRequest, ChatResponse
from synth_assets.core.config import Experiment, Sampling
from synth_assets.recipes.base import META

TRUNCATED = "truncated: the completion hit max_tokens (finish_reason length)"


def select_records(exp: Experiment) -> list[dict[str, Any]]:
    """The split's records, limited for pilot runs: the first `limit`, or a seeded sample."""
    ds = exp.config.dataset
    rows = exp.entry.rows(ds.split)
    indices = list(range(len(rows)))
    if ds.limit is not None and ds.limit < len(rows):
        indices = sorted(random.Random(ds.seed).sample(indices, ds.limit)) if ds.sample == "random" else indices[: ds.limit]
    return [{**rows[i], META: {"row": i}} for i in indices]


def request(sampling: Sampling, messages: list[dict[str, str]], n: int = 1) -> ChatRequest:
    return ChatRequest(messages=messages, model=sampling.model, temperature=sampling.temperature, top_p=sampling.top_p,
                       max_tokens=sampling.max_tokens, frequency_penalty=sampling.frequency_penalty,
                       presence_penalty=sampling.presence_penalty, seed=sampling.seed, n=n)


def generation_requests(exp: Experiment, records: list[dict[str, Any]]) -> list[tuple[int, str, ChatRequest]]:
    """(record index, field, request for `generation.n` samples) for every field to rewrite in every record."""
    system = exp.system_prompt()
    jobs = []
    for index, record in enumerate(records):
        fields = {k: v for k, v in record.items() if k != META}
        for field in exp.rewrite_fields():
            prompt = exp.generation_prompt().format_map({**fields, "text": record[field], "field_name": field})
            messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
            jobs.append((index, field, request(exp.config.generation, messages, exp.config.generation.n)))
    return jobs


def clean_generation(text: str) -> str:
    """First non-empty line, without quotes or a leading label the small models like to echo."""
    line = next((ln.strip() for ln in text.strip().splitlines() if ln.strip()), "")
    if ":" in line[:40] and line.split(":", 1)[0].lower().startswith(("rephrased", "sentence", "question", "hypothesis")):
        line = line.split(":", 1)[1].strip()
    return line.strip("\"'“” ")


def candidate(response: ChatResponse) -> dict[str, Any]:
    """One candidate rewrite: its cleaned text, why the LLM stopped, or the request's error.

    Only the first line is used: a completion cut at max_tokens after that line ended is not truncated."""
    if not response.ok:
        return {"text": None, "finish_reason": None, "error": response.error}
    raw = response.text or ""
    text = clean_generation(raw)
    finish = response.finish_reason
    if finish == "length" and "\n" in raw.strip():
        finish = "stop"  # the line we keep was finished; what the model rambled on with is dropped
    return {"text": text or None, "finish_reason": finish, "error": None if text else "empty generation"}


def apply_generations(records: list[dict], jobs: list[tuple[int, str, ChatRequest]], responses: list[ChatResponse]) -> list[dict]:
    """Rows with every field's candidates; a field none of whose requests succeeded is recorded in `errors`."""
    rows = [{**r, META: {**r[META], "fields": {}, "errors": {}}} for r in records]
    by_job: dict[int, list[ChatResponse]] = {}
    for response in responses:
        by_job.setdefault(response.request_index, []).append(response)
    for job_index, (index, field, _) in enumerate(jobs):
        meta = rows[index][META]
        candidates = [candidate(r) for r in sorted(by_job.get(job_index, []), key=lambda r: r.sample_index)]
        meta["fields"][field] = {"original": rows[index][field], "candidates": candidates}
        failed = [c["error"] for c in candidates if c["error"] and c["text"] is None and c["error"] != "empty generation"]
        if failed and len(failed) == len(candidates):
            meta["errors"][field] = failed[0]
    return rows


def request_failed(row: dict) -> bool:
    """Every candidate of some field failed as a request: the row is not published (nothing is pretended)."""
    return bool(row[META].get("errors"))


def training_row(row: dict[str, Any]) -> dict[str, Any]:
    """A published record: the dataset's own schema, nothing else."""
    return {k: v for k, v in row.items() if k != META}
