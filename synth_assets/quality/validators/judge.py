"""`judge`: an LLM judge whose answer is JSON constrained by a schema.

The schema goes out as an OpenAI `response_format` of type `json_schema` (strict): llama.cpp's
server turns it into a grammar, OpenAI enforces it as structured output, vLLM as guided decoding.
An answer that still does not parse (e.g. cut off at `max_tokens`) is re-asked up to
`max_json_retries` times with another seed (so the LLM cache cannot return the same answer) and
at `retry_temperature`; after that it is a failed request (`failed_requests`, `Verdict.failed`).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError

from synth_assets.core.prompt_values import prompt_fields
from synth_assets.llm.types import ChatRequest, ChatResponse, LLMUsage
from synth_assets.quality.validators.base import Candidate, Verdict
from synth_assets.quality.validators.specs import JudgeExample, JudgeSpec

ChatFn = Callable[[list[ChatRequest]], list[ChatResponse]]
_VERDICT_VALUE = re.compile(r'"verdict"\s*:\s*"')


class JudgeAnswer(BaseModel):
    verdict: Literal["same", "not the same"]
    score: int = Field(ge=1, le=5)
    reason: str


def response_format(reason_max_chars: int) -> dict[str, Any]:
    """The verdict schema as an OpenAI `response_format` (the reason is bounded so it fits max_tokens)."""
    properties = {
        "verdict": {"type": "string", "enum": ["same", "not the same"]},
        "score": {"type": "integer", "enum": [1, 2, 3, 4, 5]},
        "reason": {"type": "string", "maxLength": reason_max_chars},
    }
    schema = {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}
    return {"type": "json_schema", "json_schema": {"name": "rewrite_verdict", "strict": True, "schema": schema}}


def parse_answer(text: str | None, reason_max_chars: int) -> JudgeAnswer | None:
    """The answer, or None when it is not JSON of the schema's shape."""
    try:
        answer = JudgeAnswer.model_validate(json.loads(text or ""))
    except (ValueError, ValidationError):
        return None
    return answer if len(answer.reason) <= reason_max_chars else None


def same_probability(answer: JudgeAnswer, logprobs: list[dict[str, Any]] | None) -> float | None:
    """P(same) from the log-probability of the verdict's first token, or None when not returned.

    Backends return the chosen token's log-probability only, so this is p(chosen) for "same" and
    1 - p(chosen) for "not the same": an approximation of the two-way probability."""
    if not logprobs:
        return None
    stream, starts = "", []
    for item in logprobs:
        starts.append(len(stream))
        stream += item.get("token", "")
    match = _VERDICT_VALUE.search(stream)
    if match is None:
        return None
    position = max(i for i, start in enumerate(starts) if start <= match.end())
    if starts[position] + len(logprobs[position].get("token", "")) <= match.end() and position + 1 < len(logprobs):
        position += 1  # the quote ended its token: the verdict starts with the next one
    p = math.exp(float(logprobs[position]["logprob"]))
    return p if answer.verdict == "same" else 1.0 - p


class _PromptFields(dict):
    def __init__(self, values: dict[str, Any], where: str):
        super().__init__(values)
        self.where = where

    def __missing__(self, key: str) -> Any:
        raise ValueError(f"judge prompt placeholder {{{key}}} is not available in {self.where} (fields: {', '.join(sorted(self))})")


def fill(prompt: str, values: dict[str, Any], where: str) -> str:
    """`prompt.format_map(values)` with errors that name the placeholder and where it was filled."""
    try:
        return prompt.format_map(_PromptFields(values, where))
    except (IndexError, ValueError, KeyError, AttributeError, TypeError) as exc:
        if "placeholder" in str(exc):
            raise
        raise ValueError(f"judge prompt cannot be filled for {where}: {exc} (write literal braces as {{{{ and }}}})") from None


def judge_values(row: dict[str, Any], original: str, rephrased: str, field: str) -> dict[str, Any]:
    """What a judge prompt is filled with: the row's fields, `{original}` and `{text}` (the value before),
    `{rephrased}` and `{field_name}` (its concrete path)."""
    return {**row, "text": original, "original": original, "rephrased": rephrased, "field_name": field}


def example_values(example: dict[str, Any]) -> dict[str, Any]:
    """What a few-shot example fills the same prompt with: its own keys, `{text}` its original."""
    return {"field_name": "", "text": example.get("original", ""), **example}


def few_shot_turns(examples: list[JudgeExample], prompt: str, answer: Callable[[JudgeExample], str]) -> list[dict[str, str]]:
    """Each example as a user turn (the prompt filled with it) and the assistant's `answer(example)`."""
    turns = []
    for i, ex in enumerate(examples):
        values = prompt_fields(example_values(ex.model_dump(exclude_none=True)))
        turns += [{"role": "user", "content": fill(prompt, values, f"examples[{i}]")}, {"role": "assistant", "content": answer(ex)}]
    return turns


def judge_messages(system: str, shots: list[dict[str, str]], prompt: str, c: Candidate) -> list[dict[str, str]]:
    """The system turn, the few-shot turns and the prompt filled with the candidate's row, original and rewrite."""
    values = judge_values({k: v for k, v in c.row.items() if not k.startswith("_")}, c.original, c.rewrite, c.field)
    question = fill(prompt, values, f"the row of field {c.field!r}")
    return [{"role": "system", "content": system}, *shots, {"role": "user", "content": question}]


def _json_answer(ex: JudgeExample) -> str:
    same = ex.answer == "same"
    return json.dumps({"verdict": ex.answer, "score": ex.score or (5 if same else 1),
                       "reason": ex.reason or ("same meaning in other words" if same else "the meaning changed")})


class JudgeValidator:
    """Asks an injected `chat` callable; keeps `requests_sent`, `json_retries` and `failed_requests`."""

    def __init__(self, spec: JudgeSpec, chat: ChatFn):
        if spec.prompt is None or spec.system is None or spec.examples is None:
            raise ValueError("judge spec is not resolved: build it with parse_specs/resolve_specs")
        self.spec, self.chat = spec, chat
        self.name = spec.name or "judge"
        self.requests_sent = self.json_retries = self.failed_requests = 0
        self._format = response_format(spec.reason_max_chars)
        self._shots = few_shot_turns(spec.examples, spec.prompt, _json_answer)

    def messages(self, c: Candidate) -> list[dict[str, str]]:
        return judge_messages(self.spec.system, self._shots, self.spec.prompt, c)

    def _request(self, messages: list[dict[str, str]], attempt: int) -> ChatRequest:
        s = self.spec
        return ChatRequest(messages=messages, model=s.model, max_tokens=s.max_tokens, seed=s.seed + attempt,
                           temperature=s.temperature if attempt == 0 else max(s.temperature, s.retry_temperature),
                           response_format=self._format, logprobs=s.logprobs)

    def validate(self, candidates: list[Candidate]) -> list[Verdict]:
        messages = [self.messages(c) for c in candidates]
        verdicts: list[Verdict | None] = [None] * len(candidates)
        last_problem = ["no answer"] * len(candidates)
        todo = list(range(len(candidates)))
        for attempt in range(self.spec.max_json_retries + 1):
            if not todo:
                break
            if attempt:
                self.json_retries += len(todo)
            responses = self.chat([self._request(messages[i], attempt) for i in todo])
            self.requests_sent += len(todo)
            again = []
            for i, response in zip(todo, responses):
                if not response.ok:  # the LLM layer already retried what can be retried
                    last_problem[i] = f"request failed: {response.error}"
                    continue
                answer = parse_answer(response.text, self.spec.reason_max_chars)
                if answer is None:
                    cut = " (cut off at max_tokens)" if response.finish_reason == "length" else ""
                    last_problem[i] = f"invalid JSON{cut}"
                    again.append(i)
                else:
                    verdicts[i] = self._verdict(answer, response)
            todo = again
        out = []
        for i, verdict in enumerate(verdicts):
            if verdict is None:
                self.failed_requests += 1
                verdict = Verdict(self.name, False, None, f"judge failed: {last_problem[i]}", failed=True)
            out.append(verdict)
        return out

    def _verdict(self, answer: JudgeAnswer, response: ChatResponse) -> Verdict:
        said = f"{answer.verdict} ({answer.score}/5): {answer.reason.strip()[:80]}".rstrip(": ")
        if not self.spec.logprobs:
            return Verdict(self.name, answer.verdict == "same", float(answer.score), said)
        p_same = same_probability(answer, response.logprobs)
        if p_same is None:
            return Verdict(self.name, answer.verdict == "same", float(answer.score), f"{said} [no logprobs returned]")
        accepted = p_same >= self.spec.min_same_prob
        decision = f"{'same' if accepted else 'not the same'} (P(same)={p_same:.2f}, {answer.score}/5)"
        return Verdict(self.name, accepted, round(p_same, 4), f"{decision}: {answer.reason.strip()[:80]}".rstrip(": "))


class ResourceChat:
    """A `ChatFn` over anything with the `LLMClient.chat` signature; adds up the usage."""

    def __init__(self, llm: Any, **chat_kwargs: Any):
        self.llm, self.chat_kwargs = llm, chat_kwargs
        self.usage = LLMUsage()

    def __call__(self, requests: list[ChatRequest]) -> list[ChatResponse]:
        result = self.llm.chat(requests, **self.chat_kwargs)
        self.usage = self.usage + result.usage
        return list(result.responses)  # n=1: one response per request, in request order
