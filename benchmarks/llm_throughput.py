"""LLM layer throughput benchmark (not a test). Prints ratios measured in one run.

(a) LLMClient vs a raw AsyncOpenAI client, same concurrency, against the fake OpenAI server with fixed
    50 ms latency (separate process); plus the achieved request rate with an rpm limit.
(b) LLMClient vs raw HTTP calls to the embedded llama.cpp (xllamacpp) server: tokens/s.
(c) Cache replay: cached responses per second.

    .venv/bin/python benchmarks/llm_throughput.py [--quick] [--skip-local] [--rounds R]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import httpx
from openai import AsyncOpenAI

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from synth_assets.llm.backends import local_server  # noqa: E402
from synth_assets.llm.backends.openai_compat import request_kwargs  # noqa: E402
from synth_assets.llm.client import LLMClient  # noqa: E402
from synth_assets.llm.types import ChatRequest  # noqa: E402
from synth_assets.testing import fake_openai_server  # noqa: E402


def requests(n: int, tag: str, **fields) -> list[ChatRequest]:
    return [ChatRequest(messages=[{"role": "user", "content": f"{tag} {i}"}], **fields) for i in range(n)]


async def raw_openai(base_url: str, reqs: list[ChatRequest], concurrency: int) -> float:
    """The same request bodies through a bare AsyncOpenAI client, semaphore-bounded."""
    client = AsyncOpenAI(base_url=base_url, api_key="sk-bench", max_retries=0)
    sem = asyncio.Semaphore(concurrency)

    async def one(r: ChatRequest) -> None:
        async with sem:
            await client.chat.completions.create(**request_kwargs("gpt-4o-mini", r.messages, r.sample_params(0)))

    started = time.perf_counter()
    await asyncio.gather(*(one(r) for r in reqs))
    elapsed = time.perf_counter() - started
    await client.close()
    return len(reqs) / elapsed


async def resource_rate(llm: LLMClient, reqs: list[ChatRequest]) -> float:
    started = time.perf_counter()
    result = await llm.achat(reqs, use_cache=False)
    elapsed = time.perf_counter() - started
    assert result.usage.failures == 0, result.usage
    return len(reqs) / elapsed


def bench_openai_compat(args, cache_dir: str) -> None:
    proc, base_url = fake_openai_server.start(latency=0.05, max_seconds=600)
    root = base_url.removesuffix("/v1")
    try:
        for concurrency in args.concurrency:
            reqs = requests(concurrency * args.rounds, f"c{concurrency}", max_tokens=16)
            llm = LLMClient(backend="openai", base_url=base_url, api_key="sk-bench", max_in_flight=concurrency,
                            cache_path=f"{cache_dir}/a.sqlite")
            asyncio.run(raw_openai(base_url, reqs[:concurrency], concurrency))  # warm-up
            raw, res = [], []
            for _ in range(args.repeats):  # interleaved; best of each
                raw.append(asyncio.run(raw_openai(base_url, reqs, concurrency)))
                res.append(asyncio.run(resource_rate(llm, reqs)))
            print(f"(a) {concurrency:>4} in flight: raw AsyncOpenAI {max(raw):8.1f} req/s | resource {max(res):8.1f} req/s"
                  f" | ratio {max(res) / max(raw):.3f}x (target >= 0.95)")

        rpm, n = 600, args.rpm_requests
        httpx.post(f"{root}/control", json={"reset": True, "latency": 0.0})
        llm = LLMClient(backend="openai", base_url=base_url, api_key="sk-bench", max_in_flight=64, rpm=rpm,
                        cache_path=f"{cache_dir}/a.sqlite")
        asyncio.run(resource_rate(llm, requests(n, "rpm")))
        arrivals = sorted(httpx.get(f"{root}/counts").json()["arrivals"])
        achieved = (len(arrivals) - 1) * 60 / (arrivals[-1] - arrivals[0])
        worst_second = max(sum(1 for u in arrivals[i:] if u - t < 1.0) for i, t in enumerate(arrivals))
        print(f"(a) rpm={rpm}: {n} requests at {achieved:.1f} req/min (limit {rpm}); max in any 1 s window: "
              f"{worst_second} (limit {rpm // 60})")
        bench_cache_replay(args, base_url, cache_dir)
    finally:
        proc.kill()
        proc.wait()


async def raw_llama(base_url: str, model: str, reqs: list[ChatRequest], concurrency: int) -> tuple[int, float]:
    """The same request bodies POSTed with plain httpx, semaphore-bounded."""
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=base_url, timeout=600) as client:

        async def one(r: ChatRequest) -> int:
            async with sem:
                resp = await client.post("/v1/chat/completions", json=request_kwargs(model, r.messages, r.sample_params(0)))
                return resp.json()["usage"]["completion_tokens"]

        started = time.perf_counter()
        tokens = sum(await asyncio.gather(*(one(r) for r in reqs)))
        return tokens, time.perf_counter() - started


def bench_local(args, cache_dir: str) -> None:
    llm = LLMClient(max_in_flight=args.local_concurrency, cache_path=f"{cache_dir}/b.sqlite")
    base_url = local_server.ensure_server(llm._server_spec())
    reqs = requests(args.local_requests, "Write one sentence about the number", max_tokens=32, temperature=0, seed=1)
    model = llm.resolved_model()
    asyncio.run(raw_llama(base_url, model, reqs, args.local_concurrency))  # warm-up (fills llama.cpp's prompt cache)

    def raw() -> float:
        tokens, elapsed = asyncio.run(raw_llama(base_url, model, reqs, args.local_concurrency))
        return tokens / elapsed

    def resource() -> float:
        result = llm.chat(reqs, use_cache=False)
        return result.usage.completion_tokens / result.usage.wall_s

    raws, res = [], []
    for i in range(args.repeats):  # alternate which side goes first; best of each
        for side in ((raw, resource) if i % 2 == 0 else (resource, raw)):
            (raws if side is raw else res).append(side())
    print(f"(b) xllamacpp, {args.local_concurrency} in flight: raw HTTP {max(raws):7.1f} tok/s | resource "
          f"{max(res):7.1f} tok/s | ratio {max(res) / max(raws):.3f}x (target >= 0.9)")


def bench_cache_replay(args, base_url: str, cache_dir: str) -> None:
    llm = LLMClient(backend="openai", base_url=base_url, api_key="sk-bench", max_in_flight=256,
                    cache_path=f"{cache_dir}/c.sqlite")
    reqs = requests(args.cache_n, "cached", max_tokens=16)
    fill = llm.chat(reqs)
    assert fill.usage.failures == 0
    result = llm.chat(reqs)
    assert result.usage.cache_hits == len(reqs)
    print(f"(c) cache replay: {len(reqs)} responses in {result.usage.wall_s:.3f} s = "
          f"{len(reqs) / result.usage.wall_s:,.0f} responses/s (target >= 10,000)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer requests everywhere (~1 minute)")
    parser.add_argument("--skip-local", action="store_true", help="skip (b), the real-model part")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--rounds", type=int, default=12, help="(a): requests = concurrency x rounds")
    parser.add_argument("--repeats", type=int, default=3, help="measurements per side (best kept)")
    parser.add_argument("--rpm-requests", type=int, default=40)
    parser.add_argument("--local-requests", type=int, default=16)
    parser.add_argument("--local-concurrency", type=int, default=8)
    parser.add_argument("--cache-n", type=int, default=10000)
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.repeats, args.rpm_requests, args.local_requests, args.cache_n = 6, 1, 20, 8, 3000
    print(f"cores={os.cpu_count()}")
    with tempfile.TemporaryDirectory() as cache_dir:
        bench_openai_compat(args, cache_dir)
        if not args.skip_local:
            bench_local(args, cache_dir)


if __name__ == "__main__":
    main()
