"""Rephrase, the publish side: decontamination of the rewritten fields and the quality figures of an experiment.

Rows whose requests failed are not published (nothing is passed off as synthesized). Rewritten values
are checked against every text of the dataset's other splits (nested ones included, the label left
out), the catalog's benchmark files and the config's references (hashed word n-grams + exact
normalised sentences). A row whose rewrite introduced overlap (matches its source value did not have)
is dropped; a row whose only overlap was already in its source record is kept (counted as
`source_overlap`; `decontamination.source_overlap: drop` drops it too); every count is reported. A row
that differs from its source record anywhere but in its rewritten values (a label, the structure) is
never published.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synth_assets.core.catalog import CatalogEntry
from synth_assets.core.config import Experiment
from synth_assets.core.fields import FieldPathError, assign, get, parse, text_fields
from synth_assets.core.hashing import file_sha256
from synth_assets.core.records import META
from synth_assets.quality.decontamination import DecontaminationIndex, Hit, Reference, references_from_jsonl, references_from_rows
from synth_assets.quality.metrics import quality_metrics, rejection_counts
from synth_assets.recipes.dataset_experiment_config import rewrite_fields

MAX_LISTED = 50
# the quality figures that count decontamination's rows (`decontamination_hits`: hits with introduced overlap)
DECONTAMINATION_FIGURES = ("decontamination_hits", "decontamination_introduced", "decontamination_source_overlap",
                           "decontamination_dropped")


def reference_files(exp: Experiment) -> list[Path]:
    """Benchmark files beside the dataset's own evaluation splits: the catalog's, then the config's."""
    entry, cfg = exp.entry, exp.config.decontamination
    return [entry.file(p) for p in entry.decontaminate_against] + [Path(p) for p in (cfg.references if cfg else [])]


def decontamination_params(exp: Experiment) -> dict[str, Any] | None:
    """What the published stage's fingerprint covers of decontamination (the splits are in the source hash)."""
    cfg = exp.config.decontamination
    if cfg is None:
        return None
    params = {"ngram": cfg.ngram, "references": sorted(file_sha256(p) for p in reference_files(exp))}
    if cfg.source_overlap != "keep":
        params["source_overlap"] = cfg.source_overlap
    return params


def split_references(entry: CatalogEntry, split: str) -> list[Reference]:
    """Every text of the dataset's splits other than `split` (nested ones included, the label left out)."""
    label = parse(entry.label_field) if entry.label_field else None
    references = []
    for other in entry.splits:
        if other != split:
            texts = [text_fields(r, entry.fields or None, label) for r in entry.rows(other)]
            references += references_from_rows(texts, entry.split_path(other).name)
    return references


def contamination(exp: Experiment, rows: list[dict[str, Any]], sources: list[dict[str, Any]] | None = None) -> list[Hit]:
    """Rows whose rewritten fields copy text of the evaluation splits or the reference files; with `sources` (the
    source record of each row) every hit counts the matches its source value did not have (`Hit.introduced`)."""
    cfg = exp.config.decontamination
    if cfg is None:
        return []
    references = split_references(exp.entry, exp.config.dataset.split)
    for path in reference_files(exp):
        references += references_from_jsonl(path)
    if not references:
        return []
    rewritten = [text_fields(r, rewrite_fields(exp)) for r in rows]
    before = [text_fields(r, rewrite_fields(exp)) for r in sources] if sources is not None else None
    fields = list(dict.fromkeys(k for r in rewritten for k in r))
    return DecontaminationIndex(references, n=cfg.ngram).check(rewritten, fields, before)


def overlap(exp: Experiment, hits: list[Hit]) -> tuple[set[int], dict[str, Any]]:
    """(rows to drop, the counts every report shows): a row whose rewrite introduced overlap is dropped; a row whose
    only overlap its source record already had is kept (`decontamination.source_overlap: drop` drops it too)."""
    cfg = exp.config.decontamination
    introduced = {h.row for h in hits if h.introduced}
    source = {h.row for h in hits} - introduced
    dropped = introduced | (source if cfg is not None and cfg.source_overlap == "drop" else set())
    listed = [{**h.to_dict(), "dropped": h.row in dropped} for h in hits[:MAX_LISTED]]
    return dropped, {"hits": len(hits), "introduced": len(introduced), "source_overlap": len(source),
                     "dropped": len(dropped), "ngram": cfg.ngram if cfg is not None else None, "listed": listed}


def overlap_line(counts: dict[str, Any]) -> str:
    """The dataset card's line on decontamination, from `overlap`'s counts."""
    kept = counts["source_overlap"] - (counts["dropped"] - counts["introduced"])
    return (f"- decontamination ({counts['ngram']}-grams and exact sentences against the evaluation splits and references): "
            f"rows dropped {counts['dropped']} (rewrite introduced overlap: {counts['introduced']}); "
            f"rows whose only overlap was already in the source records {counts['source_overlap']} (kept: {kept})")


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
    """The experiment's quality figures (see `synth_assets.quality.metrics`), plus attempts, failed rows and the rows
    decontamination found (`DECONTAMINATION_FIGURES`)."""
    label = exp.entry.label_field
    source = exp.entry.rows(exp.config.dataset.split)
    metric_rows = [{"fields": {f: _slot(info) for f, info in r[META]["fields"].items()},
                    "label_before": get(source[r[META]["row"]], label) if label else None,
                    "label_after": get(r, label) if label else None}
                   for r in rows]
    figures = quality_metrics(metric_rows, decontamination_hits=sum(1 for h in hits if h.introduced))
    # with best-of-n every judged candidate counts towards acceptance and rejections, not one per field
    outcomes = [o for r in rows for info in r[META]["fields"].values() for o in info.get("outcomes") or [] if o]
    figures = {k: v for k, v in figures.items() if not k.startswith("rejections.")}
    figures["acceptance_rate"] = sum(o["accepted"] for o in outcomes) / len(outcomes) if outcomes else 0.0
    figures.update(rejection_counts(o["verdicts"] for o in outcomes))
    slots = [info for r in rows for info in r[META]["fields"].values()]
    figures["candidates_judged_mean"] = len(outcomes) / len(slots) if slots else 0.0
    figures["failed_request_rows"] = sum(1 for r in rows if r[META].get("errors"))
    _, counts = overlap(exp, hits)
    figures.update({f"decontamination_{k}": counts[k] for k in ("introduced", "source_overlap", "dropped")})
    return figures

