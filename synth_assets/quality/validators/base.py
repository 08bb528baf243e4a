"""What a validator judges (`Candidate`), what it answers (`Verdict`), and the all-must-accept combinator."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable


@dataclass(frozen=True)
class Candidate:
    """One rewrite to judge.

    `row` is the whole original record, so prompts and rules can use any dataset field;
    `finish_reason` comes from the generating LLM ("length" = truncated).
    """

    original: str
    rewrite: str
    field: str
    row: dict[str, Any] = field(default_factory=dict)
    finish_reason: str | None = None
    label_field: str | None = None


@dataclass(frozen=True)
class Verdict:
    """One validator's decision on one candidate. `failed`: no decision could be made (e.g. the
    judge's request failed or never returned valid JSON); such a candidate is not accepted."""

    validator: str
    accepted: bool
    score: float | None
    reason: str
    failed: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class Validator(Protocol):
    """Judges candidates in batches; returns one verdict per candidate, in order."""

    name: str

    def validate(self, candidates: list[Candidate]) -> list[Verdict]: ...


@dataclass
class Outcome:
    """The combined decision on one candidate: accepted only if every validator that ran accepted.
    `skipped` names the validators not asked because an earlier one had already rejected."""

    accepted: bool
    verdicts: list[Verdict]
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "verdicts": [v.to_dict() for v in self.verdicts], "skipped": self.skipped}


class AllOf:
    """Runs validators in order (cheap ones first); a candidate is accepted only if all accept.

    With `short_circuit` (default) a validator only sees the candidates every earlier validator
    accepted, so an LLM judge is not paid for rewrites the rules already rejected.
    `seconds[name]` accumulates each validator's wall time.
    """

    def __init__(self, validators: list[Validator], *, short_circuit: bool = True):
        names = [v.name for v in validators]
        if len(set(names)) != len(names):
            raise ValueError(f"validator names must be unique, got {names}; give repeated kinds a `name`")
        self.validators = validators
        self.short_circuit = short_circuit
        self.seconds: dict[str, float] = {name: 0.0 for name in names}

    @property
    def name(self) -> str:
        return "+".join(v.name for v in self.validators)

    def judge(self, candidates: list[Candidate]) -> list[Outcome]:
        outcomes = [Outcome(accepted=True, verdicts=[]) for _ in candidates]
        for validator in self.validators:
            todo = [i for i, o in enumerate(outcomes) if o.accepted or not self.short_circuit]
            asked = set(todo)
            for i, outcome in enumerate(outcomes):
                if i not in asked:
                    outcome.skipped.append(validator.name)
            if not todo:
                continue
            started = time.perf_counter()
            verdicts = validator.validate([candidates[i] for i in todo])
            self.seconds[validator.name] += time.perf_counter() - started
            if len(verdicts) != len(todo):
                raise RuntimeError(f"validator {validator.name!r} returned {len(verdicts)} verdicts for {len(todo)} candidates")
            for i, verdict in zip(todo, verdicts):
                outcomes[i].verdicts.append(verdict)
                outcomes[i].accepted = outcomes[i].accepted and verdict.accepted
        return outcomes

    def validate(self, candidates: list[Candidate]) -> list[Verdict]:
        """The combination as one validator: the first rejecting verdict's reason, else "accepted"."""
        out = []
        for outcome in self.judge(candidates):
            rejecting = next((v for v in outcome.verdicts if not v.accepted), None)
            out.append(Verdict(self.name, outcome.accepted, None, rejecting.reason if rejecting else "accepted",
                               failed=any(v.failed for v in outcome.verdicts)))
        return out
