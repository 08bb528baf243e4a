"""The validators' table on the test half of a calibration set with dev/test halves (used by validators.py).

Every validator runs once on every pair (its pairs/s is measured over all of them); thresholds and the logistic
combination are fitted on the dev half only (`quality.fitting`), then every row of the table is scored on the
test half. `before` rows are the previous defaults exactly as shipped (nothing fitted).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import numpy as np

from synth_assets.quality.calibration import LabelledPair, report
from synth_assets.quality.fitting import _accepts, fit_all, fit_logistic, predict_logistic
from synth_assets.quality.validators import Verdict, build_validators
from synth_assets.quality.validators.specs import parse_specs

WIDE_SIMILARITY = {"kind": "similarity", "min": -1.0, "max": 0.99}  # `min` is fitted on dev, `max` stays the near-copy bound
CANDIDATES: dict[str, Any] = {
    "rules": "rules",
    "rules_relaxed": {"kind": "rules", "name": "rules_relaxed", "word_order": False, "negation": False, "length_ratio": [0.4, 3.0]},
    "inversion": "inversion",
    "vocabulary": "vocabulary",
    "similarity": WIDE_SIMILARITY,
}
COMBINATIONS = [
    ["rules"], ["rules_relaxed"], ["inversion"], ["vocabulary"], ["similarity"], ["logprob_judge"],
    ["rules", "similarity"], ["rules", "inversion", "vocabulary"], ["rules", "inversion", "vocabulary", "similarity"],
    ["rules_relaxed", "inversion", "vocabulary", "similarity"], ["rules_relaxed", "inversion", "vocabulary", "similarity", "logprob_judge"],
    ["similarity", "logprob_judge"],
]


def _verdicts(pairs: list[LabelledPair], judge: dict | None, chat) -> tuple[dict[str, list[Verdict]], dict[str, float], dict[str, dict]]:
    raw = dict(CANDIDATES)
    if judge is not None:
        raw["logprob_judge"] = judge
    specs = {name: parse_specs([spec])[0].model_dump(mode="json") for name, spec in raw.items()}
    built = build_validators(list(raw.values()), chat=chat)
    built[list(raw).index("similarity")].validate([pairs[0].candidate()])  # loads the embedding model: not timed
    candidates = [p.candidate() for p in pairs]
    verdicts, seconds = {}, {}
    for name, validator in zip(raw, built):
        started = time.perf_counter()
        verdicts[name] = validator.validate(candidates)
        seconds[name] = time.perf_counter() - started
    return verdicts, seconds, specs


def _row(pairs: list[LabelledPair], test: list[int], predicted: np.ndarray, names: list[str], seconds: dict[str, float],
         n_all: int) -> dict[str, Any]:
    test_pairs = [pairs[i] for i in test]
    fake = {"combined": [Verdict("combined", bool(p), None, "") for p in predicted]}
    r = report(test_pairs, fake, {"combined": 1.0}).to_dict()
    total = sum(seconds[n] for n in names)
    return {k: r[k] for k in ("n", "accuracy", "precision", "recall", "f1", "per_kind", "per_dataset")} | {
        "pairs_per_s": round(n_all / total, 1) if total else None}


def table(pairs: list[LabelledPair], judge: dict | None = None, chat=None) -> dict[str, Any]:
    """Rows `all:` (all must accept, thresholds fitted on dev) and `logistic:` (fitted on dev), plus `before:`."""
    dev = [i for i, p in enumerate(pairs) if p.split == "dev"]
    test = [i for i, p in enumerate(pairs) if p.split == "test"]
    verdicts, seconds, specs = _verdicts(pairs, judge, chat)
    labels = np.array([p.same for p in pairs])
    rows, fitted = {}, {}
    for names in COMBINATIONS:
        if not all(n in verdicts for n in names):
            continue
        chosen = [{**specs[n], "name": n} for n in names]
        params = fit_all(chosen, verdicts, labels, dev)
        predicted = np.ones(len(test), dtype=bool)
        for spec in chosen:
            predicted &= np.array([_accepts(spec["kind"], params.get(spec["name"], {}), verdicts[spec["name"]][i]) for i in test])
        key = "+".join(names)
        rows[f"all: {key}"] = _row(pairs, test, predicted, names, seconds, len(pairs))
        fitted[f"all: {key}"] = params
        if len(names) > 1:
            model = fit_logistic(chosen, verdicts, labels, dev)
            rows[f"logistic: {key}"] = _row(pairs, test, predict_logistic(model, verdicts, test), names, seconds, len(pairs))
            fitted[f"logistic: {key}"] = model.model_dump()
    before = {"rules": {}, "similarity": {"min": 0.8, "max": 0.99}}  # the shipped default until this change
    predicted = np.array([verdicts["rules"][i].accepted and 0.8 <= verdicts["similarity"][i].score <= 0.99 for i in test])
    rows["before: rules+similarity[0.8,0.99]"] = _row(pairs, test, predicted, ["rules", "similarity"], seconds, len(pairs))
    fitted["before: rules+similarity[0.8,0.99]"] = before
    same_similarity = [verdicts["similarity"][i].score for i, p in enumerate(pairs) if p.same]
    return {"test_n": len(test), "dev_n": len(dev), "rows": rows, "fitted_on_dev": fitted,
            "median_similarity_of_same_pairs": round(float(np.median(same_similarity)), 3),
            "seconds": {k: round(v, 2) for k, v in seconds.items()}, "pairs_timed": len(pairs)}


def print_table(result: dict[str, Any]) -> None:
    rows = result["rows"]
    kinds = sorted(next(iter(rows.values()))["per_kind"])
    print(f"test half: {result['test_n']} pairs (fitted on the dev half: {result['dev_n']} pairs); median MiniLM cosine "
          f"of the 'same' pairs: {result['median_similarity_of_same_pairs']}")
    print("| validators | accuracy | precision | recall | pairs/s | " + " | ".join(kinds) + " |")
    print("|---" * (5 + len(kinds)) + "|")
    for name, r in rows.items():
        print(f"| {name} | {r['accuracy']:.3f} | {r['precision']:.3f} | {r['recall']:.3f} | {r['pairs_per_s']} | "
              + " | ".join(f"{r['per_kind'].get(k, float('nan')):.2f}" for k in kinds) + " |")
    print("\nfitted on dev:", json.dumps(result["fitted_on_dev"], default=float))


def write(result: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(result, indent=2, default=float))
