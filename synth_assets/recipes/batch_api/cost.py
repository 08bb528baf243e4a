"""Cost of a batch: estimated before submitting (prompt tokens x price + max completion tokens x price,
times the batch discount) and actual from the usage of the results."""

from __future__ import annotations

import json
from typing import Any

from synth_assets.llm.pricing import PriceTable, load_prices
from synth_assets.llm.tokens import count_prompt_tokens

DEFAULT_COMPLETION_TOKENS = 1024  # bound used when a request sets no max_tokens (marked approximate)


def _messages(body: dict[str, Any]) -> list[dict[str, str]]:
    out = []
    for m in body.get("messages") or []:
        content = m.get("content")
        out.append({"role": str(m.get("role", "user")), "content": content if isinstance(content, str) else json.dumps(content)})
    if not out and "prompt" in body:
        out.append({"role": "user", "content": str(body["prompt"])})
    if not out and "input" in body:
        out.append({"role": "user", "content": json.dumps(body["input"])})
    return out


def estimate(requests: list[dict[str, Any]], prices: PriceTable | None = None, *, batch: bool = True,
             free: bool = False) -> dict[str, Any]:
    """Tokens and USD of batch input lines before sending (completion tokens at their bound); `free` for local runs."""
    prices = PriceTable(models={}) if free else (prices or load_prices())
    prompt = completion = 0
    cost = cost_full = 0.0
    approximate = False
    models: set[str] = set()
    for r in requests:
        body = r.get("body") or {}
        model = str(body.get("model") or "")
        models.add(model)
        n = int(body.get("n") or 1)
        tokens, approx = count_prompt_tokens(model, _messages(body)) if _messages(body) else (0, True)
        bound = body.get("max_completion_tokens") or body.get("max_tokens")
        if bound is None:
            bound, approx = DEFAULT_COMPLETION_TOKENS, True
        approximate |= approx
        prompt += tokens
        completion += int(bound) * n
        cost += prices.cost(model, tokens, int(bound) * n, batch=batch)
        cost_full += prices.cost(model, tokens, int(bound) * n)
    return {"requests": len(requests), "model": ", ".join(sorted(models)), "prompt_tokens": prompt,
            "completion_tokens_max": completion, "cost_usd": round(cost, 9), "cost_usd_without_batch_discount": round(cost_full, 9),
            "batch_discount": prices.batch_discount if batch else 1.0, "approximate": approximate}


def actual(lines: list[Any], model: str, prices: PriceTable | None, *, charged: bool = True) -> dict[str, Any]:
    """Usage of completed result lines (`results.ResultLine`), priced at the batch rate when charged."""
    prices = prices or load_prices()
    prompt = sum(line.usage["prompt_tokens"] for line in lines if line.ok)
    completion = sum(line.usage["completion_tokens"] for line in lines if line.ok)
    failed = sum(1 for line in lines if line.status == "failed")
    cost = prices.cost(model, prompt, completion, batch=True) if charged else 0.0
    return {"requests": len(lines), "failures": failed, "prompt_tokens": prompt, "completion_tokens": completion,
            "cost_usd": round(cost, 9)}
