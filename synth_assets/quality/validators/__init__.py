"""Validators of rewrites: `rules`, `similarity`, `vocabulary`, `inversion`, an LLM `judge` and a `logprob_judge`,
combined by `AllOf` (all must accept) or a fitted profile's `Logistic` combination."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synth_assets.quality.validators.base import AllOf, Candidate, Outcome, Validator, Verdict
from synth_assets.quality.validators.inversion import InversionValidator
from synth_assets.quality.validators.judge import ChatFn, JudgeValidator, ResourceChat
from synth_assets.quality.validators.logprob_judge import LogprobJudgeValidator
from synth_assets.quality.validators.rules import RulesValidator
from synth_assets.quality.validators.similarity import SimilarityValidator
from synth_assets.quality.validators.vocabulary import VocabularyValidator
from synth_assets.quality.validators.specs import (
    JUDGE_KINDS,
    JUDGE_SPECS,
    InversionSpec,
    JudgeSpec,
    LogprobJudgeSpec,
    RulesSpec,
    SimilaritySpec,
    SpecDefaults,
    ValidatorSpec,
    ValidatorSpecError,
    VocabularySpec,
    parse_specs,
    resolve_specs,
)


def build_validators(specs: list[Any], *, chat: ChatFn | None = None,
                     chat_for: Callable[[JudgeSpec | LogprobJudgeSpec], ChatFn] | None = None,
                     defaults: SpecDefaults | None = None, embedding_batch_size: int = 64) -> list[Validator]:
    """Validator objects for raw or parsed specs, in the given order (put cheap ones first).

    A judge needs `chat`, or `chat_for(spec)` when each judge has its own backend and model; `defaults`
    fill the judge's unset prompt, system prompt and examples (usually from the catalog entry)."""
    validators: list[Validator] = []
    for spec in parse_specs(list(specs), defaults=defaults):
        if isinstance(spec, RulesSpec):
            validators.append(RulesValidator(spec))
        elif isinstance(spec, SimilaritySpec):
            validators.append(SimilarityValidator(spec, batch_size=embedding_batch_size))
        elif isinstance(spec, VocabularySpec):
            validators.append(VocabularyValidator(spec))
        elif isinstance(spec, InversionSpec):
            validators.append(InversionValidator(spec))
        else:
            judge_chat = chat_for(spec) if chat_for is not None else chat
            if judge_chat is None:
                raise ValidatorSpecError(f"validator {spec.name!r} ({spec.kind}) needs a chat callable: pass chat=")
            validators.append(JudgeValidator(spec, judge_chat) if isinstance(spec, JudgeSpec) else LogprobJudgeValidator(spec, judge_chat))
    return validators


__all__ = [
    "AllOf", "Candidate", "ChatFn", "InversionSpec", "JUDGE_KINDS", "JUDGE_SPECS", "InversionValidator", "JudgeSpec", "JudgeValidator", "LogprobJudgeSpec",
    "LogprobJudgeValidator", "Outcome", "ResourceChat", "RulesSpec", "RulesValidator", "SimilaritySpec",
    "SimilarityValidator", "SpecDefaults", "Validator", "ValidatorSpec", "ValidatorSpecError", "Verdict",
    "VocabularySpec", "VocabularyValidator", "build_validators", "parse_specs", "resolve_specs",
]
