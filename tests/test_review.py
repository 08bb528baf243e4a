"""`synth review` end to end on published experiments (scripted OpenAI-compatible server): export/import and the
terminal prompt, the reviewed precision and estimated_correct_rate in quality, compare, batch, the published
metadata and the dataset card, labels surviving a regeneration of unchanged rows, and labels as calibration pairs."""

from __future__ import annotations

import json

import pytest
from dagster import AssetKey
from typer.testing import CliRunner

from synth_assets.cli.main import app
from synth_assets.recipes.registry import load_experiments
from synth_assets.quality.calibration import load_pairs
from synth_assets.quality.reviews import wilson
from tests.conftest import copa_config, local_store, rewrite_prompts, run_config

BATCH = "batch_20250301_review"
COPY = "The woman tolerated her friend's difficult behavior."  # Copa train row 1: a copy is never reviewed
REPLIES = ["A shadow from my body fell across the lawn.", COPY, "The women got together to drink coffee.",
           "The runner had shorts on."]


@pytest.fixture
def published(synth_root, write_yaml, openai_env):
    """Two experiments (temperatures 0.2 and 0.9) of 4 Copa rows, rows 0, 2 and 3 rewritten, row 1 a copy."""
    config = copa_config(batch_id=BATCH, limit=4, max_tokens=32, backend="openai", model="gpt-4o-mini",
                         validation={"validators": ["rules"]}, temperature=[0.2, 0.9])
    path = write_yaml(config)
    exp = load_experiments(path)[0]
    prompts = rewrite_prompts(exp)
    openai_env.script({p: {"replies": [reply]} for p, reply in zip(prompts, REPLIES)})
    regs, outcome, instance = run_config(path, synth_root)
    assert all(o.success for o in outcome.values())
    return regs, prompts, instance


def synth(*args: str, input: str | None = None) -> str:
    result = CliRunner().invoke(app, list(args), input=input, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def quality(fingerprint: str) -> dict:
    return json.loads(synth("quality", fingerprint, "--json"))


def test_review_round_trip_figures_everywhere_and_labels_survive_regeneration(published, synth_root, scripted_server, tmp_path):
    (a, b), prompts, instance = published
    exported = tmp_path / "review.jsonl"
    synth("review", a.fingerprint, "--sample", "10", "--export", str(exported))
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    assert sorted(line["row"] for line in lines) == [0, 2, 3]  # the copy (row 1) is not reviewed
    assert {line["rewrite"] for line in lines} == {REPLIES[0], REPLIES[2], REPLIES[3]}
    labels = {0: "same", 2: "same", 3: "not the same"}
    exported.write_text("".join(json.dumps({**line, "label": labels[line["row"]]}) + "\n" for line in lines))
    synth("review", a.fingerprint, "--import", str(exported), "--reviewer", "tester")

    figures = quality(a.fingerprint)
    assert (figures["reviewed_n"], figures["reviewed_precision"]) == (3, pytest.approx(2 / 3))
    assert (figures["reviewed_low"], figures["reviewed_high"]) == pytest.approx(wilson(2, 3))
    assert figures["rewrite_rate"] == 0.75 and figures["validator_precision"] is not None
    assert figures["estimated_correct_rate"] == pytest.approx(0.75 * figures["validator_precision"])
    assert figures["estimated_correct_low"] < figures["estimated_correct_rate"] < figures["estimated_correct_high"]
    assert "reviewed_precision" in synth("quality", a.fingerprint) and "acceptance, not correctness" in synth("quality", a.fingerprint)

    # the terminal prompt: same, skip, then quit; what was answered is recorded
    shown = synth("review", b.fingerprint, "--sample", "3", input="y\ns\nq\n")
    assert "1 labels recorded" in shown and sum(reply in shown for reply in REPLIES) >= 2  # each pair shown before its question
    assert quality(b.fingerprint)["reviewed_n"] == 1 and quality(b.fingerprint)["reviewed_precision"] == 1.0
    ordered = json.loads(synth("compare", BATCH, "--sort", "reviewed_precision", "--json"))["experiments"]
    assert [e["fingerprint"] for e in ordered] == [b.fingerprint, a.fingerprint]
    batch = synth("batch", BATCH)
    assert "reviewed_precision 0.67 [" in batch and "estimated_correct_rate 0." in batch

    pairs_file = tmp_path / "pairs.jsonl"
    synth("review", a.fingerprint, "--export-pairs", str(pairs_file))
    assert sorted((p.rephrased, p.label) for p in load_pairs(pairs_file)) == sorted(
        (REPLIES[row], label) for row, label in labels.items())

    card_dir = tmp_path / "export"
    synth("export", a.fingerprint, "--format", "jsonl", "--out", str(card_dir))
    card = (card_dir / "README.md").read_text()
    assert "reviewed_precision" in card and "estimated_correct_rate" in card and "acceptance, not correctness" in card

    # regenerating: row 3 gets another rewrite, rows 0 and 2 come back unchanged and keep their labels
    scripted_server.script({**{p: {"replies": [reply]} for p, reply in zip(prompts, REPLIES)},
                   prompts[3]: {"replies": ["The runner was dressed in shorts."]}})
    synth("regenerate", "--yes", a.fingerprint)
    store = local_store(synth_root)
    metadata = store.experiment_metadata("Copa", a.name)["summary"]["quality"]
    assert (metadata["reviewed_n"], metadata["reviewed_precision"]) == (2, 1.0)
    assert quality(a.fingerprint)["reviewed_n"] == 2
    [latest] = instance.fetch_materializations(AssetKey(["rephrase", "published"]), limit=1).records
    assert latest.asset_materialization.metadata["reviewed_n"].value == 2
    again = tmp_path / "again.jsonl"
    synth("review", a.fingerprint, "--sample", "10", "--export", str(again))
    assert [json.loads(line)["rewrite"] for line in again.read_text().splitlines()] == ["The runner was dressed in shorts."]


def test_an_import_with_a_bad_label_records_nothing(published, tmp_path):
    (a, _), _, _ = published
    exported = tmp_path / "review.jsonl"
    synth("review", a.fingerprint, "--sample", "10", "--export", str(exported))
    lines = [json.loads(line) for line in exported.read_text().splitlines()]
    exported.write_text("".join(json.dumps({**line, "label": "same" if i == 0 else "maybe"}) + "\n" for i, line in enumerate(lines)))
    result = CliRunner().invoke(app, ["review", a.fingerprint, "--import", str(exported)])
    assert result.exit_code == 2 and f"{exported}:2: label" in result.output.replace("\n", "")
    assert quality(a.fingerprint)["reviewed_n"] == 0
