"""OpenAI-compatible chat backend over the official `openai` SDK (OpenAI, vLLM serve, llama.cpp servers)."""

from __future__ import annotations

from typing import Any

import openai
from openai import AsyncOpenAI

from synth_assets.llm.backends.base import Completion
from synth_assets.llm.retry import RequestError, TransientError, parse_retry_after


def request_kwargs(model: str, messages: list[dict[str, str]], params: dict[str, Any]) -> dict[str, Any]:
    """Keyword arguments of `chat.completions.create` for one sample (n=1; unset options omitted)."""
    kwargs: dict[str, Any] = {"model": model, "messages": messages, "n": 1}
    kwargs.update({k: v for k, v in params.items() if v is not None and k not in ("logprobs", "top_logprobs")})
    if params.get("logprobs"):
        kwargs["logprobs"] = True
        if params.get("top_logprobs"):
            kwargs["top_logprobs"] = params["top_logprobs"]
    return kwargs


class OpenAICompatBackend:
    """One `AsyncOpenAI` client per call (bound to that call's event loop); SDK retries off, we count ours."""

    def __init__(self, base_url: str | None, api_key: str, timeout_s: float):
        self.client = AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)

    async def complete(self, model: str, messages: list[dict[str, str]], params: dict[str, Any]) -> Completion:
        try:
            resp = await self.client.chat.completions.create(**request_kwargs(model, messages, params))
        except openai.APIStatusError as e:
            message = f"HTTP {e.status_code}: {e.message}"
            if e.status_code == 429 or e.status_code >= 500:
                raise TransientError(message, parse_retry_after(e.response.headers.get("retry-after"))) from e
            raise RequestError(message) from e
        except openai.APIConnectionError as e:  # includes APITimeoutError
            raise TransientError(f"{type(e).__name__}: {e}") from e
        except openai.OpenAIError as e:
            raise RequestError(f"{type(e).__name__}: {e}") from e
        except ValueError as e:  # undecodable JSON body
            raise RequestError(f"malformed response: {e}") from e
        return parse_completion(resp)

    async def aclose(self) -> None:
        await self.client.close()


def parse_completion(resp: Any) -> Completion:
    """Completion from an SDK response; anything not shaped like a chat completion is a `RequestError`."""
    try:
        choice = resp.choices[0]
        text = choice.message.content
        if not isinstance(text, str):
            raise TypeError(f"message content is {type(text).__name__}")
        usage = resp.usage
        logprobs = None
        if choice.logprobs is not None and choice.logprobs.content:
            logprobs = [_token(t) for t in choice.logprobs.content]
        return Completion(
            text=text,
            finish_reason=choice.finish_reason,
            prompt_tokens=int(usage.prompt_tokens) if usage else 0,
            completion_tokens=int(usage.completion_tokens) if usage else 0,
            logprobs=logprobs,
        )
    except (AttributeError, IndexError, KeyError, TypeError, ValueError) as e:
        raise RequestError(f"malformed response: {type(e).__name__}: {e}") from e


def _token(t: Any) -> dict[str, Any]:
    """One generated token's log-probability, with the alternatives when `top_logprobs` was asked for."""
    out: dict[str, Any] = {"token": t.token, "logprob": t.logprob}
    if getattr(t, "top_logprobs", None):
        out["top_logprobs"] = [{"token": a.token, "logprob": a.logprob} for a in t.top_logprobs]
    return out
