"""Decontamination through the rephrase pipeline: overlap the original rows already had is kept and counted, overlap
a rewrite introduces is dropped and blocks; the counts are in the check, the asset, experiment_metadata.json, the
dataset card (README.md) and lineage (against a scripted OpenAI-compatible server)."""

from __future__ import annotations

import json

import pytest
import yaml
from dagster import DagsterEventType

from synth_assets.recipes.registry import load_experiments
from synth_assets.export import export_target
from tests.conftest import REPO, lineage_for, local_store, rewrite_prompts, run_config

# an ARC-like train question sharing the stock phrase "which of the following statements best explains why the days
# are" (11 words: two shared 10-grams) with a validation question: overlap of the original data, not of synthesis
TRAIN = [
    {"id": "t0", "question": "Which of the following statements best explains why the days are longer in summer?",
     "choices": {"text": ["The Earth is tilted", "The Sun is hotter", "The Moon is closer", "Clouds are thinner"],
                 "label": ["A", "B", "C", "D"]}, "answerKey": "A"},
    {"id": "t1", "question": "Which gas do plants take in from the air to make their food?",
     "choices": {"text": ["Oxygen", "Carbon dioxide", "Nitrogen", "Helium"], "label": ["A", "B", "C", "D"]}, "answerKey": "B"},
]
VALIDATION = [
    {"id": "v0", "question": "Which of the following statements best explains why the days are shorter in winter?",
     "choices": {"text": ["The Earth is tilted", "The Sun is cooler", "The Moon is farther", "Clouds are thicker"],
                 "label": ["A", "B", "C", "D"]}, "answerKey": "A"},
]
KEEPS_STOCK_PHRASE = "Which of the following statements best explains why the days are longer during the summer months?"
PLANT_FOOD = "What gas from the air do plants use to make their food?"


@pytest.fixture
def stock_mc(tmp_path, custom_catalog, openai_env):
    """A custom ARC-like catalog entry (question rewritten) and the scripted server as the OpenAI backend."""
    for name, rows in (("train", TRAIN), ("validation", VALIDATION)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    entry = yaml.safe_load((REPO / "synth_assets/catalog/ScienceMC.yaml").read_text())
    entry.update(name="StockMC", rewrite_fields=["question"],
                 splits={"train": str(tmp_path / "train.jsonl"), "validation": str(tmp_path / "validation.jsonl")})
    custom_catalog(entry)
    return openai_env


def run(write_yaml, synth_root, server, replies: list[str], **decontamination):
    config = {"experiment": {"batch_id": "batch_20250301_decon", "purpose": "decon"},
              "dataset": {"dataset_name": "StockMC", "limit": 2},
              "generation": {"backend": "openai", "model": "gpt-4o-mini", "temperature": 0.7, "max_tokens": 32},
              "validation": {"validators": ["rules"]}}
    if decontamination:
        config["decontamination"] = decontamination
    path = write_yaml(config)
    (exp,) = load_experiments(path)
    prompts = rewrite_prompts(exp)
    server.script({prompt: {"replies": [reply]} for prompt, reply in zip(prompts, replies)})
    (reg,), outcome, instance = run_config(path, synth_root)
    store = local_store(synth_root)
    folder = store.experiment_dir("StockMC", reg.name)
    summary = json.loads((folder / "experiment_metadata.json").read_text())["summary"]
    events = instance.all_logs(outcome[reg.fingerprint].run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    check = next(e.dagster_event.event_specific_data for e in events if e.dagster_event.event_specific_data.check_name == "decontamination")
    materialized = [e.dagster_event.event_specific_data.materialization.metadata
                    for e in instance.all_logs(outcome[reg.fingerprint].run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION)]
    asset = next(m for m in materialized if "decontamination_dropped" in m)
    export = synth_root.parent / "export"  # beside the store, not in it
    if outcome[reg.fingerprint].success:  # a run rejected by a blocking check published nothing to export
        export_target(store, reg.fingerprint, export, "jsonl", lineage=lineage_for(synth_root))
    return {"success": outcome[reg.fingerprint].success, "train": store.read_jsonl(store.published_data_file("StockMC", reg.name)),
            "summary": summary, "card": (folder / "README.md").read_text(), "export_card": (export / "README.md").read_text() if export.exists() else None, "check": check,
            "asset": {k: v.value for k, v in asset.items() if k.startswith("decontamination_")},
            "lineage": lineage_for(synth_root).quality([reg.fingerprint])[reg.fingerprint]}


def counts(found: dict) -> tuple:
    return tuple(found[k] for k in ("dropped", "introduced", "source_overlap"))


def test_overlap_already_in_the_source_is_kept_counted_and_does_not_block(write_yaml, synth_root, stock_mc):
    out = run(write_yaml, synth_root, stock_mc, [KEEPS_STOCK_PHRASE, PLANT_FOOD])
    assert out["success"] and out["check"].passed
    assert [row["question"] for row in out["train"]] == [KEEPS_STOCK_PHRASE, PLANT_FOOD]  # nothing dropped
    decontamination = out["summary"]["decontamination"]
    assert counts(decontamination) == (0, 0, 1) and decontamination["ngram"] == 10
    assert decontamination["listed"][0] | {"matched": None} == {
        "row": 0, "field": "question", "kind": "ngram", "reference": "validation.jsonl:0:question", "matched": None,
        "ngrams": 2, "introduced": 0, "origin": "source", "dropped": False}
    assert counts({k: out["check"].metadata[k].value for k in ("dropped", "introduced", "source_overlap")}) == (0, 0, 1)
    assert out["asset"] == {"decontamination_hits": 0, "decontamination_introduced": 0, "decontamination_source_overlap": 1,
                            "decontamination_dropped": 0}
    assert {k: out["lineage"][k] for k in out["asset"]} == out["asset"]
    assert ("- decontamination (10-grams and exact sentences against the evaluation splits and references): rows dropped 0 "
            "(rewrite introduced overlap: 0); rows whose only overlap was already in the source records 1 (kept: 1)") in out["card"]
    assert "| decontamination_source_overlap | 1 |" in out["card"]
    assert "| decontamination_source_overlap | 1 |" in out["export_card"] and "| decontamination_dropped | 0 |" in out["export_card"]


def test_source_overlap_drop_drops_and_blocks_on_it_too(write_yaml, synth_root, stock_mc):
    out = run(write_yaml, synth_root, stock_mc, [KEEPS_STOCK_PHRASE, PLANT_FOOD], source_overlap="drop")
    assert not out["success"] and not out["check"].passed
    assert [row["id"] for row in out["train"]] == ["t1"]
    assert counts(out["summary"]["decontamination"]) == (1, 0, 1) and out["summary"]["decontamination"]["listed"][0]["dropped"]
    assert "rows dropped 1 (rewrite introduced overlap: 0); rows whose only overlap was already in the source records 1 " \
           "(kept: 0)" in out["card"]


def test_a_rewrite_that_copies_evaluation_text_is_dropped_and_blocks(write_yaml, synth_root, stock_mc):
    """Row 0's rewrite is the validation question itself: beyond the stock phrase its original had, it adds 3 ten-grams
    and the exact sentence; row 1's rewrite copies nothing."""
    out = run(write_yaml, synth_root, stock_mc, [VALIDATION[0]["question"], PLANT_FOOD])
    assert not out["success"] and not out["check"].passed
    assert [row["id"] for row in out["train"]] == ["t1"]
    decontamination = out["summary"]["decontamination"]
    assert counts(decontamination) == (1, 1, 0)
    listed = decontamination["listed"][0]
    assert (listed["kind"], listed["introduced"], listed["origin"], listed["dropped"]) == ("sentence", 4, "introduced", True)
    assert out["asset"]["decontamination_dropped"] == 1 and out["lineage"]["decontamination_hits"] == 1
    assert "rows dropped 1 (rewrite introduced overlap: 1); rows whose only overlap was already in the source records 0" in out["card"]
