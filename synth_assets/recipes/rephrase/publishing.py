"""Rephrase, the publish side: decontamination of the rewritten fields and the quality figures of an experiment.

Rows whose requests failed are not published (nothing is passed off as synthesized). Rewritten values
are checked against every text of the dataset's other splits (nested ones included, the label left
out), the catalog's benchmark files and the config's references (hashed word n-grams + exact
normalised sentences); offending rows are dropped and listed. A row that differs from its source
record anywhere but in its rewritten values (a label, the structure) is never published.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synth_assets.core.config import Experiment
from synth_assets.core.fields import FieldPath, FieldPathError, assign, format_path, get, parse, resolve, text_leaves
from synth_assets.core.hashing import file_sha256
from synth_assets.quality.decontamination import DecontaminationIndex, Hit, references_from_jsonl, references_from_rows
from synth_assets.quality.metrics import quality_metrics, rejection_counts
from synth_assets.recipes.base import META

MAX_LISTED = 50


def reference_files(exp: Experiment) -> list[Path]:
    """Benchmark files beside the dataset's own evaluation splits: the catalog's, then the config's."""
    entry, cfg = exp.entry, exp.config.decontamination
    return [entry.file(p) for p in entry.decontaminate_against] + [Path(p) for p in (cfg.references if cfg else [])]


def decontamination_params(exp: Experiment) -> dict[str, Any] | None:
    """What the published stage's fingerprint covers of decontamination (the splits are in the source hash)."""
    cfg = exp.config.decontamination
    if cfg is None:
        return None
    return {"ngram": cfg.ngram, "references": sorted(file_sha256(p) for p in reference_files(exp))}


def contamination(exp: Experiment, rows: list[dict[str, Any]]) -> list[Hit]:
    """Rows whose rewritten fields copy text of the evaluation splits or the reference files."""
    cfg = exp.config.decontamination
    if cfg is None:
        return []
    entry = exp.entry
    label = parse(entry.label_field) if entry.label_field else None
    references = []
    for split in entry.splits:
        if split != exp.config.dataset.split:
            texts = [text_fields(r, entry.fields or None, label) for r in entry.rows(split)]
            references += references_from_rows(texts, entry.split_path(split).name)
    for path in reference_files(exp):
        references += references_from_jsonl(path)
    if not references:
        return []
    rewritten = [text_fields(r, exp.rewrite_fields()) for r in rows]
    return DecontaminationIndex(references, n=cfg.ngram).check(rewritten, list(dict.fromkeys(k for r in rewritten for k in r)))


def text_fields(record: dict[str, Any], paths: list[str] | None, skip: FieldPath | None = None) -> dict[str, str]:
    """`{concrete path: text}` for every text under `paths` (under every field when None), in order, none under `skip`."""
    found = ([hit for p in paths for hit in resolve(record, p, missing_ok=True)] if paths is not None
             else [((key,), value) for key, value in record.items()])
    return {format_path(where): text for at, value in found for where, text in text_leaves(value, at)
            if skip is None or not skip.covers(where)}


def altered_rows(exp: Experiment, rows: list[dict[str, Any]]) -> list[str]:
    """Rows that differ from their source record anywhere but in their rewritten values (labels, structure, other
    fields), each as "row N: why"; a rewritten value must still be text."""
    source = exp.entry.rows(exp.config.dataset.split)
    problems = []
    for row in rows:
        index = row[META]["row"]
        restored = {k: v for k, v in row.items() if k != META}
        try:
            for concrete in row[META]["fields"]:
                if not isinstance(get(restored, concrete), str):
                    raise FieldPathError(f"{concrete} is no longer text")
                restored = assign(restored, concrete, get(source[index], concrete))
        except FieldPathError as exc:
            problems.append(f"row {index}: {exc}")
            continue
        if restored != source[index]:
            changed = sorted(k for k in set(restored) | set(source[index]) if restored.get(k) != source[index].get(k))
            problems.append(f"row {index}: {', '.join(changed)} changed outside the rewritten values")
    return problems


def _slot(info: dict[str, Any]) -> dict[str, Any]:
    """A field's representative candidate for the metrics: the chosen one, else the last one judged, else the first."""
    outcomes = info.get("outcomes") or [None] * len(info["candidates"])
    judged = [k for k, o in enumerate(outcomes) if o]
    k = info.get("chosen") if info.get("chosen") is not None else (judged[-1] if judged else 0)
    c = info["candidates"][k] if info["candidates"] else {"text": None, "finish_reason": None}
    return {"original": info["original"], "rewrite": c["text"], "accepted": bool(info.get("rewritten")),
            "finish_reason": c["finish_reason"], "verdicts": (outcomes[k] or {}).get("verdicts", []) if outcomes else []}


def quality(exp: Experiment, rows: list[dict[str, Any]], hits: list[Hit]) -> dict[str, Any]:
    """The experiment's quality figures (see `synth_assets.quality.metrics`), plus attempts and dropped rows."""
    label = exp.entry.label_field
    source = exp.entry.rows(exp.config.dataset.split)
    metric_rows = [{"fields": {f: _slot(info) for f, info in r[META]["fields"].items()},
                    "label_before": get(source[r[META]["row"]], label) if label else None,
                    "label_after": get(r, label) if label else None}
                   for r in rows]
    figures = quality_metrics(metric_rows, decontamination_hits=len(hits))
    # with best-of-n every judged candidate counts towards acceptance and rejections, not one per field
    outcomes = [o for r in rows for info in r[META]["fields"].values() for o in info.get("outcomes") or [] if o]
    figures = {k: v for k, v in figures.items() if not k.startswith("rejections.")}
    figures["acceptance_rate"] = sum(o["accepted"] for o in outcomes) / len(outcomes) if outcomes else 0.0
    figures.update(rejection_counts(o["verdicts"] for o in outcomes))
    slots = [info for r in rows for info in r[META]["fields"].values()]
    figures["candidates_judged_mean"] = len(outcomes) / len(slots) if slots else 0.0
    figures["failed_request_rows"] = sum(1 for r in rows if r[META].get("errors"))
    return figures


def hit_list(hits: list[Hit]) -> list[dict[str, Any]]:
    return [h.to_dict() for h in hits[:MAX_LISTED]]
