"""`synth calibrate --fit`: fit validator thresholds (and a logistic combination) to labelled pairs, k-fold.

Every validator runs once on every pair; fitting then works on the verdicts' scores, so each fold costs no
validator calls. Two combinations are fitted and cross-validated:

- `all`: every validator must accept; the thresholds (similarity `min`, vocabulary `min_zipf`,
  logprob_judge `min_same_prob`) are chosen by coordinate ascent on accuracy over a grid;
- `logistic`: a logistic regression (scikit-learn) over the validators' scores (similarity, vocabulary,
  judges) and verdicts (rules, inversion), standardised, L2, threshold 0.5.

Folds group the pairs of one source row (`row`) so that a row's rewrites never sit on both sides. The held-out
accuracy is the mean over folds; the written profile is then fitted on all pairs.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from synth_assets.quality.calibration import LabelledPair, run_validators
from synth_assets.quality.profile import FORMAT, Combine, Feature, Profile, feature_value
from synth_assets.quality.validators import Validator, Verdict

GRIDS: dict[str, dict[str, list[float]]] = {
    # similarity `max` is not fitted: it rejects near-copies, which mean the same but are no rewrites (a policy, not
    # something labelled pairs can measure)
    "similarity": {"min": [round(float(x), 2) for x in np.arange(0.3, 0.96, 0.05)]},
    "vocabulary": {"min_zipf": [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]},
    "logprob_judge": {"min_same_prob": [round(float(x), 2) for x in np.arange(0.05, 0.96, 0.05)]},
}
SCORED = {"similarity", "vocabulary", "logprob_judge", "judge"}


def _accepts(kind: str, params: dict[str, float], verdict: Verdict) -> bool:
    """A verdict re-decided under other thresholds (validators without a fitted threshold keep their decision)."""
    if kind not in GRIDS or verdict.score is None or verdict.failed:
        return verdict.accepted
    s = verdict.score
    if kind == "similarity":
        return params["min"] <= s <= params.get("max", 1.0)
    if kind == "vocabulary":
        return s >= params["min_zipf"]
    return s >= params["min_same_prob"]


def _all_predictions(specs: list[dict], verdicts: dict[str, list[Verdict]], params: dict[str, dict], rows: list[int]) -> np.ndarray:
    out = np.ones(len(rows), dtype=bool)
    for spec in specs:
        name = spec["name"]
        out &= np.array([_accepts(spec["kind"], params.get(name, {}), verdicts[name][i]) for i in rows])
    return out


def fit_all(specs: list[dict], verdicts: dict[str, list[Verdict]], labels: np.ndarray, rows: list[int]) -> dict[str, dict]:
    """Thresholds of the all-must-accept combination by coordinate ascent (two sweeps) on accuracy over `rows`."""
    params = {s["name"]: {k: s[k] for k in [*GRIDS[s["kind"]], "max"] if k in s} for s in specs if s["kind"] in GRIDS}
    y = labels[rows]
    for _ in range(2):
        for spec in specs:
            if spec["kind"] not in GRIDS:
                continue
            for key, grid in GRIDS[spec["kind"]].items():
                best = None
                for value in grid:
                    trial = {**params, spec["name"]: {**params[spec["name"]], key: value}}
                    accuracy = float(np.mean(_all_predictions(specs, verdicts, trial, rows) == y))
                    if best is None or accuracy > best[0] + 1e-12:
                        best = (accuracy, value)
                params[spec["name"]][key] = best[1]
    return params


def features_of(specs: list[dict]) -> list[Feature]:
    return [Feature(validator=s["name"], use="score" if s["kind"] in SCORED else "accepted") for s in specs]


def _matrix(features: list[Feature], verdicts: dict[str, list[Verdict]], rows: list[int]) -> np.ndarray:
    return np.array([[feature_value(verdicts[f.validator][i], f.use) for f in features] for i in rows], dtype=float)


def fit_logistic(specs: list[dict], verdicts: dict[str, list[Verdict]], labels: np.ndarray, rows: list[int]) -> Combine:
    """A logistic regression on standardised features, returned with coefficients on the raw features."""
    from sklearn.linear_model import LogisticRegression

    features = features_of(specs)
    x, y = _matrix(features, verdicts, rows), labels[rows]
    mean, std = x.mean(axis=0), x.std(axis=0)
    std[std == 0] = 1.0
    model = LogisticRegression(C=1.0, max_iter=1000).fit((x - mean) / std, y)
    coef = model.coef_[0] / std
    intercept = float(model.intercept_[0] - np.sum(model.coef_[0] * mean / std))
    return Combine(kind="logistic", features=features, coef=[round(float(c), 6) for c in coef], intercept=round(intercept, 6))


def predict_logistic(combine: Combine, verdicts: dict[str, list[Verdict]], rows: list[int]) -> np.ndarray:
    z = _matrix(combine.features, verdicts, rows) @ np.array(combine.coef) + combine.intercept
    return 1.0 / (1.0 + np.exp(-np.clip(z, -50, 50))) >= combine.threshold


def _folds(pairs: list[LabelledPair], k: int, seed: int) -> list[list[int]]:
    """k folds of pair indices, each source row (dataset, row; else the original text) in one fold."""
    groups = sorted({(p.dataset, p.row or p.original) for p in pairs})
    order = np.random.default_rng(seed).permutation(len(groups))
    fold_of = {groups[g]: n % k for n, g in enumerate(order)}
    return [[i for i, p in enumerate(pairs) if fold_of[(p.dataset, p.row or p.original)] == f] for f in range(k)]


def fit(pairs: list[LabelledPair], validators: list[Validator], specs: list[dict], *, folds: int = 5,
        combine: str = "best", seed: int = 0, source: str = "") -> tuple[Profile, dict[str, Any]]:
    """Fit both combinations with k-fold cross-validation; the profile keeps `combine` ("all", "logistic" or the
    better held-out accuracy for "best"), refitted on all pairs. `specs`: the validators' specs as dicts, in order."""
    if len(pairs) < 2 * folds:
        raise ValueError(f"{len(pairs)} pairs are too few for {folds}-fold cross-validation")
    if len({p.same for p in pairs}) < 2:
        raise ValueError("the pairs need both labels, 'same' and 'not the same'")
    verdicts, seconds = run_validators(pairs, validators)
    labels = np.array([p.same for p in pairs])
    held_out: dict[str, list[float]] = {"all": [], "logistic": []}
    for fold in _folds(pairs, folds, seed):
        held = set(fold)
        train = [i for i in range(len(pairs)) if i not in held]
        params = fit_all(specs, verdicts, labels, train)
        held_out["all"].append(float(np.mean(_all_predictions(specs, verdicts, params, fold) == labels[fold])))
        model = fit_logistic(specs, verdicts, labels, train)
        held_out["logistic"].append(float(np.mean(predict_logistic(model, verdicts, fold) == labels[fold])))
    cv = {kind: float(np.mean(v)) for kind, v in held_out.items()}
    chosen = max(cv, key=lambda kind: (cv[kind], kind == "all")) if combine == "best" else combine
    everything = list(range(len(pairs)))
    params = fit_all(specs, verdicts, labels, everything)
    fitted_specs = [{**s, **params.get(s["name"], {})} for s in specs]
    model = Combine() if chosen == "all" else fit_logistic(fitted_specs, verdicts, labels, everything)
    figures = {"source": source, "n": len(pairs), "folds": folds, "seed": seed, "combine": chosen,
               "cv_accuracy": {k: round(v, 4) for k, v in cv.items()},
               "cv_accuracy_per_fold": {k: [round(x, 4) for x in v] for k, v in held_out.items()},
               "pairs_per_s": round(len(pairs) / sum(seconds.values()), 1) if sum(seconds.values()) else None}
    profile = Profile(format=FORMAT, validators=fitted_specs, combine=model, fitted=figures)
    return profile, figures
