"""Nested fields in the rephrase recipe: field paths (`choices.text[*]`) in catalog entries, configs and prompts,
readable options in prompts, element-wise rewriting with the real local model, and file:line:field errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from synth_assets.cli.main import app
from synth_assets.recipes.registry import load_experiments
from synth_assets.core.fields import FieldPathError, assign, get, parse, resolve
from synth_assets.core.prompt_values import prompt_fields
from synth_assets.core.records import META, select_records
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.llm.client import LLMClient
from synth_assets.recipes.base import StageRun
from synth_assets.recipes.rephrase import RECIPE, judging, publishing, rewrite
from synth_assets.recipes.rephrase.rewrite import OPTION_MARK, without_option_mark
from tests.conftest import REPO, local_store, run_config

pytestmark = pytest.mark.usefixtures("synth_root")

MC_DIR = REPO / "datasets" / "handmade" / "ScienceMC"
RECORD = {"id": "x", "question": "Which planet is closest to the Sun?",
          "choices": {"text": ["Venus", "Earth", "Mercury", "Mars"], "label": ["A", "B", "C", "D"]}, "answerKey": "C"}


def mc_config(*, limit: int = 3, max_tokens: int = 16, validation: dict | None = None, **generation) -> dict:
    config = {"experiment": {"batch_id": "batch_20250101_mc", "purpose": "mc"},
              "dataset": {"dataset_name": "ScienceMC", "limit": limit},
              "generation": {"temperature": 0.7, "max_tokens": max_tokens, **generation}}
    if validation is not None:
        config["validation"] = validation
    return config


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_experiments(path)
    return info.value


def line_of(text: str, needle: str) -> int:
    return next(n for n, line in enumerate(text.splitlines(), start=1) if needle in line)


def jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


# ------------------------------------------------------------------ paths


def test_paths_resolve_index_and_expand_wildcards():
    assert get(RECORD, "choices.text[2]") == "Mercury"
    assert get(RECORD, "choices.text[*]") == ["Venus", "Earth", "Mercury", "Mars"]
    assert [w for w, _ in resolve(RECORD, "choices.label[*]")] == [("choices", "label", i) for i in range(4)]
    assert str(parse("answers[*].text")) == "answers[*].text"
    changed = assign(RECORD, "choices.text[1]", "Our planet")
    assert changed["choices"]["text"] == ["Venus", "Our planet", "Mercury", "Mars"]
    assert RECORD["choices"]["text"][1] == "Earth" and changed["choices"]["label"] is RECORD["choices"]["label"]


@pytest.mark.parametrize("path, says", [
    ("choices.txt", "choices has no field 'txt' (it has: text, label)"),
    ("choices.text[7]", "choices.text has 4 elements: no index 7"),
    ("choices.text.first", "choices.text is a list: write choices.text[0] or choices.text[*]"),
    ("question[*]", "question is text, not a list"),
    ("choices..text", "bad field path"),
    ("choices[text]", "write .text for a key, not [text]"),
])
def test_bad_paths_say_what_is_there_instead(path, says):
    with pytest.raises(FieldPathError, match=None) as info:
        resolve(RECORD, path)
    assert says in str(info.value)


# ------------------------------------------------------------------ prompts


def test_prompts_show_options_readably_and_take_formats():
    values = prompt_fields(RECORD)
    assert "{choices}".format_map(values) == "A) Venus\nB) Earth\nC) Mercury\nD) Mars"
    assert "{choices.text}".format_map(values) == "A) Venus\nB) Earth\nC) Mercury\nD) Mars"
    assert "{choices:inline}".format_map(values) == "A) Venus B) Earth C) Mercury D) Mars"
    assert "{choices.text:lines}".format_map(values) == "Venus\nEarth\nMercury\nMars"
    assert "{choices.text:numbered}".format_map(values) == "1. Venus\n2. Earth\n3. Mercury\n4. Mars"
    assert json.loads("{choices:json}".format_map(values)) == RECORD["choices"]
    assert "{choices.text[2]} / {choices[text][0]} / {answerKey}".format_map(values) == "Mercury / Venus / C"
    labelled = prompt_fields({"options": [{"label": "1", "text": "yes"}, {"label": "2", "text": "no"}]})
    assert "{options}".format_map(labelled) == "1) yes\n2) no"
    assert "{options[*].text:inline}".format_map(labelled) == "A) yes B) no"
    plain = prompt_fields({"idx": 7, "flag": True, "text": "t"})
    assert "{idx} {idx:03d} {flag} {text}".format_map(plain) == "7 007 True t"  # scalars render as before
    with pytest.raises(ValueError, match="unknown format 'xml' for choices"):
        "{choices:xml}".format_map(values)


def test_generation_prompt_of_an_element_shows_the_options(write_yaml):
    (exp,) = load_experiments(write_yaml(mc_config(limit=2)))
    jobs = rewrite.generation_requests(exp, select_records(exp))
    assert [field for _, field, _ in jobs[:5]] == ["question", "choices.text[0]", "choices.text[1]", "choices.text[2]",
                                                   "choices.text[3]"]
    assert len(jobs) == 10
    prompt = jobs[2][2].messages[-1]["content"]
    assert "A) Oxygen\nB) Carbon dioxide\nC) Nitrogen\nD) Helium" in prompt and "Text: Carbon dioxide\n" in prompt
    assert "['" not in prompt and "{'" not in prompt


def test_option_marks_copied_from_the_prompt_are_dropped_from_element_rewrites():
    assert [without_option_mark(t, "Helium") for t in ["D) Helium", "(b) A gas", "2. Light gas", "St. Louis", "3.5 kg"]] == [
        "Helium", "A gas", "Light gas", "St. Louis", "3.5 kg"]
    assert without_option_mark("A) yes", "A) yes, always") == "A) yes"  # the original has a mark: kept


# ------------------------------------------------------------------ config errors with file:line:field


def test_unknown_rewrite_path_in_config_names_file_line_field_and_record(write_yaml):
    text = ("dataset: {dataset_name: ScienceMC, limit: 2}\n"
            "generation:\n  fields:\n    - question\n    - choices.txt[*]\n")
    path = write_yaml(text)
    err = load_error(path)
    assert (err.file, err.line, err.field) == (str(path), 5, "generation.fields.1")
    assert "choices has no field 'txt' (it has: text, label)" in err.message
    assert f"{MC_DIR / 'sciencemc_train.jsonl'}:1" in err.message


@pytest.mark.parametrize("bad, says", [
    ("choice.text[*]", "rewrite_fields ['choice.text[*]'] are not in fields"),
    ("choices.text[4]", "choices.text has 4 elements: no index 4"),
    ("choices.text[*", "bad field path 'choices.text[*'"),
])
def test_unknown_rewrite_path_in_catalog_names_its_line(custom_catalog, write_yaml, bad, says):
    text = (REPO / "synth_assets/catalog/ScienceMC.yaml").read_text().replace("name: ScienceMC", "name: OddMC")
    text = text.replace("../../datasets", str(REPO / "datasets")).replace("  - choices.text[*]   ", f"  - {bad}   ")
    catalog = custom_catalog(text, name="OddMC")
    config = mc_config()
    config["dataset"]["dataset_name"] = "OddMC"
    err = load_error(write_yaml(config))
    assert (err.file, err.field) == (str(catalog), "rewrite_fields.1") and err.line == line_of(text, f"- {bad} ")
    assert says in err.message


def test_path_syntax_error_in_config_names_the_item(write_yaml):
    path = write_yaml("dataset: {dataset_name: ScienceMC}\ngeneration:\n  fields: [question, \"choices..text\"]\n")
    err = load_error(path)
    assert (err.line, err.field) == (3, "generation.fields.1") and "bad field path 'choices..text'" in err.message


@pytest.mark.parametrize("fields, kind, hint", [
    (["choices"], "object", "name a text inside it, e.g. choices.text"),
    (["choices.text"], "list", "write choices.text[*]"),
])
def test_rewritten_value_must_be_text(write_yaml, fields, kind, hint):
    path = write_yaml(mc_config(fields=fields))
    err = load_error(path)
    assert err.field == "generation.fields.0" and err.line == line_of(path.read_text(), fields[0])
    assert f"field {fields[0]!r} is {kind} in the data, not text" in err.message and hint in err.message


@pytest.mark.parametrize("fields, says", [
    (["question", "answerKey"], "field 'answerKey' would rewrite the label 'answerKey'"),
    (["choices.text[*]", "choices.text[1]"], "fields 'choices.text[*]' and 'choices.text[1]' both name choices.text[1]"),
])
def test_labels_and_values_are_rewritten_at_most_once(write_yaml, fields, says):
    err = load_error(write_yaml(mc_config(fields=fields)))
    assert err.field == "generation.fields.1" and says in err.message


def test_rules_take_a_path_for_required_words(write_yaml):
    from synth_assets.quality.validators import Candidate, RulesSpec, RulesValidator

    rules = RulesValidator(RulesSpec(required_words_field="choices.text", length_ratio=None, names=False))
    row = prompt_fields(RECORD)  # the row validators get: paths reach into it
    kept, lost = rules.validate([
        Candidate(RECORD["question"], "Is Venus, Earth, Mercury or Mars the planet closest to the Sun?", "question", row),
        Candidate(RECORD["question"], "Which planet is nearest to the Sun?", "question", row)])
    assert kept.accepted and not lost.accepted and "required word missing: 'Venus', 'Earth'" in lost.reason
    err = load_error(write_yaml(mc_config(validation={"validators": [{"kind": "rules", "required_words_field": "choices.texts"}]})))
    assert err.field == "validation.validators.0.required_words_field" and "choices has no field 'texts'" in err.message


def test_every_element_must_be_text(tmp_path, custom_catalog, write_yaml):
    rows = jsonl(MC_DIR / "sciencemc_train.jsonl")[:3]
    rows[2]["choices"]["text"][1] = 42
    data = tmp_path / "mixed.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    entry = yaml.safe_load((REPO / "synth_assets/catalog/ScienceMC.yaml").read_text())
    entry.update(name="MixedMC", splits={"train": str(data)})
    catalog = custom_catalog(entry)
    config = mc_config()
    config["dataset"]["dataset_name"] = "MixedMC"
    err = load_error(write_yaml(config))
    assert err.file == str(catalog) and err.field == "rewrite_fields.1"
    assert err.line == line_of(catalog.read_text(), "- choices.text[*]")
    assert "'choices.text[*]' is integer or text in the data, not text" in err.message


def test_unknown_placeholder_paths_blame_the_prompt(write_yaml):
    config = mc_config(prompt="Options: {choices.texts}\nRewrite: {text}")
    path = write_yaml(config)
    err = load_error(path)
    assert err.field == "generation.prompt" and err.line == line_of(path.read_text(), "prompt:")
    assert "placeholder {choices.texts}: choices has no field 'texts'" in err.message
    judge = mc_config(validation={"validators": ["rules", {"kind": "judge", "prompt": "{choices.text[4]} {original} {rephrased}"}]})
    path = write_yaml(judge)
    err = load_error(path)
    assert err.field == "validation.validators.1.prompt"
    assert "choices.text has 4 elements: no index 4" in err.message and "sciencemc_train.jsonl:1" in err.message


def test_judge_examples_must_fill_nested_placeholders(write_yaml):
    validation = {"validators": [{"kind": "judge"}], "prompt": "Options:\n{choices}\n{original} -> {rephrased}",
                  "examples": [{"original": "a", "rephrased": "b", "answer": "same"}]}
    path = write_yaml(mc_config(validation=validation))
    err = load_error(path)
    assert err.field == "validation.examples.0" and "example 0 cannot fill the prompt" in err.message


def test_synth_fingerprint_reports_unknown_paths(synth_root, write_yaml):
    path = write_yaml("dataset: {dataset_name: ScienceMC, limit: 2}\ngeneration:\n  fields:\n    - choices.text[*]\n"
                      "    - choices.lable[0]\n")
    result = CliRunner().invoke(app, ["--root", str(synth_root), "fingerprint", str(path)], env={"SYNTH_ROOT": str(synth_root)})
    assert result.exit_code == 2
    said = " ".join(result.output.split())
    assert f"{path}:5: generation.fields.1:" in said and "choices has no field 'lable'" in said


# ------------------------------------------------------------------ publish guards


def test_decontamination_sees_nested_texts_of_other_splits(tmp_path, custom_catalog, write_yaml):
    train, validation = jsonl(MC_DIR / "sciencemc_train.jsonl"), jsonl(MC_DIR / "sciencemc_validation.jsonl")
    for name, rows in (("train", train), ("validation", validation)):
        (tmp_path / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    entry = yaml.safe_load((REPO / "synth_assets/catalog/ScienceMC.yaml").read_text())
    entry.update(name="LeakyMC", splits={"train": str(tmp_path / "train.jsonl"), "validation": str(tmp_path / "validation.jsonl")})
    custom_catalog(entry)
    config = mc_config()
    config["dataset"]["dataset_name"] = "LeakyMC"
    (exp,) = load_experiments(write_yaml(config))
    leaked = assign(train[0], "choices.text[3]", validation[6]["choices"]["text"][1])  # "In its mother's pouch"
    hits = publishing.contamination(exp, [train[1], leaked])
    assert [(h.row, h.field, h.reference) for h in hits] == [(1, "choices.text[3]", "validation.jsonl:6:choices.text[1]")]


def test_rows_changed_outside_their_rewritten_values_are_reported(write_yaml):
    (exp,) = load_experiments(write_yaml(mc_config(limit=2)))
    records = select_records(exp)
    meta = {"fields": {"choices.text[0]": {}}}
    fine = {**assign(records[0], "choices.text[0]", "A gas we breathe"), META: {**records[0][META], **meta}}
    relabelled = {**assign(records[1], "choices.label[0]", "Z"), META: {**records[1][META], **meta}}
    assert publishing.altered_rows(exp, [fine, relabelled]) == ["row 1: choices changed outside the rewritten values"]


# ------------------------------------------------------------------ the real local model


@pytest.mark.slow
def test_element_wise_rewrite_and_judge_with_the_local_model(synth_root, write_yaml, tmp_path):
    """One request per element and candidate, each judged on its own; the judge prompt shows the options."""
    judge_prompt = "Question: {question}\nOptions: {choices:inline}\nOriginal {field_name}: {original}\nRewrite: {rephrased}"
    validation = {"validators": ["rules", {"kind": "judge", "max_tokens": 64, "max_json_retries": 0, "prompt": judge_prompt}]}
    (exp,) = load_experiments(write_yaml(mc_config(limit=1, n=2, validation=validation)))
    records = select_records(exp)
    jobs = rewrite.generation_requests(exp, records)
    assert len(jobs) == 5 and all(r.n == 2 for _, _, r in jobs)
    llm = LLMClient(cache_path=str(tmp_path / "cache.sqlite"), max_in_flight=4)
    sent: list[list[dict]] = []

    def chat(sampling, requests, **_):
        sent.extend(r.messages for r in requests)
        return list(llm.chat(requests).responses)

    generated = rewrite.apply_generations(exp, records, jobs, chat(exp.config.generation, [r for _, _, r in jobs]))
    fields = generated[0][META]["fields"]
    assert list(fields) == ["question"] + [f"choices.text[{i}]" for i in range(4)]
    assert fields["choices.text[2]"]["original"] == "Nitrogen" and fields["choices.text[2]"]["path"] == "choices.text[*]"
    assert all(len(info["candidates"]) == 2 for info in fields.values())
    sent.clear()
    run = StageRun(recipe=RECIPE, stage=RECIPE.stage("validated"), record={}, job=exp, store=local_store(synth_root),
                   log=None, resources={}, upstream=generated, chat=chat)
    (row,) = judging.validate(run)
    assert all("outcomes" in info and "rewritten" in info for info in row[META]["fields"].values())
    judged = [m[-1]["content"] for m in sent]
    assert judged and all("Options: A) Oxygen B) Carbon dioxide C) Nitrogen D) Helium" in q for q in judged)
    assert {q.split("Original ")[1].split(":")[0] for q in judged} <= set(fields)
    assert row["choices"]["label"] == ["A", "B", "C", "D"] and row["answerKey"] == "B"
    for f, info in row[META]["fields"].items():
        assert get(row, f) == (info["candidates"][info["chosen"]]["text"] if info["rewritten"] else info["original"])


@pytest.mark.slow
def test_multiple_choice_pipeline_publishes_nested_rows(synth_root, write_yaml):
    """Rewrite `question` and each `choices.text[*]` through the Dagster pipeline: labels and structure intact."""
    lenient = {"validators": [{"kind": "rules", "length_ratio": None, "names": False}]}  # let the 135M model's rewrites land
    config = write_yaml(mc_config(limit=3, max_tokens=24, validation=lenient))
    (reg,), outcome, _ = run_config(config, synth_root)
    assert outcome[reg.fingerprint].success
    shared = local_store(synth_root).experiment_dir("ScienceMC", reg.name)
    published = jsonl(shared / "ScienceMC" / "sciencemc_train.jsonl")
    source = jsonl(MC_DIR / "sciencemc_train.jsonl")[:3]
    assert len(published) == 3
    for got, original in zip(published, source):
        assert set(got) == set(original) and set(got["choices"]) == {"text", "label"}
        assert got["choices"]["label"] == original["choices"]["label"] and got["answerKey"] == original["answerKey"]
        assert got["id"] == original["id"]
        assert len(got["choices"]["text"]) == 4 and all(isinstance(t, str) and t for t in got["choices"]["text"])
    rewritten = sum(g["choices"]["text"][i] != o["choices"]["text"][i] for g, o in zip(published, source) for i in range(4))
    rewritten += sum(g["question"] != o["question"] for g, o in zip(published, source))
    assert rewritten >= 1
    assert not any(OPTION_MARK.match(t) for g in published for t in g["choices"]["text"])  # "D) Helium" -> "Helium"
    validated = local_store(synth_root).read_stage("ScienceMC", "validated", reg.fingerprints.validated)
    for row, got in zip(validated, published):
        fields = row[META]["fields"]
        assert list(fields) == ["question"] + [f"choices.text[{i}]" for i in range(4)]  # provenance per element
        for f, info in fields.items():
            assert get(got, f) == (info["candidates"][info["chosen"]]["text"] if info["rewritten"] else info["original"])
    quality = json.loads((shared / "experiment_metadata.json").read_text())["summary"]["quality"]
    assert quality["slots"] == 15 and quality["accepted"] == rewritten
    assert quality["label_before.B"] == quality["label_after.B"] == 1
    assert (shared / "ScienceMC" / "sciencemc_validation.jsonl").read_bytes() == (MC_DIR / "sciencemc_validation.jsonl").read_bytes()
