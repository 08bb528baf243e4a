"""Validators of rewrites: `rules`, `similarity` and an LLM `judge`, combined by `AllOf`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from synth_assets.quality.validators.base import AllOf, Candidate, Outcome, Validator, Verdict
from synth_assets.quality.validators.judge import ChatFn, JudgeValidator, ResourceChat
from synth_assets.quality.validators.rules import RulesValidator
from synth_assets.quality.validators.similarity import SimilarityValidator
from synth_assets.quality.validators.specs import (
    JudgeSpec,
    RulesSpec,
    SimilaritySpec,
    SpecDefaults,
    ValidatorSpec,
    ValidatorSpecError,
    parse_specs,
    resolve_specs,
)


def build_validators(specs: list[Any], *, chat: ChatFn | None = None, chat_for: Callable[[JudgeSpec], ChatFn] | None = None,
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
        else:
            judge_chat = chat_for(spec) if chat_for is not None else chat
            if judge_chat is None:
                raise ValidatorSpecError(f"validator {spec.name!r} (judge) needs a chat callable: pass chat=")
            validators.append(JudgeValidator(spec, judge_chat))
    return validators


__all__ = [
    "AllOf", "Candidate", "ChatFn", "JudgeSpec", "JudgeValidator", "Outcome", "ResourceChat", "RulesSpec",
    "RulesValidator", "SimilaritySpec", "SimilarityValidator", "SpecDefaults", "Validator", "ValidatorSpec",
    "ValidatorSpecError", "Verdict", "build_validators", "parse_specs", "resolve_specs",
]
