"""Data quality through the whole rephrase pipeline: best-of-n, decontamination, the calibration check,
and the quality figures in the store, lineage and CLI (against a scripted OpenAI-compatible server)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from synth_assets.cli.main import app
from synth_assets.recipes.registry import load_experiments
from tests.conftest import copa_config, lineage_for, local_store, rewrite_prompts, run_config

COPY = "My body cast a shadow over the grass."  # Copa train row 0, the premise rewritten
PARAPHRASE = "A shadow from my body fell across the lawn."


def config_for(limit: int, **extra) -> dict:
    config = copa_config(batch_id="batch_20250301_quality", limit=limit, max_tokens=32, backend="openai", model="gpt-4o-mini",
                         validation={"validators": ["rules"]}, **extra.pop("generation", {}))
    config.update(extra)
    return config


def prompts(path) -> list[str]:
    """The generation prompt of every row, as the server sees it (the last message's content)."""
    (exp,) = load_experiments(path)
    return rewrite_prompts(exp)


def run_cli(*args: str) -> str:
    result = CliRunner().invoke(app, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def test_best_of_n_keeps_the_candidate_that_passes_and_counts_rows_none_passed(synth_root, write_yaml, openai_env):
    path = write_yaml(config_for(2, generation={"n": 4}))
    first, second = prompts(path)
    openai_env.script({first: {"replies": [COPY, COPY, PARAPHRASE, COPY]},  # one candidate of four passes the rules
                       second: {"replies": ["The woman tolerated her friend's difficult behavior."] * 4}})  # a copy each time
    (reg,), outcome, _ = run_config(path, synth_root)
    assert outcome[reg.fingerprint].success
    assert openai_env.received(first) == 4 and openai_env.received(second) == 4
    store = local_store(synth_root)
    train = store.read_jsonl(store.published_data_file("Copa", reg.name))
    assert [row["premise"] for row in train] == [PARAPHRASE, "The woman tolerated her friend's difficult behavior."]
    validated = store.read_stage("Copa", "validated", reg.fingerprints.validated)
    chosen = validated[0]["_synth"]["fields"]["premise"]
    assert chosen["candidates"][chosen["chosen"]]["text"] == PARAPHRASE and chosen["rewritten"]
    assert not validated[1]["_synth"]["fields"]["premise"]["rewritten"] and validated[1]["_synth"]["fields"]["premise"]["chosen"] is None
    figures = json.loads(run_cli("quality", reg.fingerprint, "--json"))
    assert figures["rewrite_rate"] == 0.5 and figures["rows"] == 2
    assert figures["rejections.rules.identical to the original after normalisation"] >= 3


def test_a_rewrite_that_copies_an_evaluation_sentence_is_dropped_and_reported(synth_root, write_yaml, openai_env):
    from synth_assets.core.catalog import find_entry

    validation_premise = find_entry("Copa").rows("validation")[0]["premise"]
    path = write_yaml(config_for(2))
    first, second = prompts(path)
    openai_env.script({first: {"replies": [validation_premise]}, second: {"replies": ["She put up with her friend's hard behaviour."]}})
    (reg,), outcome, instance = run_config(path, synth_root)
    # published without the offending row, and the blocking check fails the run (decontamination.blocking: false lets it pass)
    assert not outcome[reg.fingerprint].success and "decontamination" in outcome[reg.fingerprint].error
    store = local_store(synth_root)
    train = store.read_jsonl(store.published_data_file("Copa", reg.name))
    assert [row["idx"] for row in train] == [1]  # row 0 copied a validation premise: dropped
    summary = json.loads((store.experiment_dir("Copa", reg.name) / "experiment_metadata.json").read_text())["summary"]
    assert summary["decontamination"]["hits"] == 1 and summary["decontamination"]["listed"][0]["row"] == 0
    assert "copa_validation.jsonl" in summary["decontamination"]["listed"][0]["reference"]
    from dagster import DagsterEventType

    checks = {(e.dagster_event.event_specific_data.check_name, e.dagster_event.event_specific_data.passed)
              for e in instance.all_logs(outcome[reg.fingerprint].run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)}
    assert ("decontamination", False) in checks
    assert lineage_for(synth_root).quality([reg.fingerprint])[reg.fingerprint]["decontamination_hits"] == 1


def write_pairs(tmp_path) -> str:
    pairs = [
        {"original": "The man opened the door.", "rephrased": "The door was opened by the man.", "label": "same", "kind": "paraphrase"},
        {"original": "The man opened the door.", "rephrased": "The man did not open the door.", "label": "not the same", "kind": "negation"},
        {"original": "She bought three apples.", "rephrased": "She bought five apples.", "label": "not the same", "kind": "changed_number"},
        {"original": "She bought three apples.", "rephrased": "She bought three apples.", "label": "same", "kind": "identical"},
    ]
    path = tmp_path / "pairs.jsonl"
    path.write_text("".join(json.dumps(p) + "\n" for p in pairs))
    return str(path)


@pytest.mark.parametrize("min_accuracy,passes", [(0.7, True), (0.8, False)])
def test_calibration_check_blocks_below_min_accuracy(synth_root, write_yaml, openai_env, tmp_path, min_accuracy, passes):
    pairs = write_pairs(tmp_path)
    # rules: the paraphrase and both negatives right, the identical pair "not a rewrite" -> 3 of 4 = 0.75
    calibrate = json.loads(run_cli("calibrate", str(write_yaml(config_for(1))), "--pairs", pairs, "--json"))
    assert calibrate["accuracy"] == 0.75 and calibrate["n"] == 4
    assert calibrate["confusion"] == {"same": {"same": 1, "not the same": 1}, "not the same": {"same": 0, "not the same": 2}}
    assert calibrate["per_kind"]["negation"] == 1.0 and calibrate["per_kind"]["identical"] == 0.0
    config = config_for(1)
    config["validation"]["calibration"] = {"pairs": pairs, "min_accuracy": min_accuracy}
    path = write_yaml(config)
    (first,) = prompts(path)
    openai_env.script({first: {"replies": [PARAPHRASE]}})
    (reg,), outcome, instance = run_config(path, synth_root)
    from dagster import DagsterEventType

    events = instance.all_logs(outcome[reg.fingerprint].run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    calibration = next(e.dagster_event.event_specific_data for e in events if e.dagster_event.event_specific_data.check_name == "calibration")
    assert calibration.passed is passes and calibration.metadata["accuracy"].value == 0.75
    published = local_store(synth_root).is_complete("Copa", reg.name, reg.fingerprint)
    assert published is passes  # a blocking check below its floor stops the publish


def test_compare_a_batch_by_quality(synth_root, write_yaml, openai_env):
    path = write_yaml(config_for(2, generation={"temperature": [0.2, 0.9]}))
    (exp_low, exp_high) = load_experiments(path)
    low = rewrite_prompts(exp_low)
    openai_env.script({low[0]: {"replies": [PARAPHRASE]}})  # both temperatures send the same prompts: one answer each
    regs, outcome, _ = run_config(path, synth_root)
    assert all(o.success for o in outcome.values())
    out = json.loads(run_cli("compare", "batch_20250301_quality", "--sort", "rewrite_rate", "--json"))
    rates = [e["quality"]["rewrite_rate"] for e in out["experiments"]]
    assert len(rates) == 2 and rates == sorted(rates, reverse=True)
    assert {e["semantic_name"] for e in out["experiments"]} == {r.name for r in regs}
    assert out["different"]["generation.temperature"] == [e["params"]["generation.temperature"] for e in out["experiments"]]
    assert all("rewrite_rate" in e["quality"] for e in out["experiments"])
    table = run_cli("compare", "batch_20250301_quality")
    assert "generation.temperature" in table and "rewrite_rate" in table
