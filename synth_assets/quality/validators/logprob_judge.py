"""`logprob_judge`: an LLM asked "does the rewrite mean the same? yes or no", scored from log-probabilities.

One request per candidate, `max_tokens` 1 at temperature 0, with `top_logprobs`: P(same) = P(yes) / (P(yes) +
P(no)), each summed over the alternatives of the first answer token that read "yes" / "no" (any case, leading
space). The score is a probability, not a parsed sentence, so it can be thresholded (`min_same_prob`) and fed
to a fitted profile. An answer without "yes" or "no" among the alternatives (or a failed request) is a failed
verdict (not accepted).
"""

from __future__ import annotations

import math
from typing import Any

from synth_assets.llm.types import ChatRequest, ChatResponse
from synth_assets.quality.validators.base import Candidate, Verdict
from synth_assets.quality.validators.judge import ChatFn, few_shot_turns, judge_messages
from synth_assets.quality.validators.specs import LogprobJudgeSpec

YES, NO = "yes", "no"


def yes_no_probability(response: ChatResponse) -> float | None:
    """P(yes) / (P(yes) + P(no)) from the first token's alternatives, or None when neither is among them."""
    if not response.logprobs:
        return None
    first = response.logprobs[0]
    alternatives = first.get("top_logprobs") or [{"token": first.get("token", ""), "logprob": first.get("logprob")}]
    mass = {YES: 0.0, NO: 0.0}
    for alt in alternatives:
        word = str(alt.get("token", "")).strip().lower()
        if word in mass and alt.get("logprob") is not None:
            mass[word] += math.exp(float(alt["logprob"]))
    total = mass[YES] + mass[NO]
    return mass[YES] / total if total > 0 else None


class LogprobJudgeValidator:
    """Keeps `requests_sent` and `failed_requests`; score = P(same)."""

    def __init__(self, spec: LogprobJudgeSpec, chat: ChatFn):
        if spec.prompt is None or spec.system is None or spec.examples is None:
            raise ValueError("logprob_judge spec is not resolved: build it with parse_specs/resolve_specs")
        self.spec, self.chat = spec, chat
        self.name = spec.name or "logprob_judge"
        self.requests_sent = self.failed_requests = 0
        self._shots = few_shot_turns(spec.examples, spec.prompt, lambda ex: YES if ex.answer == "same" else NO)

    def messages(self, c: Candidate) -> list[dict[str, str]]:
        return judge_messages(self.spec.system, self._shots, self.spec.prompt, c)

    def request(self, c: Candidate) -> ChatRequest:
        return ChatRequest(messages=self.messages(c), model=self.spec.model, max_tokens=1, temperature=0.0,
                           seed=self.spec.seed, logprobs=True, top_logprobs=self.spec.top_logprobs)

    def validate(self, candidates: list[Candidate]) -> list[Verdict]:
        responses = self.chat([self.request(c) for c in candidates]) if candidates else []
        self.requests_sent += len(candidates)
        return [self._verdict(r) for r in responses]

    def _verdict(self, response: ChatResponse) -> Verdict:
        p_same = yes_no_probability(response) if response.ok else None
        if p_same is None:
            self.failed_requests += 1
            problem = f"request failed: {response.error}" if not response.ok else f"no yes/no among the top tokens ({_first(response)!r})"
            return Verdict(self.name, False, None, f"judge failed: {problem}", failed=True)
        accepted = p_same >= self.spec.min_same_prob
        return Verdict(self.name, accepted, round(p_same, 4),
                       f"P(same)={p_same:.2f} {'>=' if accepted else '<'} {self.spec.min_same_prob}")


def _first(response: ChatResponse) -> Any:
    return response.logprobs[0].get("token") if response.logprobs else response.text
