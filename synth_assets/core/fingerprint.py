"""Parameter fingerprints: same fingerprint = same data.

Scheme `synth/1`: sha256 over canonical JSON (sorted keys, no whitespace, floats canonical so
`1` == `1.0` and `0.70` == `0.7`). Each stage has its own fingerprint over its parameters plus its
upstream stage's fingerprint, so experiments that differ only downstream share upstream stages.

Covered: backend kind, model, every sampling parameter (defaults applied), full prompt texts and
k-shot examples, rewritten fields, recipe, sample selection (split, limit, seed), validation
parameters and prompts, and a content hash of the source files.

Excluded (they do not change the data):

| setting                              | why                                  |
|--------------------------------------|--------------------------------------|
| concurrency, max_in_flight, n_parallel | scheduling only                    |
| rpm / tpm rate limits, retries, timeouts | scheduling only                  |
| API keys, base URLs                  | secrets / where, not what            |
| experiment.batch_id, purpose, description | organisation, not content       |
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from dataclasses import dataclass
from typing import Any

from synth_assets.core.config import Experiment

SCHEME = "synth/1"
LEGACY_SCHEME = "legacy-md5/1"


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"cannot fingerprint non-finite number {value}")
        return int(value) if float(value).is_integer() else float(repr(float(value)))
    if isinstance(value, dict):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    raise TypeError(f"cannot fingerprint {type(value).__name__}")


def canonical_json(value: Any) -> str:
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def digest(value: Any) -> str:
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def short(fingerprint: str) -> str:
    return fingerprint[:12]


def _sampling(section) -> dict[str, Any]:
    return section.model_dump(include={"backend", "model", "temperature", "top_p", "max_tokens", "frequency_penalty", "presence_penalty", "seed"})


@dataclass(frozen=True)
class Fingerprints:
    """The experiment fingerprint and the stage fingerprints it is made of."""

    source: str
    generated: str
    validated: str
    experiment: str
    params: dict[str, Any]

    @property
    def stages(self) -> dict[str, str]:
        return {"source": self.source, "generated": self.generated, "validated": self.validated, "published": self.experiment}


def fingerprint(exp: Experiment) -> Fingerprints:
    """Compute every stage fingerprint of an experiment."""
    cfg, entry = exp.config, exp.entry
    source = {
        "scheme": SCHEME,
        "stage": "source",
        "recipe": entry.recipe,
        "dataset": entry.name,
        "data_sha256": entry.content_hash,
        "split": cfg.dataset.split,
        "limit": cfg.dataset.limit,
        "sample": cfg.dataset.sample,
        "sample_seed": cfg.dataset.seed,
    }
    generation = {
        **_sampling(cfg.generation),
        "prompt": exp.generation_prompt(),
        "system_prompt": exp.system_prompt(),
    }
    if entry.recipe == "rephrase":
        generation["rewrite_fields"] = exp.rewrite_fields()
    else:
        generation["k_shot"] = cfg.generation.k_shot
        generation["max_words"] = exp.max_words()
    validation: dict[str, Any] | None = None
    if cfg.validation is not None:
        if entry.recipe == "rephrase":
            validation = {**_sampling(cfg.validation), "prompt": exp.validation_prompt(), "examples": exp.validation_examples()}
        else:
            validation = {"rules": "stories/1", "max_words": exp.max_words()}
        validation["min_pass_rate"] = cfg.validation.min_pass_rate
    source_fp = digest(source)
    generated_fp = digest({"scheme": SCHEME, "stage": "generated", "upstream": source_fp, **generation})
    validated_fp = digest({"scheme": SCHEME, "stage": "validated", "upstream": generated_fp, "validation": validation})
    experiment_fp = digest({"scheme": SCHEME, "stage": "published", "upstream": validated_fp})
    params = {"source": source, "generation": generation, "validation": validation}
    return Fingerprints(source_fp, generated_fp, validated_fp, experiment_fp, _canonical(params))


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


def _number_slug(value: float) -> str:
    text = f"{value:.2f}".rstrip("0")
    text = text + "0" if text.endswith(".") else text
    return text.replace(".", "").replace("-", "m")


def semantic_name(exp: Experiment) -> str:
    """`temp07_topp10_gpt4o`: temperature, top_p and model of the generation stage."""
    g = exp.config.generation
    return f"temp{_number_slug(g.temperature)}_topp{_number_slug(g.top_p)}_{model_slug(g.model or '')}"


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
