"""Data-quality metrics of a validated rewrite run, as a flat dict plus a markdown table.

Input: one dict per row (build it with `quality_row`):

    {"fields": {"premise": {"original": str, "rewrite": str | None,  # None: generation failed
                            "accepted": bool, "finish_reason": str | None,
                            "verdicts": [Verdict.to_dict(), ...]}},
     "label_before": ..., "label_after": ...}                        # labels optional

Definitions (a "slot" is one field of one row to rewrite, a "candidate" a slot with a rewrite):
- rewrite_rate = accepted rewrites / slots (= accepted / rows with one rewritten field)
- acceptance_rate = accepted / candidates that some validator judged
- truncation_rate = candidates with finish_reason "length" / candidates
- rejections.{validator}[.{reason}] = verdicts that rejected, by `reason_key` of their reason
- similarity_* = the similarity validator's scores over every candidate it judged
- distinct_1/2 = distinct word uni/bigrams / all, over accepted rewrites; self_bleu = mean
  sacrebleu sentence BLEU (0-100) of each sampled accepted rewrite against the other sampled ones
- length_ratio_mean = mean words(rewrite) / words(original) over accepted rewrites
"""

from __future__ import annotations

import random
import re
from collections import Counter
from typing import Any

import numpy as np

from synth_assets.quality import text
from synth_assets.quality.validators.base import Candidate, Outcome

# the figures an experiment is compared by (`synth compare`, the batch pages), decontamination's included;
# rewrite_rate always beside what says how many rewrites are right (acceptance is not correctness: `quality.figures`)
SHOWN_FIGURES = ("rewrite_rate", "estimated_correct_rate", "reviewed_precision", "reviewed_n", "acceptance_rate",
                 "truncation_rate", "similarity_mean", "distinct_2", "self_bleu", "decontamination_hits")
# what rephrase's publish step adds (`recipes/rephrase/correctness.py`), the intervals included
CORRECTNESS_FIGURES = ("estimated_correct_rate", "estimated_correct_low", "estimated_correct_high", "validator_precision",
                       "reviewed_n", "reviewed_precision", "reviewed_low", "reviewed_high")

def quality_row(results: dict[str, tuple[Candidate, Outcome | None]], *, label_before: Any = None,
                label_after: Any = None) -> dict[str, Any]:
    """A metrics input row from each field's candidate and combined outcome (None: not judged)."""
    fields = {}
    for field, (candidate, outcome) in results.items():
        fields[field] = {"original": candidate.original, "rewrite": candidate.rewrite,
                         "accepted": bool(outcome and outcome.accepted), "finish_reason": candidate.finish_reason,
                         "verdicts": [v.to_dict() for v in outcome.verdicts] if outcome else []}
    return {"fields": fields, "label_before": label_before, "label_after": label_after}


def distinct_n(texts: list[str], n: int) -> float:
    """Distinct word n-grams / all word n-grams over `texts` (lower-cased); 0 when there are none."""
    grams: Counter[tuple[str, ...]] = Counter()
    for t in texts:
        tokens = [w.lower() for w in text.words(t)]
        grams.update(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))
    total = sum(grams.values())
    return len(grams) / total if total else 0.0


def self_bleu(texts: list[str], *, sample: int = 200, seed: int = 0) -> float | None:
    """Mean sentence BLEU of each text against the others, on at most `sample` texts (seeded)."""
    from sacrebleu.metrics import BLEU

    if len(texts) < 2:
        return None
    chosen = random.Random(seed).sample(texts, sample) if len(texts) > sample else list(texts)
    bleu = BLEU(effective_order=True)
    scores = [bleu.sentence_score(t, chosen[:i] + chosen[i + 1:]).score for i, t in enumerate(chosen)]
    return float(np.mean(scores))


def reason_key(reason: str) -> str:
    """A reason without its particulars: the text before ':', a parenthesised part, a number or a range.
    "negation dropped: 'not'" -> "negation dropped"; "not the same (1/5): ..." -> "not the same";
    "length ratio 2.38 outside [0.5, 2.0]" -> "length ratio"."""
    head = re.sub(r"\s*\(.*\)\s*$", "", reason.split(":")[0])
    return re.split(r"\s*[\d\[(]", head, maxsplit=1)[0].strip() or head.strip()


def rejection_counts(verdict_lists: Any) -> dict[str, int]:
    """`rejections.{validator}` and `rejections.{validator}.{reason}` over lists of verdict dicts."""
    rejections: Counter[str] = Counter()
    for verdicts in verdict_lists:
        for v in verdicts:
            if not v["accepted"]:
                rejections[f"rejections.{v['validator']}"] += 1
                rejections[f"rejections.{v['validator']}.{reason_key(v['reason'])}"] += 1
    return dict(sorted(rejections.items()))


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def quality_metrics(rows: list[dict[str, Any]], *, decontamination_hits: int | list = 0,
                    similarity_validator: str = "similarity", self_bleu_sample: int = 200, seed: int = 0) -> dict[str, Any]:
    """The flat metrics dict described in the module doc."""
    slots = [slot for row in rows for slot in row["fields"].values()]
    candidates = [s for s in slots if s.get("rewrite") is not None]
    judged = [s for s in candidates if s.get("verdicts")]
    accepted = [s for s in candidates if s.get("accepted")]
    rewrites = [s["rewrite"] for s in accepted]
    similarities = [v["score"] for s in judged for v in s["verdicts"]
                    if v["validator"] == similarity_validator and v.get("score") is not None]
    ratios = [len(text.words(s["rewrite"])) / max(len(text.words(s["original"])), 1) for s in accepted]
    out: dict[str, Any] = {
        "rows": len(rows),
        "slots": len(slots),
        "candidates": len(candidates),
        "judged": len(judged),
        "accepted": len(accepted),
        "rewrite_rate": len(accepted) / len(slots) if slots else 0.0,
        "acceptance_rate": sum(bool(s.get("accepted")) for s in judged) / len(judged) if judged else 0.0,
        "truncation_rate": sum(s.get("finish_reason") == "length" for s in candidates) / len(candidates) if candidates else 0.0,
        "similarity_mean": float(np.mean(similarities)) if similarities else None,
        "similarity_p10": _percentile(similarities, 10),
        "similarity_p90": _percentile(similarities, 90),
        "distinct_1": distinct_n(rewrites, 1),
        "distinct_2": distinct_n(rewrites, 2),
        "self_bleu": self_bleu(rewrites, sample=self_bleu_sample, seed=seed),
        "length_ratio_mean": float(np.mean(ratios)) if ratios else None,
        "decontamination_hits": decontamination_hits if isinstance(decontamination_hits, int) else len(decontamination_hits),
    }
    out.update(rejection_counts(s["verdicts"] for s in judged))
    for when in ("before", "after"):
        labels = Counter(str(row.get(f"label_{when}")) for row in rows if row.get(f"label_{when}") is not None)
        out.update({f"label_{when}.{k}": v for k, v in sorted(labels.items())})
    return out


def metrics_markdown(metrics: dict[str, Any], title: str = "Quality") -> str:
    """A two-column markdown table of a metrics dict (rates and ratios to 4 decimals)."""
    lines = [f"| {title} | value |", "|---|---|"]
    for key, value in metrics.items():
        shown = "n/a" if value is None else f"{value:.4f}" if isinstance(value, float) else str(value)
        lines.append(f"| {key} | {shown} |")
    return "\n".join(lines) + "\n"
