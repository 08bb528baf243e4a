"""Fault injection: a small Copa experiment (the fake OpenAI server, which counts requests) is killed with SIGKILL of
its process group at every named point of a run (`synth_assets.core.faults`), then the store is checked
(`invariants`): no view dangles, nothing partial is visible, a rerun completes, no answered request is sent again,
no temporary file or lease is left behind, and the stage cache agrees with the published data."""

from __future__ import annotations

import signal
from collections import Counter

import pytest

from tests.faults import invariants
from tests.safety_support import (
    NAME, child_env, generation_prompts, openai_config, rewrite_rules, rewritten_experiment, synth, train_file, wait_for,
    write_config,
)

pytestmark = pytest.mark.slow

KILLED = -signal.SIGKILL
RUN_POINTS = ["after_registration", "mid_generated", "mid_validated", "mid_publish", "at_shared_swap"]


def killed_at(spawn, env, point: str, *args: str) -> None:
    child = spawn({**env, "SYNTH_KILL_AT": point}, point, *args)
    assert child.wait() == KILLED, f"{point} was never reached:\n{child.output()[-3000:]}"


def test_a_run_killed_at_every_point_resumes_without_repeating_answered_requests(llm, paths, spawn):
    root, home, configs = paths
    config, prompts = rewritten_experiment(llm, configs, "batch_20250101_kills")
    env = child_env(root, home, llm, SYNTH_LEASE_TTL_S="2")
    view = root / "batch_20250101_kills" / "Copa" / NAME
    for point in RUN_POINTS:  # each run goes one point further (answers are cached), then dies there
        killed_at(spawn, env, point, "run", str(config))
        assert invariants.after_kill(root) == [], point
        assert not (view / ".fingerprint").exists(), f"{point}: incomplete data became visible"
        assert all(n <= 1 for n in llm.received().values()), f"{point}: an answered request was sent again"
    done = synth(env, "run", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    assert llm.received() == Counter({content: 1 for content in prompts})  # every answer was kept across five kills
    assert len(train_file(view).read_text().splitlines()) == 4
    assert invariants.settled(root) == []


def test_a_waiting_run_killed_blocks_no_one(llm, paths, spawn):
    root, home, configs = paths
    first = write_config(configs, "holder.yaml", openai_config("batch_20250101_holder", limit=4))
    second = write_config(configs, "waiter.yaml", openai_config("batch_20250102_waiter", limit=4))
    prompts = generation_prompts(first)
    llm.control(rules=rewrite_rules(prompts, "In fact,"), hold_after=0)  # the holder's requests wait until released
    env = child_env(root, home, llm, SYNTH_LEASE_TTL_S="2")
    holder = spawn(env, "holder", "run", str(first))
    wait_for(lambda: llm.counts()["held"] == len(prompts), holder, "the holder's requests", every=0.05)
    killed_at(spawn, env, "waiting_on_lease", "run", str(second))
    llm.control(hold_after=None)
    assert holder.wait() == 0, holder.output()[-3000:]
    again = synth(env, "run", str(second))
    assert again.returncode == 0, again.stdout + again.stderr
    assert llm.received() == Counter({content: 1 for content in prompts})
    assert (root / "batch_20250102_waiter" / "Copa" / NAME / ".fingerprint").is_file()
    assert invariants.settled(root) == []


def test_a_killed_regenerate_keeps_stage_cache_and_published_data_together(llm, paths, spawn):
    root, home, configs = paths
    config, prompts = rewritten_experiment(llm, configs, "batch_20250101_regen")
    env = child_env(root, home, llm, SYNTH_LEASE_TTL_S="2")
    assert synth(env, "run", str(config)).returncode == 0
    view = root / "batch_20250101_regen" / "Copa" / NAME
    fingerprint = (view / ".fingerprint").read_text().strip()
    llm.control(rules=rewrite_rules(prompts, "Indeed,"))

    killed_at(spawn, env, "mid_validated", "regenerate", "--yes", fingerprint[:12])  # new generated stage pending
    assert invariants.after_kill(root) == []
    assert b"In fact," in train_file(view).read_bytes() and invariants.pending_stages(root)

    killed_at(spawn, env, "after_shared_swap", "regenerate", "--yes", fingerprint[:12])  # published, stages pending
    assert b"Indeed," in train_file(view).read_bytes() and invariants.dangling_views(root) == []
    reran = synth(env, "run", str(config))  # complete already: no LLM call; it settles what the dead run left
    assert reran.returncode == 0, reran.stdout + reran.stderr
    assert invariants.settled(root) == []

    killed_at(spawn, env, "mid_publish", "regenerate", "--yes", fingerprint[:12])
    assert invariants.after_kill(root) == [] and b"Indeed," in train_file(view).read_bytes()
    llm.control(rules=rewrite_rules(prompts, "So,"))
    done = synth(env, "regenerate", "--yes", fingerprint[:12])
    assert done.returncode == 0, done.stdout + done.stderr
    assert b"So," in train_file(view).read_bytes()
    assert invariants.settled(root) == []
