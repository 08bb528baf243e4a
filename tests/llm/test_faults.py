"""Fault injection against the fake OpenAI server: exact attempt counts, failures isolated per request."""

from __future__ import annotations

import json
import time

from synth_assets.llm.types import ChatRequest
from tests.llm.conftest import user


def test_429_with_retry_after_then_success(fake, make_llm):
    fake.control(rules={"busy": {"status": 429, "times": 1, "retry_after": 1}})
    started = time.monotonic()
    result = make_llm(max_retries=3).chat([user("busy")], use_cache=False)
    elapsed = time.monotonic() - started
    (response,) = result.responses
    assert response.ok and response.text == "echo: busy"
    assert fake.counts()["received"] == {"busy": 2}
    assert result.usage.retries == 1 and result.usage.failures == 0
    assert elapsed >= 0.95  # waited for Retry-After, not the 10 ms backoff


def test_500_storm_exact_attempts_then_recorded_failure(fake, make_llm):
    fake.control(rules={"storm": {"status": 500}})
    result = make_llm(max_retries=3).chat([user("storm"), user("calm")], use_cache=False)
    storm, calm = result.responses
    assert fake.counts()["received"] == {"storm": 4, "calm": 1}
    assert not storm.ok and "500" in storm.error and storm.text is None
    assert calm.ok
    assert result.usage.failures == 1 and result.usage.retries == 3


def test_timeouts_are_retried_then_fail(fake, make_llm):
    fake.control(rules={"slow": {"sleep": 3}})
    result = make_llm(max_retries=1, timeout_s=0.4).chat([user("slow")], use_cache=False)
    (response,) = result.responses
    assert not response.ok and "Timeout" in response.error
    assert fake.counts()["received"] == {"slow": 2}
    assert result.usage.retries == 1


def test_malformed_body_fails_that_request_only(fake, make_llm):
    fake.control(rules={"garbled": {"malformed": True}})
    result = make_llm(max_retries=3).chat([user("garbled"), user("fine")], use_cache=False)
    garbled, fine = result.responses
    assert not garbled.ok and "malformed" in garbled.error
    assert fine.ok
    assert fake.counts()["received"] == {"garbled": 1, "fine": 1}


def test_one_400_among_many(fake, make_llm):
    fake.control(rules={"req 7": {"status": 400}})
    requests = [user(f"req {i}") for i in range(20)]
    result = make_llm(max_retries=3, max_in_flight=5).chat(requests, use_cache=False)
    failed = [r for r in result.responses if not r.ok]
    assert [r.request_index for r in failed] == [7] and "400" in failed[0].error
    assert all(r.ok for r in result.responses if r.request_index != 7)
    assert fake.counts()["received"] == {f"req {i}": 1 for i in range(20)}
    assert result.usage.failures == 1 and result.usage.retries == 0


def test_failures_are_not_cached(fake, make_llm):
    fake.control(rules={"flaky": {"status": 400, "times": 1}})
    llm = make_llm()
    assert not llm.chat([user("flaky")]).responses[0].ok
    second = llm.chat([user("flaky")]).responses[0]
    assert second.ok and not second.cache_hit
    assert fake.counts()["received"] == {"flaky": 2}


def test_n_samples_use_derived_seeds_and_are_cached_individually(fake, make_llm):
    llm = make_llm()
    first = llm.chat([ChatRequest(**user("multi"), n=3, seed=10)])
    assert [(r.request_index, r.sample_index) for r in first.responses] == [(0, 0), (0, 1), (0, 2)]
    assert fake.counts()["received"] == {"multi": 3}
    again = llm.chat([ChatRequest(**user("multi"), n=4, seed=10)])
    assert [r.cache_hit for r in again.responses] == [True, True, True, False]
    assert again.usage.cache_hits == 3 and fake.counts()["received"] == {"multi": 4}
    assert [len(g) for g in again.by_request()] == [4]


def test_usage_and_cost(fake, make_llm):
    result = make_llm(model="gpt-4o").chat([user("one two three"), user("four")], use_cache=False)
    usage = result.usage
    assert (usage.requests, usage.samples, usage.failures) == (2, 2, 0)
    assert usage.prompt_tokens == 4 and usage.completion_tokens == 6  # the fake counts words
    assert abs(usage.cost_usd - (4 * 2.50 + 6 * 10.00) / 1e6) < 1e-12
    assert set(usage.to_dict()) == {"requests", "samples", "cache_hits", "failures", "retries", "prompt_tokens",
                                    "completion_tokens", "cost_usd", "wall_s"}
    json.dumps(usage.to_dict())


def test_logger_progress_lines(fake, make_llm):
    lines: list[str] = []

    class Log:
        def info(self, msg):
            lines.append(msg)

    make_llm().chat([user(f"p{i}") for i in range(5)], logger=Log(), description="gen")
    assert lines and lines[-1].startswith("gen: 5/5")


def test_rpm_limit_is_respected(fake, make_llm):
    rpm, total = 600, 25  # 10 requests/s
    started = time.monotonic()
    result = make_llm(rpm=rpm, max_in_flight=16).chat([user(f"r{i}") for i in range(total)], use_cache=False)
    elapsed = time.monotonic() - started
    assert all(r.ok for r in result.responses)
    arrivals = sorted(fake.counts()["arrivals"])
    assert len(arrivals) == total
    assert elapsed >= (total - 1) * 60 / rpm * 0.9
    for i, t in enumerate(arrivals):  # no 1-second window holds more than rpm/60 requests (+1 for the edge)
        assert sum(1 for u in arrivals[i:] if u - t < 1.0) <= rpm / 60 + 1


def test_chat_works_inside_a_running_event_loop(fake, make_llm):
    import asyncio

    llm = make_llm()

    async def main():
        return llm.chat([user("loop")], use_cache=False)

    assert asyncio.run(main()).responses[0].text == "echo: loop"


def test_identical_samples_in_one_call_are_sent_once(fake, make_llm):
    result = make_llm().chat([user("twin"), user("twin"), user("other")])
    assert fake.counts()["received"] == {"twin": 1, "other": 1}
    assert [r.cache_hit for r in result.responses] == [False, True, False]
    assert [r.text for r in result.responses] == ["echo: twin", "echo: twin", "echo: other"]


def test_rich_progress_bar_runs(fake, make_llm):
    result = make_llm().chat([user(f"bar {i}") for i in range(3)], progress=True, description="bar")
    assert all(r.ok for r in result.responses)
