"""Merge sources into unified prompt records and drop exact duplicates (first occurrence kept).

A unified record::

    {"all_prompt_id": 17, "source_prompt_id": "3_boolq", "source": "boolq",
     "prompt": "...",                 # a string, or a conversation kept as a list
     "metadata": "<the original source row as JSON>",
     "_fields": {...}, "_key": "..."}  # internal: mapped fields and the dedup text (dropped by the formats)

`all_prompt_id` numbers every usable row of every source in config order, before any dedup, so
ids are stable whatever the dedup parameters. Exact dedup (`exact.py`, DuckDB) compares a
normalised key: NFKC, whitespace collapsed and stripped (optionally casefolded); the key is the
prompt, or prompt + solution with `by: prompt+solution`.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

from synth_assets.recipes.curation.exact import exact_dedup
from synth_assets.recipes.curation.sources import LoadedSource

SOLUTION_SEPARATOR = "\n\n### Solution\n"


def dedup_key(prompt_text: str, solution_text: str, by: str) -> str:
    return prompt_text + SOLUTION_SEPARATOR + solution_text if by == "prompt+solution" else prompt_text


@dataclass
class MergeResult:
    rows: list[dict[str, Any]]
    per_source: dict[str, dict[str, int]]  # rows_read, malformed, usable, exact_duplicates, after_exact


def merge_sources(sources: list[LoadedSource], *, by: str = "prompt", exact: bool = True, casefold: bool = False) -> MergeResult:
    rows: list[dict[str, Any]] = []
    per_source: dict[str, dict[str, int]] = {}
    next_id = 0
    for loaded in sources:
        per_source[loaded.name] = {"rows_read": loaded.rows_read, "malformed": len(loaded.malformed), "usable": len(loaded.records)}
        for rec in loaded.records:
            rows.append({
                "all_prompt_id": next_id,
                "source_prompt_id": f"{rec.index}_{loaded.name}",
                "source": loaded.name,
                "prompt": rec.prompt,
                "metadata": json.dumps(rec.original, ensure_ascii=False, default=str),
                "_fields": json.loads(json.dumps(rec.fields, ensure_ascii=False, default=str)),
                "_key": dedup_key(rec.prompt_text, rec.solution_text, by),
            })
            next_id += 1
    keep = exact_dedup([r["_key"] for r in rows], casefold) if exact else np.ones(len(rows), dtype=bool)
    kept = [r for r, k in zip(rows, keep) if k]
    kept_per_source = Counter(r["source"] for r in kept)
    for name, counts in per_source.items():
        after = kept_per_source.get(name, 0)
        counts["after_exact"] = after
        counts["exact_duplicates"] = counts["usable"] - after
    return MergeResult(rows=kept, per_source=per_source)
