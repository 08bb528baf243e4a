"""Offline vLLM engine backend (GPU machines). vllm is imported lazily, only when this backend runs."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from synth_assets.llm.backends.base import Completion

_engines: dict[str, Any] = {}
_lock = threading.Lock()


def sampling_kwargs(params: dict[str, Any]) -> dict[str, Any]:
    """`vllm.SamplingParams` keyword arguments for one sample's request fields (n=1)."""
    kwargs: dict[str, Any] = {
        "n": 1,
        "temperature": params["temperature"],
        "top_p": params["top_p"],
        "max_tokens": params["max_tokens"],
        "frequency_penalty": params["frequency_penalty"],
        "presence_penalty": params["presence_penalty"],
    }
    if params.get("seed") is not None:
        kwargs["seed"] = params["seed"]
    if params.get("stop"):
        kwargs["stop"] = list(params["stop"])
    if params.get("logprobs"):
        kwargs["logprobs"] = params.get("top_logprobs") or 1
    return kwargs


def structured_output(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    """Keyword arguments of vLLM's structured-output params for an OpenAI `response_format`, or None."""
    kind = (response_format or {}).get("type")
    if kind == "json_object":
        return {"json_object": True}
    if kind == "json_schema":
        return {"json": response_format["json_schema"].get("schema", {})}
    return None


def _sampling_params(params: dict[str, Any]) -> Any:
    import vllm

    kwargs = sampling_kwargs(params)
    structured = structured_output(params.get("response_format"))
    if structured is not None:
        try:
            from vllm.sampling_params import StructuredOutputsParams

            kwargs["structured_outputs"] = StructuredOutputsParams(**structured)
        except ImportError:  # vLLM < 0.10
            from vllm.sampling_params import GuidedDecodingParams

            kwargs["guided_decoding"] = GuidedDecodingParams(**structured)
    return vllm.SamplingParams(**kwargs)


def _engine(model: str) -> Any:
    with _lock:
        if model not in _engines:
            import vllm

            _engines[model] = vllm.LLM(model=model)
        return _engines[model]


def _completion(output: Any) -> Completion:
    out = output.outputs[0]
    logprobs = None
    if out.logprobs:
        logprobs = [{"token": step[tok].decoded_token, "logprob": step[tok].logprob,
                     "top_logprobs": [{"token": lp.decoded_token, "logprob": lp.logprob}
                                      for lp in sorted(step.values(), key=lambda lp: -lp.logprob)]}
                    for tok, step in zip(out.token_ids, out.logprobs)]
    return Completion(
        text=out.text,
        finish_reason=out.finish_reason,
        prompt_tokens=len(output.prompt_token_ids or []),
        completion_tokens=len(out.token_ids),
        logprobs=logprobs,
    )


class VLLMBackend:
    """Runs a whole batch of samples through one `LLM.chat` call (vLLM schedules them itself)."""

    async def complete_batch(self, model: str, items: list[tuple[list[dict[str, str]], dict[str, Any]]]) -> list[Completion]:
        def run() -> list[Completion]:
            outputs = _engine(model).chat(
                [messages for messages, _ in items], [_sampling_params(p) for _, p in items], use_tqdm=False
            )
            return [_completion(o) for o in outputs]

        return await asyncio.to_thread(run)

    async def aclose(self) -> None:
        return None
