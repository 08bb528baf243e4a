"""Validator configs: pydantic specs, a union discriminated on `kind`, the bare-string shorthand,
and resolution of every default so that `model_dump()` can go into a fingerprint.

    validators: [rules, {kind: similarity, min: 0.6}, {kind: judge, max_json_retries: 1}]
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from synth_assets.core.models import DEFAULT_BACKEND, DEFAULT_EMBEDDING_MODEL, Backend, default_model
from synth_assets.core.numbers import NoBoolNumbers

KINDS = ("rules", "similarity", "judge", "vocabulary", "inversion", "logprob_judge")

DEFAULT_JUDGE_SYSTEM = (
    "You check rewrites of dataset fields. Decide whether the rewrite keeps the exact meaning of the original: "
    "the same events, people, numbers, negations and who does what to whom. Different wording is fine. "
    'Reply with a JSON object: verdict ("same" or "not the same"), score (1 = unrelated meaning, '
    "5 = exactly the same meaning) and a short reason."
)
DEFAULT_JUDGE_PROMPT = (
    "Original {field_name}: {original}\n"
    "Rewrite: {rephrased}\n"
    "Does the rewrite mean exactly the same as the original?"
)
DEFAULT_LOGPROB_SYSTEM = (
    "You check rewrites of dataset fields. A rewrite is good when it keeps the exact meaning of the original: the same "
    "events, people, numbers, negations and who does what to whom, in correct English. Different wording is fine. "
    "Answer with one word: yes or no."
)
DEFAULT_LOGPROB_PROMPT = "Original: {original}\nRewrite: {rephrased}\nDoes the rewrite mean exactly the same as the original?"


class _Spec(NoBoolNumbers):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, description="Name in verdicts and provenance (default: the kind)")

    @model_validator(mode="after")
    def _default_name(self):
        if self.name is None:
            self.name = self.kind  # type: ignore[attr-defined]
        return self


class RulesSpec(_Spec):
    """Deterministic checks; each can be switched off (false, or null for the bounds)."""

    kind: Literal["rules"] = "rules"
    identical: bool = True
    truncation: bool = True
    length_ratio: tuple[float, float] | None = (0.5, 2.0)
    negation: bool = True
    numbers: bool = True
    names: bool = True
    word_order: bool = True
    required_words_field: str | None = Field(None, description="Row field listing words the rewrite must contain")
    max_words: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _ordered_bounds(self) -> "RulesSpec":
        if self.length_ratio is not None and not 0 < self.length_ratio[0] <= self.length_ratio[1]:
            raise ValueError(f"length_ratio must be [low, high] with 0 < low <= high, got {list(self.length_ratio)}")
        return self


class SimilaritySpec(_Spec):
    """Cosine similarity of sentence embeddings within [min, max]; max rejects near-copies."""

    kind: Literal["similarity"] = "similarity"
    min: float = Field(0.6, ge=-1.0, le=1.0)
    max: float = Field(0.99, ge=-1.0, le=1.0)
    model: str = Field(DEFAULT_EMBEDDING_MODEL, description="all-MiniLM-L6-v2 (offline package) or a local model folder")
    backend: Literal["sentence-transformers", "model2vec"] = "sentence-transformers"

    @model_validator(mode="before")
    @classmethod
    def _null_model(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("model", "") is None:
            data = {**data, "model": DEFAULT_EMBEDDING_MODEL}
        return data

    @model_validator(mode="after")
    def _ordered(self) -> "SimilaritySpec":
        if self.min > self.max:
            raise ValueError(f"min ({self.min}) must not exceed max ({self.max})")
        return self


class JudgeExample(NoBoolNumbers):
    """A few-shot example; other keys fill other placeholders of the prompt."""

    model_config = ConfigDict(extra="allow")

    original: str
    rephrased: str
    answer: Literal["same", "not the same"]
    score: int | None = Field(None, ge=1, le=5)
    reason: str | None = None


class JudgeSpec(_Spec):
    """An LLM judge answering JSON constrained by a schema. `prompt`, `system` and `examples` left
    null take the catalog's validation prompt and examples (see `resolve_specs`), else built-ins."""

    kind: Literal["judge"] = "judge"
    temperature: float = Field(0.0, ge=0.0, le=2.0)
    max_tokens: int = Field(96, ge=16)
    prompt: str | None = None
    system: str | None = None
    examples: list[JudgeExample] | None = None
    backend: Backend = DEFAULT_BACKEND
    model: str | None = None
    seed: int = 0
    max_json_retries: int = Field(2, ge=0, le=10)
    retry_temperature: float = Field(0.7, ge=0.0, le=2.0, description="re-asks sample: at temperature 0 a re-ask repeats itself")
    logprobs: bool = False
    min_same_prob: float = Field(0.5, ge=0.0, le=1.0, description="with logprobs: accept when P(same) >= this")
    reason_max_chars: int = Field(160, ge=8, le=2000)

    @model_validator(mode="after")
    def _default_model(self) -> "JudgeSpec":
        if self.model is None:
            self.model = default_model(self.backend)
            if self.model is None:
                raise ValueError(f"model is required for backend {self.backend!r}")
        return self


class VocabularySpec(_Spec):
    """Every word the rewrite adds is a known English word (wordfreq Zipf frequency >= min_zipf)."""

    kind: Literal["vocabulary"] = "vocabulary"
    min_zipf: float = Field(1.0, ge=0.0, le=8.0, description="0 accepts any word wordfreq has seen; 3 = once per million")


class InversionSpec(_Spec):
    """An odd number of polarity flips (antonym swaps, negation changes) between original and rewrite rejects it."""

    kind: Literal["inversion"] = "inversion"
    antonyms: bool = True
    negation: bool = True


class LogprobJudgeSpec(_Spec):
    """An LLM asked a yes/no question, scored P(same) = P(yes) / (P(yes) + P(no)) from the first answer token's
    `top_logprobs`. `model` on the local backend is a GGUF file path or the name of a GGUF found by
    `resolve_gguf`; examples left null take the catalog's validation examples (answer same -> yes)."""

    kind: Literal["logprob_judge"] = "logprob_judge"
    backend: Backend = DEFAULT_BACKEND
    model: str | None = None
    prompt: str | None = None
    system: str | None = None
    examples: list[JudgeExample] | None = None
    min_same_prob: float = Field(0.5, ge=0.0, le=1.0, description="accept when P(same) >= this")
    top_logprobs: int = Field(10, ge=2, le=20)
    seed: int = 0

    @model_validator(mode="after")
    def _default_model(self) -> "LogprobJudgeSpec":
        if self.model is None:
            self.model = default_model(self.backend)
            if self.model is None:
                raise ValueError(f"model is required for backend {self.backend!r}")
        return self


def _shorthand(value: Any) -> Any:
    """`"rules"` means `{kind: rules}`."""
    if isinstance(value, str):
        if value not in KINDS:
            raise ValueError(f"unknown validator {value!r}; choose one of {', '.join(KINDS)}")
        return {"kind": value}
    return value


ValidatorSpec = Annotated[
    Annotated[Union[RulesSpec, SimilaritySpec, JudgeSpec, VocabularySpec, InversionSpec, LogprobJudgeSpec],
              Field(discriminator="kind")],
    BeforeValidator(_shorthand),
]
"""Use as a field type in a config model (`validators: list[ValidatorSpec]`) to get its errors
with file, line and field from the project's `validate_model`."""

_LIST = TypeAdapter(list[ValidatorSpec])


class ValidatorSpecError(ValueError):
    """A validator spec that does not validate; the message names the entry and the field."""


@dataclass(frozen=True)
class SpecDefaults:
    """What an unset judge prompt, system prompt and examples take: usually the catalog entry's."""

    prompt: str | None = None
    system: str | None = None
    examples: list[dict[str, Any]] | None = None


JUDGE_SPECS: dict[str, type[_Spec]] = {"judge": JudgeSpec, "logprob_judge": LogprobJudgeSpec}
JUDGE_KINDS = tuple(JUDGE_SPECS)  # the validators that ask an LLM (a backend and a model, one request per pair)

AnySpec = Union[RulesSpec, SimilaritySpec, JudgeSpec, VocabularySpec, InversionSpec, LogprobJudgeSpec]


def parse_specs(raw: list[Any], *, defaults: SpecDefaults | None = None, where: str = "validators") -> list[AnySpec]:
    """Validate raw specs (dicts, strings or spec objects) and resolve every default."""
    if not isinstance(raw, list):
        raise ValidatorSpecError(f"{where}: expected a list of validators, got {type(raw).__name__}")
    try:
        specs = _LIST.validate_python([s.model_dump() if isinstance(s, BaseModel) else s for s in raw])
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = list(err["loc"])
        index = loc.pop(0)
        loc = [p for p in loc if p not in KINDS]  # the union branch name
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        raise ValidatorSpecError(f"{where}[{index}]{''.join(f'.{p}' for p in loc)}: {msg}") from None
    return resolve_specs(specs, defaults)


def resolve_specs(specs: list[Any], defaults: SpecDefaults | None = None) -> list[AnySpec]:
    """Specs with judge prompts/examples filled from `defaults`, then from the built-ins."""
    defaults = defaults or SpecDefaults()
    out = []
    for spec in specs:
        if isinstance(spec, JudgeSpec):
            examples = spec.examples if spec.examples is not None else [JudgeExample(**e) for e in defaults.examples or []]
            spec = spec.model_copy(update={
                "prompt": spec.prompt or defaults.prompt or DEFAULT_JUDGE_PROMPT,
                "system": spec.system or defaults.system or DEFAULT_JUDGE_SYSTEM,
                "examples": examples,
            })
        elif isinstance(spec, LogprobJudgeSpec):
            examples = spec.examples if spec.examples is not None else [JudgeExample(**e) for e in defaults.examples or []]
            spec = spec.model_copy(update={"prompt": spec.prompt or DEFAULT_LOGPROB_PROMPT,
                                           "system": spec.system or DEFAULT_LOGPROB_SYSTEM, "examples": examples})
        out.append(spec)
    names = [s.name for s in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValidatorSpecError(f"validators: names must be unique, {duplicates} repeated (set `name` on one of them)")
    return out
