"""Rephrase + validate: rewrite a field while keeping meaning and label; an LLM judge accepts or rejects."""

from __future__ import annotations

import random
from typing import Any

from resources.llm import ChatRequest, ChatResponse
from synth_assets.core.catalog import read_jsonl
from synth_assets.core.config import Experiment, Sampling
from synth_assets.recipes.base import META


def select_records(exp: Experiment) -> list[dict[str, Any]]:
    """The split's records, limited for pilot runs: the first `limit`, or a seeded sample."""
    ds = exp.config.dataset
    rows = read_jsonl(exp.entry.split_path(ds.split))
    indices = list(range(len(rows)))
    if ds.limit is not None and ds.limit < len(rows):
        indices = sorted(random.Random(ds.seed).sample(indices, ds.limit)) if ds.sample == "random" else indices[: ds.limit]
    return [{**rows[i], META: {"row": i}} for i in indices]


def _request(sampling: Sampling, messages: list[dict[str, str]]) -> ChatRequest:
    return ChatRequest(
        messages=messages,
        model=sampling.model,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        max_tokens=sampling.max_tokens,
        frequency_penalty=sampling.frequency_penalty,
        presence_penalty=sampling.presence_penalty,
        seed=sampling.seed,
    )


def generation_requests(exp: Experiment, records: list[dict[str, Any]]) -> list[tuple[int, str, ChatRequest]]:
    """(record index, field, request) for every field to rewrite in every record."""
    system = exp.system_prompt()
    jobs = []
    for index, record in enumerate(records):
        fields = {k: v for k, v in record.items() if k != META}
        for field in exp.rewrite_fields():
            prompt = exp.generation_prompt().format_map({**fields, "text": record[field], "field_name": field})
            messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": prompt}]
            jobs.append((index, field, _request(exp.config.generation, messages)))
    return jobs


def clean_generation(text: str) -> str:
    """First non-empty line, without quotes or a leading label the small models like to echo."""
    line = next((ln.strip() for ln in text.strip().splitlines() if ln.strip()), "")
    if ":" in line[:40] and line.split(":", 1)[0].lower().startswith(("rephrased", "sentence", "question", "hypothesis")):
        line = line.split(":", 1)[1].strip()
    return line.strip("\"'“” ")


def apply_generations(records: list[dict], jobs: list[tuple[int, str, ChatRequest]], responses: list[ChatResponse]) -> list[dict]:
    """Rows with rewritten fields; a failed or empty generation keeps the original text."""
    rows = [{**r, META: {**r[META], "original": {}, "errors": {}}} for r in records]
    for (index, field, _), response in zip(jobs, responses):
        row = rows[index]
        text = clean_generation(response.text or "") if response.ok else ""
        row[META]["original"][field] = row[field]
        if text:
            row[field] = text
        else:
            row[META]["errors"][field] = response.error or "empty generation"
    return rows


def validation_requests(exp: Experiment, rows: list[dict]) -> list[tuple[int, str, ChatRequest]]:
    """A judge request per rewritten field, with the k-shot examples as prior turns."""
    prompt = exp.validation_prompt()
    shots: list[dict[str, str]] = []
    for example in exp.validation_examples():
        shots.append({"role": "user", "content": prompt.format_map({"field_name": "", **example})})
        shots.append({"role": "assistant", "content": example["answer"]})
    jobs = []
    for index, row in enumerate(rows):
        for field, original in row[META]["original"].items():
            if field in row[META]["errors"]:
                continue
            question = prompt.format_map({"original": original, "rephrased": row[field], "field_name": field})
            jobs.append((index, field, _request(exp.config.validation, shots + [{"role": "user", "content": question}])))
    return jobs


def verdict(text: str | None) -> str:
    """'same', 'not the same' or 'unclear' from a judge's answer."""
    answer = (text or "").strip().lower()
    if answer.startswith(("not", "no", "different")) or "not the same" in answer:
        return "not the same"
    if answer.startswith(("same", "yes")) or "same" in answer:
        return "same"
    return "unclear"


def apply_validation(rows: list[dict], jobs: list[tuple[int, str, ChatRequest]], responses: list[ChatResponse]) -> list[dict]:
    """Rejection sampling: a field the judge does not call 'same' goes back to its original text."""
    out = [{**r, META: {**r[META], "verdicts": {}}} for r in rows]
    for (index, field, _), response in zip(jobs, responses):
        out[index][META]["verdicts"][field] = verdict(response.text) if response.ok else f"error: {response.error}"
    for row in out:
        for field, original in row[META]["original"].items():
            accepted = row[META]["verdicts"].get(field) == "same"
            if not accepted:
                row[field] = original
        row[META]["accepted"] = bool(row[META]["verdicts"]) and all(v == "same" for v in row[META]["verdicts"].values())
    return out


def training_row(row: dict[str, Any]) -> dict[str, Any]:
    """A published record: the dataset's own schema, nothing else."""
    return {k: v for k, v in row.items() if k != META}
