"""Rephrase, the review side: the rewritten slots of a published experiment (its `review_slots` hook).

A slot is a field whose chosen candidate replaced the original in a row that was published (rows whose
requests failed and rows dropped by decontamination are not). Fields that kept their original text
are copies, not rewrites, and are left out.
"""

from __future__ import annotations

import json
from typing import Any

from synth_assets.core.records import META, training_row
from synth_assets.core.store import Store
from synth_assets.quality.reviews import Slot
from synth_assets.recipes.rephrase.rewrite import request_failed


def _canonical(row: dict[str, Any]) -> str:
    return json.dumps(row, sort_keys=True, ensure_ascii=False)


def slots_of_rows(fingerprint: str, dataset: str, rows: list[dict[str, Any]], published: list[dict[str, Any]]) -> list[Slot]:
    """The rewritten slots of validated `rows` whose training row is among the `published` ones."""
    kept = {_canonical(r) for r in published}
    out = []
    for row in rows:
        if request_failed(row) or _canonical(training_row(row)) not in kept:
            continue
        for field, info in row[META]["fields"].items():
            chosen = info.get("chosen")
            if info.get("rewritten") and chosen is not None:
                out.append(Slot(fingerprint, dataset, row[META]["row"], field, info["original"], info["candidates"][chosen]["text"]))
    return out


def experiment_slots(store: Store, record: dict[str, Any]) -> list[Slot]:
    """The rewritten slots of a published rephrase experiment (FileNotFoundError before it is published)."""
    dataset, name = record["dataset"], record["semantic_name"]
    if "validated" not in (record.get("stages") or {}):
        raise ValueError(f"{dataset}/{name} has no validated stage: only rephrase experiments rewrite rows to review")
    validated = store.read_stage(dataset, "validated", record["stages"]["validated"])
    published = store.read_jsonl(store.published_data_file(dataset, name))
    return slots_of_rows(record["fingerprint"], dataset, validated, published)

