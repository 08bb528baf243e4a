"""What an experiment config's `evaluation:` list holds, and each evaluator's fingerprint.

```yaml
evaluation:
  - {name: probe, kind: probe}                       # built in: logistic regression over sentence embeddings
  - name: trainer
    kind: command
    command: "python trainer.py --train {train} --validation {validation} --out {metrics_json}"
    metric: accuracy
    timeout_s: 1800
  - {name: mine, kind: python, entry_point: "my_pkg.evals:score", params: {epochs: 2}}
```

An evaluator's fingerprint covers what changes its result: its kind, command or entry point, params,
metric, whether it measures the baseline, `code_version` (bump it when the trainer's code changes)
and, for the probe, the probe's own version and embedding model. Not covered (they do not change a
result): its name (a label; results are stored under it) and `timeout_s`. The `evaluation`
key never changes an experiment's fingerprint: evaluating data does not change the data.
"""

from __future__ import annotations

import string
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from synth_assets.core.fingerprint import digest
from synth_assets.core.names import check_safe_name
from synth_assets.core.yaml_lines import ConfigError, line_for

SCHEME = "synth-eval/1"
PROBE_VERSION = "probe/1"  # bump when the probe's features, model or statistics change
DEFAULT_EMBEDDING_MODEL = "all-MiniLM-L6-v2"
PLACEHOLDERS = ("train", "validation", "metrics_json", "fingerprint", "workdir")


class _Evaluator(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    metric: str = "accuracy"
    baseline: bool = Field(default=True, description="also evaluate the original rows of the same selection (the difference's reference)")
    timeout_s: float | None = Field(default=None, gt=0, description="not fingerprinted")
    code_version: str = ""

    _check_name = field_validator("name")(lambda v: check_safe_name(v, "evaluator name"))

    def fingerprint_params(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude={"name", "timeout_s"})

    @property
    def fingerprint(self) -> str:
        return digest({"scheme": SCHEME, **self.fingerprint_params()})


class ProbeEvaluator(_Evaluator):
    """Built in: for catalog classification and multiple-choice datasets (a label field)."""

    kind: Literal["probe"]
    embedding_model: str = DEFAULT_EMBEDDING_MODEL
    bootstrap: int = Field(default=1000, ge=100, le=100_000)

    def fingerprint_params(self) -> dict[str, Any]:
        return {**super().fingerprint_params(), "probe": PROBE_VERSION}


class CommandEvaluator(_Evaluator):
    """The user's trainer as a shell command that writes a JSON of metrics to `{metrics_json}`."""

    kind: Literal["command"]
    command: str

    @field_validator("command")
    @classmethod
    def _placeholders(cls, value: str) -> str:
        names = {field for _, field, _, _ in string.Formatter().parse(value) if field is not None}
        unknown = sorted(n for n in names if n not in PLACEHOLDERS)
        if unknown:
            raise ValueError(f"unknown placeholder {{{unknown[0]}}} (known: {', '.join('{' + p + '}' for p in PLACEHOLDERS)})")
        if "metrics_json" not in names:
            raise ValueError("the command must write its metrics to {metrics_json}")
        return value


class PythonEvaluator(_Evaluator):
    """`module:function(train_rows, validation_rows, params) -> {metric: value, ...}`."""

    kind: Literal["python"]
    entry_point: str = Field(pattern=r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
    params: dict[str, Any] = Field(default_factory=dict)


EvaluatorSpec = Annotated[ProbeEvaluator | CommandEvaluator | PythonEvaluator, Field(discriminator="kind")]


def check_unique_names(specs: list[Any]) -> list[Any]:
    names = [s.name for s in specs]
    doubled = sorted({n for n in names if names.count(n) > 1})
    if doubled:
        raise ValueError(f"evaluator name {doubled[0]!r} is used twice")
    return specs


def check_evaluators(specs: list[Any] | None, entry: Any, split: str, path: str, lines: dict, *, evaluated: bool) -> None:
    """Before anything is registered: the dataset can be evaluated the way the evaluators ask (a validation split to
    score on, other than the training rows; a label field for the probe). Errors name file, line and field."""
    for index, spec in enumerate(specs or []):
        where = {"line": line_for(lines, ("evaluation", index)), "field": f"evaluation[{index}]"}
        if not evaluated:  # the recipe gets no evaluation asset (`Recipe.evaluated`)
            raise ConfigError(path, f"evaluator {spec.name!r}: evaluations are made of rephrase experiments (catalog datasets with "
                                    f"train and validation splits), and dataset {entry.name} uses the {entry.recipe} recipe", **where)
        if "validation" not in entry.splits or split == "validation":
            raise ConfigError(path, f"evaluator {spec.name!r}: dataset {entry.name} has no validation split apart from the "
                                    f"training rows (its splits: {', '.join(entry.splits)}): nothing to score on", **where)
        if spec.kind == "probe" and not entry.label_field:
            raise ConfigError(path, f"evaluator {spec.name!r}: the probe needs a label, and dataset {entry.name} has no "
                                    "label_field in its catalog entry", **where)
