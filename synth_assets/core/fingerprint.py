"""Parameter fingerprints: same fingerprint = same data.

A fingerprint is sha256 over canonical JSON (sorted keys, no whitespace, floats canonical so `1` ==
`1.0` and `0.70` == `0.7`). Every stage of a recipe has its own fingerprint over
`{"scheme", "stage", "upstream": <previous stage's fingerprint>, **its parameters}` (the first stage
has no upstream; a stage may name another upstream in its parameters), so experiments that differ
only downstream share their upstream stages. A registration's fingerprint is its last stage's.

Schemes are versioned strings (`synth/1` for experiments and translation-judge drops,
`synth-curation/1` for curation); a scheme never changes meaning. What each recipe puts into each
stage is documented in its package. Excluded everywhere (they do not change the data):

| setting                                   | why                          |
|-------------------------------------------|------------------------------|
| concurrency, max_in_flight, n_parallel    | scheduling only              |
| rpm / tpm rate limits, retries, timeouts  | scheduling only              |
| failure budgets (`max_failure_rate`)      | whether to publish, not what |
| API keys, base URLs                       | secrets / where, not what    |
| experiment.batch_id, purpose, description | organisation, not content    |
| evaluation (evaluators of the data)       | measures the data, not it    |
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

SCHEME = "synth/1"


def canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"cannot fingerprint non-finite number {value}")
        return int(value) if float(value).is_integer() else float(repr(float(value)))
    if isinstance(value, dict):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def canonical_json(value: Any) -> str:
    return json.dumps(canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def short(fingerprint: str) -> str:
    return fingerprint[:12]


@dataclass(frozen=True)
class Fingerprints:
    """The stage fingerprints of one registration (in stage order) and the parameters they cover."""

    scheme: str
    stages: dict[str, str]
    params: dict[str, Any]

    @property
    def experiment(self) -> str:
        """The registration's fingerprint: its last stage's."""
        return list(self.stages.values())[-1]

    def __getattr__(self, stage: str) -> str:
        """A stage's fingerprint by name: `fps.generated`."""
        stages = self.__dict__.get("stages", {})
        if stage in stages:
            return stages[stage]
        raise AttributeError(f"no stage {stage!r} (stages: {', '.join(stages)})")


def stage_fingerprints(scheme: str, stage_params: dict[str, dict[str, Any]]) -> dict[str, str]:
    """Fingerprint every stage (in order) over its parameters and the previous stage's fingerprint."""
    out: dict[str, str] = {}
    upstream = None
    for stage, params in stage_params.items():
        out[stage] = digest({"scheme": scheme, "stage": stage, **({"upstream": upstream} if upstream else {}), **params})
        upstream = out[stage]
    return out


_MODEL_SLUGS = {
    "gpt-4o": "gpt4o",
    "gpt-4o-mini": "gpt4omini",
    "gpt-3.5-turbo": "gpt35",
    "gpt-4": "gpt4",
    "gpt-4-turbo": "gpt4turbo",
    "gpt-4.1": "gpt41",
    "gpt-4.1-mini": "gpt41mini",
    "gpt-4.1-nano": "gpt41nano",
}


def model_slug(model: str) -> str:
    """Short model names as users know them: gpt-4o -> gpt4o, gpt-3.5-turbo -> gpt35."""
    name = model.rsplit("/", 1)[-1].lower()
    if name in _MODEL_SLUGS:
        return _MODEL_SLUGS[name]
    name = re.sub(r"[-_.]?(instruct|chat|gguf|q\d(_\w+)?|f16|bf16|awq|gptq)\b.*$", "", name)
    name = re.sub(r"-\d+(\.\d+)?[mb]$", "", name)
    return re.sub(r"[^a-z0-9]", "", name)[:20] or "model"


def number_slug(value: float) -> str:
    """`0.7` -> `07`, `1.0` -> `10`, `-0.5` -> `m05`: numbers in semantic names."""
    text = f"{value:.2f}".rstrip("0")
    text = text + "0" if text.endswith(".") else text
    return text.replace(".", "").replace("-", "m")


def legacy_fingerprint(config: dict[str, Any]) -> str:
    """The old tooling's scheme, exactly, to adopt existing trees."""
    gen = config.get("generation") or {}
    val = config.get("validation")
    params: dict[str, Any] = {
        "gen_model": gen.get("model"),
        "gen_temperature": gen.get("temperature"),
        "gen_top_p": gen.get("top_p", 1.0),
        "gen_max_tokens": gen.get("max_tokens", 256),
        "gen_frequency_penalty": gen.get("frequency_penalty", 0.0),
        "gen_presence_penalty": gen.get("presence_penalty", 0.0),
    }
    if val is not None:
        params["val_model"] = val.get("model")
        params["val_temperature"] = val.get("temperature", 0.0)
    params["gen_prompt_hash"] = hashlib.md5((gen.get("rephrase_prompt") or "").encode()).hexdigest()[:8]
    if val is not None:
        params["val_prompt_hash"] = hashlib.md5((val.get("validation_prompt") or "").encode()).hexdigest()[:8]
    return hashlib.md5(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]
