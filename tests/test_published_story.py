"""The published asset tells the experiment's story: quality, cost of all stages, cache savings, batches,
a preview of original vs rewrite with the verdict, rounded numbers and store-relative paths.

Generation goes to the OpenAI-compatible fake server under a priced model name (gpt-4o-mini), so
costs are not zero; the second experiment repeats two of the first one's requests (LLM cache hits).
"""

from __future__ import annotations

import re

import pytest
from dagster import AssetKey, AssetRecordsFilter

from synth_assets.lib.batch_reports.report import BATCHES
from synth_assets.llm.pricing import load_prices
from synth_assets.testing import fake_openai_server
from tests.conftest import copa_config, run_config

pytestmark = pytest.mark.usefixtures("synth_root")

PUBLISHED = AssetKey(["rephrase", "published"])
BATCH = "batch_20250101_story"


@pytest.fixture
def fake_openai(monkeypatch):
    process, base_url = fake_openai_server.start(max_seconds=300)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", base_url)
    yield base_url
    process.kill()
    process.wait(timeout=10)


def openai_config(limit: int, batch: str = BATCH) -> dict:
    config = copa_config(batch_id=batch, limit=limit, backend="openai", model="gpt-4o-mini", validation={"validators": ["rules"]})
    config["experiment"]["purpose"] = "story"
    return config


def latest(instance, key: AssetKey, partition: str) -> dict:
    [record] = instance.fetch_materializations(AssetRecordsFilter(asset_key=key, asset_partitions=[partition]), limit=1).records
    return {k: getattr(v, "value", v) for k, v in record.asset_materialization.metadata.items()}


def usage_of(root, fingerprint: str) -> dict:
    from tests.conftest import lineage_for

    return lineage_for(root).query("SELECT sum(requests) AS requests, sum(cache_hits) AS cache_hits, sum(prompt_tokens) AS p, "
                                   "sum(completion_tokens) AS c, sum(cost_usd) AS usd FROM llm_usage WHERE fingerprint = ?",
                                   [fingerprint])[0]


def is_rounded(value: float) -> bool:
    """At most 4 significant digits (no `0.007308305000009341`)."""
    return float(f"{value:.4g}") == value


def test_the_published_asset_shows_quality_cost_savings_batches_and_each_rewrite(fake_openai, synth_root, write_yaml):
    from synth_assets.lib.partitions import partition_key

    [first], outcome, instance = run_config(write_yaml(openai_config(limit=2)), synth_root)
    [second], outcome2, _ = run_config(write_yaml(openai_config(limit=3)), synth_root)  # rows 0-1 asked again: cached
    assert outcome[first.fingerprint].success and outcome2[second.fingerprint].success

    meta = latest(instance, PUBLISHED, str(partition_key(second.record)))
    spent, paid_before = usage_of(synth_root, second.fingerprint), usage_of(synth_root, first.fingerprint)
    assert (spent["requests"], spent["cache_hits"]) == (3, 2)
    # all stages' tokens and cost, from lineage; the two cached calls priced as saved (what the first run paid for them)
    assert (meta["prompt_tokens"], meta["completion_tokens"]) == (spent["p"], spent["c"])
    assert meta["cost_usd"] == pytest.approx(spent["usd"], rel=1e-3) and meta["cost_usd"] > 0
    assert meta["saved_by_cache_usd"] == pytest.approx(paid_before["usd"], rel=1e-3) and meta["saved_by_cache_usd"] > 0
    assert meta["saved_by_cache_usd"] == pytest.approx(load_prices().cost("gpt-4o-mini", paid_before["p"], paid_before["c"]), rel=1e-3)
    assert (meta["llm_calls"], meta["cached_calls"]) == (3, 2)
    assert re.search(r"\| generated \| 3 \| 2 \|", meta["cost"]) and "**all stages**" in meta["cost"]
    stage = latest(instance, AssetKey(["rephrase", "rephrased"]), str(partition_key(second.record)))  # the stage itself
    assert (stage["llm_cache_hits"], stage["llm_cached_calls"]) == (2, 2) and stage["llm_saved_usd"] == meta["saved_by_cache_usd"]
    assert stage["llm_cost_usd"] == meta["cost_usd"] and is_rounded(stage["llm_cost_usd"])
    # quality, rounded
    assert meta["rows"] == 3 and "rewrite_rate" in meta and "acceptance_rate" in meta and "| rewrite_rate |" in meta["quality"]
    for key in ("cost_usd", "saved_by_cache_usd", "rewrite_rate", "acceptance_rate"):
        assert is_rounded(meta[key]), (key, meta[key])
    # where it comes from and who uses it; paths relative to the store root, given once
    assert meta["origin_batch"] == BATCH and meta["batches"] == f"{BATCH} (origin)"
    assert meta["shared_path"] == f"_shared/Copa/{second.name}" and meta["path"] == f"_shared/Copa/{second.name}/Copa/copa_train.jsonl"
    assert meta["store_root"] == str(synth_root)
    assert not any(str(synth_root) in str(v) for k, v in meta.items() if k != "store_root")
    # the story of each rewrite: original, rewrite, verdict
    lines = meta["preview"].splitlines()
    assert lines[0] == "| row | field | original | rewrite | verdict |"
    premises = [row["premise"] for row in second.job.entry.rows("train")[:3]]
    for line, premise in zip(lines[2:], premises):
        assert f"| premise | {premise} | echo: " in line and re.search(r"\| (accepted|rejected)[^|]*\|$", line), line


def test_a_batch_shows_its_experiments_quality_sweep_and_cost(fake_openai, synth_root, write_yaml):
    sweep = openai_config(limit=2)
    sweep["generation"]["temperature"] = [0.2, 0.9]
    regs, outcome, instance = run_config(write_yaml(sweep), synth_root)
    assert all(o.success for o in outcome.values())

    view = latest(instance, BATCHES, BATCH)

    assert (view["experiments"], view["complete"], view["new"]) == (2, 2, 2)
    for reg in regs:
        assert f"| Copa | {reg.name} | {reg.fingerprint[:12]} | new | complete |" in view["experiments_table"]
        assert f"| {reg.name} |" in view["quality"]
    assert "swept generation.temperature" in view["sweep"] and "data:image/png;base64," in view["sweep_chart"]
    rows = [line for line in view["sweep"].splitlines() if line.startswith(("| temp02", "| temp09"))]
    assert [row.split(" | ")[1] for row in rows] == ["0.2", "0.9"]
    assert view["cost_usd"] > 0 and view["prompt_tokens"] > 0 and view["view_folder"] == BATCH


def test_an_experiment_sharing_a_stage_counts_its_cost(fake_openai, synth_root, write_yaml):
    """Two experiments that differ only in validation share the generated stage: the second never calls the LLM,
    yet its published asset shows what that stage cost (lineage usage is summed per stage fingerprint)."""
    from synth_assets.lib.partitions import partition_key

    [first], _, instance = run_config(write_yaml(openai_config(limit=2)), synth_root)
    stricter = openai_config(limit=2)
    stricter["validation"]["min_pass_rate"] = 0.0001
    [second], outcome, _ = run_config(write_yaml(stricter), synth_root)
    assert outcome[second.fingerprint].success
    assert second.record["stages"]["generated"] == first.record["stages"]["generated"]

    meta = latest(instance, PUBLISHED, str(partition_key(second.record)))
    paid = usage_of(synth_root, first.fingerprint)
    assert usage_of(synth_root, second.fingerprint)["requests"] is None  # no LLM call of its own
    assert meta["cost_usd"] == pytest.approx(paid["usd"], rel=1e-3) and meta["cost_usd"] > 0
    assert (meta["prompt_tokens"], meta["completion_tokens"], meta["llm_calls"]) == (paid["p"], paid["c"], 2)
