"""The validators' precision on labelled pairs, and the estimated correct rate it gives an experiment.

precision = pairs labelled "same" among the pairs the experiment's validators (all must accept) accept:
how often an accepted rewrite is right, measured where the truth is known. An experiment's
estimated_correct_rate = rewrite_rate × precision, its interval rewrite_rate × the Wilson interval of
the precision (rewrite_rate is counted, not estimated). It assumes the experiment's rewrites are as
hard to judge as the pairs; the reviewed precision (`synth review`) is the direct measurement.

Measured on `MEASURED_PAIRS` (its `split: test` half when the pairs carry a split), once per validator
set: cached under `.synth/validator_precision/{key}.json` by a hash of the resolved validator specs and
the pairs file's sha256. A set with an LLM judge is not measured inline (one LLM call per pair):
`measured` false and every figure None ("n/a") until `synth calibrate CONFIG --pairs MEASURED_PAIRS --split test`
measures it and `record`s the figures under the same key.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from synth_assets.core.hashing import file_sha256
from synth_assets.quality.calibration import REWRITE_PAIRS, LabelledPair, load_pairs, scores
from synth_assets.quality.reviews import wilson
from synth_assets.quality.validators.specs import JUDGE_KINDS

MEASURED_PAIRS: Path = REWRITE_PAIRS  # the one place naming the pairs the precision is measured on
MEASURED_SPLIT = "test"
CACHE_PREFIX = ".synth/validator_precision"


def measurement_pairs(path: Path = MEASURED_PAIRS) -> list[LabelledPair]:
    """The pairs' test half when they carry a `split`, else all of them."""
    pairs = load_pairs(path)
    if any(getattr(p, "split", None) for p in pairs):
        pairs = [p for p in pairs if getattr(p, "split", None) == MEASURED_SPLIT]
    return pairs


def spec_dump(specs: list[Any]) -> list[dict[str, Any]]:
    return [s.model_dump(mode="json") if hasattr(s, "model_dump") else s for s in specs]


def cache_key(specs: list[Any], pairs_sha256: str) -> str:
    blob = json.dumps({"validators": spec_dump(specs), "pairs": pairs_sha256}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()[:32]


def _measured(specs: list[Any], path: Path, figures: dict[str, Any]) -> dict[str, Any]:
    """The cached record of one measurement from its `calibration.scores` figures (n, accuracy, recall, confusion)."""
    true_accepts = figures["confusion"]["same"]["same"]
    n_accepted = true_accepts + figures["confusion"]["not the same"]["same"]
    low, high = wilson(true_accepts, n_accepted)
    return {"pairs": path.name, "pairs_sha256": file_sha256(path), "validators": [s.name for s in specs],
            "measured": True, "n": figures["n"], "accepted": n_accepted,
            "precision": true_accepts / n_accepted if n_accepted else None, "low": low, "high": high,
            "accuracy": figures["accuracy"], "recall": figures["recall"],
            **({} if n_accepted else {"why": f"accepted none of the {figures['n']} pairs"})}


def measure(specs: list[Any], path: Path = MEASURED_PAIRS) -> dict[str, Any]:
    """The precision of the combination of `specs` (resolved) on the measurement pairs, with its Wilson interval."""
    from synth_assets.quality.calibration import run_validators
    from synth_assets.quality.validators import build_validators

    judges = [s.name for s in specs if s.kind in JUDGE_KINDS]
    if judges:
        return {"pairs": path.name, "pairs_sha256": file_sha256(path), "validators": [s.name for s in specs],
                "measured": False, "why": f"{', '.join(judges)}: an LLM judge is not measured inline (synth calibrate "
                "measures it)", "precision": None, "low": None, "high": None, "n": None, "accepted": None}
    pairs = measurement_pairs(path)
    verdicts, _ = run_validators(pairs, build_validators(specs))
    accepted = [all(verdicts[s.name][i].accepted for s in specs) for i in range(len(pairs))]
    return _measured(specs, path, scores(accepted, [p.same for p in pairs]))


def _key(specs: list[Any], path: Path) -> str:
    return f"{CACHE_PREFIX}/{cache_key(specs, file_sha256(path))}.json"


def record(store: Any, specs: list[Any], path: Path, pairs: list[LabelledPair], figures: dict[str, Any]) -> dict[str, Any] | None:
    """Keep a measurement made elsewhere (`synth calibrate`: judges included) as the precision of `specs`, when
    `pairs` are the measurement pairs of `path`; None (nothing kept) for any other pairs."""
    if [p.line for p in pairs] != [p.line for p in measurement_pairs(path)]:
        return None
    result = _measured(specs, path, figures)
    store.write_bytes(_key(specs, path), json.dumps(result, indent=2).encode())
    return result


def cached_measure(store: Any, specs: list[Any], path: Path = MEASURED_PAIRS) -> dict[str, Any]:
    """`measure`, computed once per validator set and pairs file in `store` (or `record`ed by `synth calibrate`)."""
    key = _key(specs, path)
    try:
        return json.loads(store.read_bytes(key))
    except FileNotFoundError:
        pass
    result = measure(specs, path)
    store.write_bytes(key, json.dumps(result, indent=2).encode())
    return result


def estimated_correct(rewrite_rate: float, measured: dict[str, Any]) -> dict[str, Any]:
    """estimated_correct_rate and its interval, plus the validators' precision they come from (None: not measured)."""
    precision, low, high = measured.get("precision"), measured.get("low"), measured.get("high")
    known = precision is not None
    return {"estimated_correct_rate": rewrite_rate * precision if known else None,
            "estimated_correct_low": rewrite_rate * low if known else None,
            "estimated_correct_high": rewrite_rate * high if known else None,
            "validator_precision": precision, "validator_precision_low": low, "validator_precision_high": high,
            "validator_precision_pairs": f"{measured.get('pairs')} ({measured['n']} pairs)" if known else
            measured.get("why", "not measured")}
