"""Validation profiles: validators with fitted thresholds, and how their verdicts combine.

A profile file (JSON) is what `synth calibrate --fit` writes and a config names (`validation: {profile: FILE}`):

    {"format": "synth-validation-profile/1",
     "validators": [<validator specs, thresholds fitted>],
     "combine": {"kind": "all"}                       # every validator must accept
              | {"kind": "logistic", "features": [{"validator": "similarity", "use": "score"}, ...],
                 "coef": [...], "intercept": b, "threshold": 0.5},    # P(same) = sigmoid(coef . x + b)
     "fitted": {"pairs": ..., "n": ..., "folds": k, "cv_accuracy": ..., ...}}   # how it was made (not fingerprinted)

`fit` lives in `quality/fitting.py`; this module only reads profiles and applies the logistic combination.
"""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from synth_assets.core.yaml_lines import ConfigError
from synth_assets.quality.validators.base import Candidate, Outcome, Validator, Verdict

FORMAT = "synth-validation-profile/1"
SHIPPED_PROFILE = Path(__file__).resolve().parent / "profiles" / "default.json"


class Feature(BaseModel):
    model_config = ConfigDict(extra="forbid")

    validator: str
    use: Literal["score", "accepted"]


class Combine(BaseModel):
    """How verdicts combine: `all` (every validator accepts) or a logistic model over their scores."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["all", "logistic"] = "all"
    features: list[Feature] = Field(default_factory=list)
    coef: list[float] = Field(default_factory=list)
    intercept: float = 0.0
    threshold: float = Field(0.5, gt=0.0, lt=1.0)

    @model_validator(mode="after")
    def _shape(self) -> "Combine":
        if self.kind == "logistic" and (not self.features or len(self.coef) != len(self.features)):
            raise ValueError(f"logistic needs one coef per feature, got {len(self.coef)} coef for {len(self.features)} features")
        return self


class Profile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["synth-validation-profile/1"] = FORMAT
    validators: list[dict[str, Any] | str]  # validator specs as in a config (`rules` = `{kind: rules}`)
    combine: Combine = Field(default_factory=Combine)
    fitted: dict[str, Any] = Field(default_factory=dict)


def load_profile(path: str | Path) -> Profile:
    """Read a profile; a bad file raises `ConfigError` naming the file and the field."""
    try:
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(path, "validation profile not found") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(path, f"not a JSON validation profile: {exc}") from None
    try:
        profile = Profile.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise ConfigError(path, err["msg"], field=".".join(str(p) for p in err["loc"]) or None) from None
    names = [v if isinstance(v, str) else v.get("name") or v.get("kind") for v in profile.validators]
    missing = [f.validator for f in profile.combine.features if f.validator not in names]
    if missing:
        raise ConfigError(path, f"feature of validator {missing[0]!r}, which the profile does not have (validators: {names})",
                          field="combine.features")
    return profile


def feature_value(verdict: Verdict, use: str) -> float:
    """A verdict as a number: its score (a failed or unscored verdict counts 0) or 1/0 for accepted."""
    if use == "accepted":
        return 1.0 if verdict.accepted else 0.0
    return 0.0 if verdict.failed or verdict.score is None else float(verdict.score)


def probability(combine: Combine, verdicts: dict[str, Verdict]) -> float:
    z = combine.intercept + sum(c * feature_value(verdicts[f.validator], f.use) for c, f in zip(combine.coef, combine.features))
    return 1.0 / (1.0 + math.exp(-max(min(z, 50.0), -50.0)))


class Logistic:
    """Runs every validator on every candidate (no short-circuit: the model needs all scores) and accepts when the
    fitted P(same) reaches the threshold. Same interface as `AllOf` (`judge`, `validate`, `seconds`)."""

    def __init__(self, validators: list[Validator], combine: Combine):
        self.validators, self.combine = validators, combine
        self.seconds: dict[str, float] = {v.name: 0.0 for v in validators}

    @property
    def name(self) -> str:
        return "logistic(" + "+".join(v.name for v in self.validators) + ")"

    def judge(self, candidates: list[Candidate]) -> list[Outcome]:
        per_validator = {}
        for validator in self.validators:
            started = time.perf_counter()
            per_validator[validator.name] = validator.validate(candidates) if candidates else []
            self.seconds[validator.name] += time.perf_counter() - started
        outcomes = []
        for i in range(len(candidates)):
            verdicts = {name: vs[i] for name, vs in per_validator.items()}
            p = probability(self.combine, verdicts)
            combined = Verdict("profile", p >= self.combine.threshold, round(p, 4), f"P(same)={p:.2f} (fitted profile)")
            outcomes.append(Outcome(combined.accepted, [*verdicts.values(), combined]))
        return outcomes

    def validate(self, candidates: list[Candidate]) -> list[Verdict]:
        return [o.verdicts[-1] for o in self.judge(candidates)]
