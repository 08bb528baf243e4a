"""Rephrase, the generation side: the records to rewrite and `generation.n` candidate rewrites per value.

A rewritten field is a field path (`core/fields.py`): `question`, `choices.text[0]`, or `choices.text[*]`,
which rewrites every element of the list on its own (one request per element, each judged on its own,
written back in place so the record keeps its structure).

Provenance of each row lives under `_synth` (dropped from published files):
`{"row": index in the split, "fields": {concrete path: {"original": text, "candidates": [{"text",
"finish_reason", "error"}], "path": the path as configured (when it differs)}}}`; the validated stage adds
each candidate's verdicts and the chosen one.
"""

from __future__ import annotations

import re
from typing import Any

from synth_assets.core.config import Experiment
from synth_assets.core.fields import format_path, get, parse, resolve
from synth_assets.core.prompt_values import prompt_fields
from synth_assets.core.records import META
from synth_assets.llm.types import ChatRequest, ChatResponse
from synth_assets.recipes.dataset_experiment_config import rewrite_fields
from synth_assets.recipes.dataset_experiment_stages import chat_request

TRUNCATED = "truncated: the completion hit max_tokens (finish_reason length)"
OPTION_MARK = re.compile(r"^(?:\(?[A-Za-z]\)|\(?\d{1,2}[.)])\s+")  # "D) ", "(b) ", "2. " before an option's text


def rewrite_slots(exp: Experiment, record: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(concrete path, path as configured, text) of every value to rewrite in a record, in order."""
    return [(format_path(where), written, value) for written in rewrite_fields(exp) for where, value in resolve(record, written)]


def generation_values(record: dict[str, Any], text: str, concrete: str) -> dict[str, Any]:
    """What a generation prompt is filled with: the record's fields, `{text}` (the value to rewrite) and `{field_name}`."""
    return {**prompt_fields(record), "text": text, "field_name": concrete}


def generation_requests(exp: Experiment, records: list[dict[str, Any]]) -> list[tuple[int, str, ChatRequest]]:
    """(record index, concrete path, request for `generation.n` samples) for every value to rewrite in every record."""
    system = exp.system_prompt()
    template = exp.generation_prompt()
    jobs = []
    for index, record in enumerate(records):
        for concrete, _, text in rewrite_slots(exp, record):
            prompt = template.format_map(generation_values(record, text, concrete))
            messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
            jobs.append((index, concrete, chat_request(exp.config.generation, messages, exp.config.generation.n)))
    return jobs


def clean_generation(text: str) -> str:
    """First non-empty line, without quotes or a leading label the small models like to echo."""
    line = next((ln.strip() for ln in text.strip().splitlines() if ln.strip()), "")
    if ":" in line[:40] and line.split(":", 1)[0].lower().startswith(("rephrased", "sentence", "question", "hypothesis")):
        line = line.split(":", 1)[1].strip()
    return line.strip("\"'“” ")


def without_option_mark(text: str, original: str) -> str:
    """A list element's rewrite without the option mark ("D) ", "(b) ", "2. ") a model copies from the options the
    prompt shows, unless the original starts with one too."""
    return text if OPTION_MARK.match(original) else OPTION_MARK.sub("", text, count=1)


def candidate(response: ChatResponse, element_of: str | None = None) -> dict[str, Any]:
    """One candidate rewrite: its cleaned text, why the LLM stopped, or the request's error. `element_of`: the
    original text when the value is an element of a list (its option mark is dropped).

    Only the first line is used: a completion cut at max_tokens after that line ended is not truncated."""
    if not response.ok:
        return {"text": None, "finish_reason": None, "error": response.error}
    raw = response.text or ""
    text = clean_generation(raw)
    if element_of is not None:
        text = without_option_mark(text, element_of)
    finish = response.finish_reason
    if finish == "length" and "\n" in raw.strip():
        finish = "stop"  # the line we keep was finished; what the model rambled on with is dropped
    return {"text": text or None, "finish_reason": finish, "error": None if text else "empty generation"}


def apply_generations(exp: Experiment, records: list[dict], jobs: list[tuple[int, str, ChatRequest]],
                      responses: list[ChatResponse]) -> list[dict]:
    """Rows with every value's candidates; a value none of whose requests succeeded is recorded in `errors`."""
    rows = [{**r, META: {**r[META], "fields": {}, "errors": {}}} for r in records]
    configured = {(i, concrete): written for i, r in enumerate(records) for concrete, written, _ in rewrite_slots(exp, r)}
    by_job: dict[int, list[ChatResponse]] = {}
    for response in responses:
        by_job.setdefault(response.request_index, []).append(response)
    for job_index, (index, field, _) in enumerate(jobs):
        meta = rows[index][META]
        original = get(rows[index], field)
        element_of = original if isinstance(parse(field).steps[-1], int) else None
        candidates = [candidate(r, element_of) for r in sorted(by_job.get(job_index, []), key=lambda r: r.sample_index)]
        meta["fields"][field] = {"original": original, "candidates": candidates}
        if configured[index, field] != field:
            meta["fields"][field]["path"] = configured[index, field]
        failed = [c["error"] for c in candidates if c["error"] and c["text"] is None and c["error"] != "empty generation"]
        if failed and len(failed) == len(candidates):
            meta["errors"][field] = failed[0]
    return rows


def request_failed(row: dict) -> bool:
    """Every candidate of some field failed as a request: the row is not published (nothing is pretended)."""
    return bool(row[META].get("errors"))
