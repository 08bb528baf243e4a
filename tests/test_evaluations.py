"""Evaluations: the training effect of an experiment, measured per evaluator fingerprint, reused, never faked.

One real Copa experiment (local model, 3 rows) is generated once for the module; evaluators are added to it
by registering its config again with an `evaluation:` list (the data's fingerprint stays) and run through
the Dagster evaluation job, as `synth run` does. An experiment's evaluators accumulate over registrations,
so the tests with failing trainers come last (every later run retries a failed evaluation)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from tests.conftest import REPO, copa_config, isolate, lineage_for, local_store, register_config, run_config

TRAINER = REPO / "examples" / "evaluation" / "stand_in_trainer.py"


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    """(root, config folder, registration) of one published Copa experiment, its own store and Dagster home."""
    base = tmp_path_factory.mktemp("evaluations")
    with pytest.MonkeyPatch.context() as mp:
        root = isolate(base / "root", base / "dagster_home", mp)
        config = base / "configs" / "copa.yaml"
        config.parent.mkdir()
        config.write_text(yaml.safe_dump(copa_config(batch_id="batch_20250101_effect", limit=3)))
        (reg,), outcome, _ = run_config(config, root)
        assert outcome[reg.fingerprint].success
        yield root, config.parent, reg, mp


def _evaluate(published, evaluation: list[dict], name: str):
    """Register the experiment's config again with these evaluators, then run the evaluation job for it."""
    from synth_assets.cli.materialize import dagster_instance, evaluate

    root, folder, reg, _ = published
    config = folder / f"{name}.yaml"
    config.write_text(yaml.safe_dump({**copa_config(batch_id="batch_20250101_effect", limit=3), "evaluation": evaluation}))
    (again,) = register_config(config, root)
    assert again.fingerprint == reg.fingerprint  # evaluators never change the data's fingerprint
    return evaluate([again], str(root), instance=dagster_instance(root), log_level="WARNING")[reg.fingerprint]


def _rows(published, evaluator: str) -> list[dict]:
    from synth_assets.core.lineage.evaluations import evaluations_of

    root, _, reg, _ = published
    return [r for r in evaluations_of(lineage_for(root), [reg.fingerprint]) if r["evaluator"] == evaluator]


def _cli_json(published, *args: str):
    from synth_assets.cli.main import app

    root = published[0]
    result = CliRunner().invoke(app, ["--root", str(root), *args])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def _trainer(calls: Path, *extra: str, timeout_s: float | None = None, baseline: bool = True) -> dict:
    command = (f"{sys.executable} {TRAINER} --dataset Copa --train {{train}} --validation {{validation}} --out {{metrics_json}} "
               f"--invocations {calls} {' '.join(extra)}").strip()
    return {"name": "trainer", "kind": "command", "command": command, "baseline": baseline,
            **({"timeout_s": timeout_s} if timeout_s else {})}


def test_the_automation_condition_asks_for_a_newly_published_experiment_and_nothing_else(published):
    """What `evaluations_automation` does once started: nothing for data published before (a backfill evaluates that),
    then the partition whose published asset is materialized again is requested, and no recipe stage."""
    from dagster import AssetKey, evaluate_automation_conditions

    from synth_assets.cli.materialize import dagster_instance, definitions
    from synth_assets.lib.partitions import partition_key
    from synth_assets.lib.run_requests import recipe_job_name

    root, _, reg, _ = published
    defs, instance = definitions(str(Path(root).resolve())), dagster_instance(root)
    first = evaluate_automation_conditions(defs=defs, instance=instance)
    assert first.total_requested == 0
    rerun = defs.resolve_job_def(recipe_job_name("rephrase")).execute_in_process(partition_key=partition_key(reg.record),
                                                                                 instance=instance)
    assert rerun.success  # every stage reused: the published asset is materialized again
    second = evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
    assert second.get_requested_partitions(AssetKey(["rephrase", "evaluation"])) == {partition_key(reg.record)}
    assert second.total_requested == 1


def test_probe_measures_the_effect_against_the_original_rows_and_a_rerun_reuses_it(published):
    outcome = _evaluate(published, [{"name": "probe", "kind": "probe"}], "probe")
    assert outcome.success, outcome.error
    (first,) = _cli_json(published, "evaluations", published[2].fingerprint[:12], "--json")
    for key in ("experiment", "fingerprint", "evaluator", "metric", "value", "low", "high", "baseline", "delta", "n", "run_id"):
        assert key in first
    assert first["evaluator"] == "probe" and first["metric"] == "accuracy" and first["status"] == "ok"
    assert first["n"] == 100  # Copa's validation split
    assert first["low"] <= first["value"] <= first["high"] and first["high"] - first["low"] > 0.05
    assert first["baseline_low"] <= first["baseline"] <= first["baseline_high"]
    assert first["delta"] == pytest.approx(first["value"] - first["baseline"])
    assert first["delta_low"] <= first["delta"] <= first["delta_high"]
    assert first["run_id"] == outcome.run_id
    stored = Path(first["path"]) / "metrics.json"
    assert json.loads(stored.read_text())["value"] == first["value"]
    assert stored.parent.parent.parent.parent.name == published[2].name  # next to the experiment

    rerun = _evaluate(published, [{"name": "probe", "kind": "probe"}], "probe_again")
    assert rerun.success and rerun.run_id != outcome.run_id
    (second,) = _cli_json(published, "evaluations", published[2].fingerprint[:12], "--json")
    assert second["run_id"] == outcome.run_id  # reused: the run that measured it, not the rerun
    assert len(_rows(published, "probe")) == 1


def test_command_evaluator_runs_the_trainer_once_per_side_and_never_again(published, tmp_path):
    calls = tmp_path / "calls.txt"
    outcome = _evaluate(published, [_trainer(calls)], "trainer")
    assert outcome.success, outcome.error
    assert len(calls.read_text().splitlines()) == 2  # the original rows (baseline), then the experiment's train split
    (row,) = [r for r in _cli_json(published, "evaluations", published[2].fingerprint, "--json") if r["evaluator"] == "trainer"]
    assert row["status"] == "ok" and row["n"] == 100 and row["delta_low"] is not None  # per-row scores: a paired interval
    assert "stand-in trainer: accuracy" in (Path(row["path"]) / "stdout.log").read_text()

    rerun = _evaluate(published, [_trainer(calls)], "trainer_again")
    assert rerun.success
    assert len(calls.read_text().splitlines()) == 2  # 0 trainer invocations on the rerun
    (again,) = [r for r in _cli_json(published, "evaluations", published[2].fingerprint, "--json") if r["evaluator"] == "trainer"]
    assert again["run_id"] == row["run_id"]


def score_by_majority(train_rows, validation_rows, params):
    """A python evaluator for the test: predicts the training rows' majority label."""
    labels = [r["label"] for r in train_rows]
    majority = max(set(labels), key=labels.count)
    correct = [int(r["label"] == majority) for r in validation_rows]
    return {"accuracy": sum(correct) / len(correct), "correct": correct, "params_seen": params}


def test_python_entry_point_gets_rows_and_params(published):
    spec = {"name": "majority", "kind": "python", "entry_point": "tests.test_evaluations:score_by_majority", "params": {"k": 1}}
    outcome = _evaluate(published, [spec], "python")
    assert outcome.success, outcome.error
    (row,) = _rows(published, "majority")
    stored = json.loads((Path(row["path"]) / "metrics.json").read_text())
    assert stored["metrics"]["params_seen"] == {"k": 1}
    assert row["value"] in (0.45, 0.55)  # Copa validation labels are 45/55


def test_compare_the_batch_view_its_readme_and_the_dataset_card_show_the_training_effect(published, tmp_path):
    from synth_assets.lib.batch_reports.metadata import batch_metadata
    from synth_assets.lib.batch_reports.view import batch_view

    assert _evaluate(published, [{"name": "probe", "kind": "probe"}], "probe_view").success  # stored already: reused
    root = published[0]
    view = batch_view(local_store(root), lineage_for(root), "batch_20250101_effect")
    metadata = batch_metadata(view)
    assert "| probe | accuracy |" in metadata["training_effect"].value
    readme = (Path(root) / "batch_20250101_effect" / "README.md")
    compare = _cli_json(published, "compare", "batch_20250101_effect", "--json", "--sort", "probe.delta")
    assert "probe" in compare["experiments"][0]["evaluations"]
    text = readme.read_text()
    assert "## Training effect" in text and "| probe | accuracy |" in text

    from synth_assets.cli.main import app

    result = CliRunner().invoke(app, ["--root", str(root), "export", published[2].fingerprint[:12], "--format", "jsonl",
                                      "--out", str(tmp_path / "export")])
    assert result.exit_code == 0, result.output
    card = (tmp_path / "export" / "README.md").read_text()
    assert "### Training effect" in card and "| probe | accuracy |" in card


def test_a_failing_trainer_is_recorded_as_a_failure_never_a_metric(published, tmp_path):
    calls = tmp_path / "calls.txt"
    outcome = _evaluate(published, [_trainer(calls, "--fail", baseline=False)], "failing")
    assert not outcome.success and "exit status 3" in outcome.error
    (row,) = [r for r in _rows(published, "trainer") if r["status"] == "failed"]
    assert row["value"] is None and row["delta"] is None and "exit status 3" in row["error"]
    folder = Path(row["path"])
    assert not (folder / "metrics.json").exists()
    assert "failing on request" in (folder / "stderr.log").read_text()
    assert json.loads((folder / "failure.json").read_text())["status"] == "failed"
    _evaluate(published, [_trainer(calls, "--fail", baseline=False)], "failing_again")
    assert len(calls.read_text().splitlines()) == 2  # a failure is not a result: the next run tries again


def test_a_trainer_past_its_timeout_is_killed_and_recorded_as_failed(published, tmp_path):
    calls = tmp_path / "calls.txt"
    outcome = _evaluate(published, [_trainer(calls, "--sleep 60", timeout_s=3, baseline=False)], "slow")
    assert not outcome.success and "timed out after 3 s" in outcome.error
    (row,) = [r for r in _rows(published, "trainer") if r["status"] == "failed" and "timed out" in r["error"]]
    assert row["value"] is None
    assert "stand-in trainer: Copa" in (Path(row["path"]) / "stdout.log").read_text()  # what it printed before it was killed


def test_bad_evaluator_config_names_file_line_and_field(write_yaml, synth_root):
    from synth_assets.recipes.registry import load_experiments
    from synth_assets.core.yaml_lines import ConfigError

    config = {**copa_config(), "evaluation": [{"name": "t", "kind": "command", "command": "python t.py --out {metrics}"}]}
    with pytest.raises(ConfigError) as info:
        load_experiments(write_yaml(config, name="bad_eval.yaml"))
    assert "bad_eval.yaml" in str(info.value) and "evaluation" in info.value.field and info.value.line
    assert "unknown placeholder {metrics}" in str(info.value)


def test_an_evaluator_needs_a_validation_split_to_score_on(write_yaml, synth_root):
    from synth_assets.recipes.registry import load_experiments
    from synth_assets.core.yaml_lines import ConfigError

    config = {**copa_config(), "evaluation": [{"name": "probe", "kind": "probe"}]}
    config["dataset"]["split"] = "validation"
    with pytest.raises(ConfigError) as info:
        load_experiments(write_yaml(config, name="on_validation.yaml"))
    assert info.value.field == "evaluation[0]" and info.value.line and "nothing to score on" in info.value.message


def test_only_a_recipe_that_is_evaluated_takes_evaluators(write_yaml, synth_root):
    """Stories experiments get no evaluation asset (`Recipe.evaluated` is off): an `evaluation:` section is refused."""
    from synth_assets.core.yaml_lines import ConfigError
    from synth_assets.recipes.registry import load_experiments

    config = {"dataset": {"dataset_name": "BedtimeStories", "limit": 2}, "evaluation": [{"name": "probe", "kind": "probe"}]}
    with pytest.raises(ConfigError) as info:
        load_experiments(write_yaml(config, name="stories_eval.yaml"))
    assert info.value.field == "evaluation[0]" and info.value.line and "uses the stories recipe" in info.value.message


def test_paired_bootstrap_difference():
    from synth_assets.evaluation.stats import bootstrap_mean, paired_difference

    same = paired_difference([1, 0] * 50, [1, 0] * 50)
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0)
    better = paired_difference([1] * 100, [1, 0] * 50)
    assert better.value == 0.5 and 0.35 < better.low < better.high < 0.65
    estimate = bootstrap_mean([1, 0, 0, 0] * 25)
    assert estimate.low < 0.25 < estimate.high and estimate.n == 100
