"""Experiment configs and the dataset catalog: errors users can act on (file, line, field), sweeps,
default batch ids, and datasets added by YAML only."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from synth_assets.core.catalog import find_entry, read_jsonl
from synth_assets.core.records import select_records
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.recipes.dataset_experiment_config import rewrite_fields
from synth_assets.recipes.registry import fingerprint, load_experiments
from synth_assets.recipes.rephrase import rewrite as rephrase
from tests.conftest import copa_config, datasets_dir

pytestmark = pytest.mark.usefixtures("synth_root")

BASE = """\
experiment:
  batch_id: batch_20250101_cfg
dataset:
  dataset_name: Copa
  limit: 3
generation:
  temperature: 0.7
  max_tokens: 16
validation:
  validators: [rules, {kind: judge, max_tokens: 32}]
"""


def load_error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_experiments(path)
    return info.value


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), start=1) if needle in line)


# ------------------------------------------------------------------ YAML and schema errors


def test_base_config_loads(write_yaml):
    (exp,) = load_experiments(write_yaml(BASE))
    assert exp.dataset == "Copa" and exp.recipe == "rephrase"
    assert exp.config.generation.max_tokens == 16 and exp.config.validation.validators[1].max_tokens == 32


def test_malformed_yaml_names_file_and_line(write_yaml):
    text = BASE.replace("  temperature: 0.7\n", "  temperature: [0.7, 0.9\n")
    path = write_yaml(text)
    err = load_error(path)
    assert err.file == str(path)
    assert err.line is not None and line_of(text, "[0.7, 0.9") <= err.line <= len(text.splitlines()) + 1
    assert str(path) in str(err) and f":{err.line}" in str(err)
    assert "malformed YAML" in str(err)


def test_bad_indentation_names_line(write_yaml):
    text = "dataset:\n  dataset_name: Copa\n   limit: 3\n"
    err = load_error(write_yaml(text))
    assert err.line in (2, 3)


def test_unknown_key_names_key_file_and_line(write_yaml):
    text = BASE.replace("  temperature: 0.7\n", "  temprature: 0.7\n")
    path = write_yaml(text)
    err = load_error(path)
    assert err.field == "generation.temprature"
    assert err.line == line_of(text, "temprature")
    assert "temprature" in str(err) and "unknown key" in str(err)
    assert f"{path}:{err.line}" in str(err)


def test_unknown_top_level_section(write_yaml):
    text = BASE + "sampling:\n  temperature: 1\n"
    err = load_error(write_yaml(text))
    assert err.field == "sampling" and err.line == line_of(text, "sampling:")


@pytest.mark.parametrize(
    "section,key,value",
    [
        ("generation", "temperature", 3),
        ("generation", "top_p", 0),
        ("generation", "max_tokens", 0),
        ("generation", "frequency_penalty", 2.5),
        ("validation", "temperature", -0.1),
        ("validation", "max_tokens", 0),
        ("dataset", "limit", 0),
    ],
)
def test_out_of_range_names_field_and_line(write_yaml, section, key, value):
    config = copa_config()
    config[section][key] = value
    path = write_yaml(config)
    err = load_error(path)
    assert err.field == f"{section}.{key}"
    text = path.read_text()
    section_start = line_of(text, f"{section}:")
    assert err.line is not None and err.line > section_start
    assert text.splitlines()[err.line - 1].strip().startswith(f"{key}:")
    assert f"{section}.{key}" in str(err)


def test_out_of_range_inside_sweep_is_rejected(write_yaml):
    err = load_error(write_yaml(copa_config(temperature=[0.5, 3.0])))
    assert err.field == "generation.temperature"


def test_unknown_dataset_lists_catalog(write_yaml):
    config = copa_config()
    config["dataset"]["dataset_name"] = "Copaa"
    path = write_yaml(config)
    err = load_error(path)
    assert err.field == "dataset.dataset_name"
    assert "Copaa" in str(err)
    for known in ("Copa", "CB", "BOOLQ", "BedtimeStories"):
        assert known in str(err)
    assert err.line == line_of(path.read_text(), "dataset_name")


def test_unknown_split_is_rejected(write_yaml):
    config = copa_config()
    config["dataset"]["split"] = "dev"
    err = load_error(write_yaml(config))
    assert err.field == "dataset.split" and "dev" in str(err)


# ------------------------------------------------------------------ names that become paths


@pytest.mark.parametrize("bad", ["Co/pa", "..", "a..b", "Copa|x", "Co pa", "../Copa", ".hidden"])
def test_unsafe_dataset_name_rejected(write_yaml, bad):
    config = copa_config()
    config["dataset"]["dataset_name"] = bad
    err = load_error(write_yaml(config))
    assert err.field == "dataset.dataset_name"


@pytest.mark.parametrize("bad", ["batch/x", "batch_..", "../batch_x", "batch|x", "batch x", "batch_a,b"])
def test_unsafe_batch_id_rejected(write_yaml, bad):
    err = load_error(write_yaml(copa_config(batch_id=bad)))
    assert err.field == "experiment.batch_id"
    assert err.line is not None


@pytest.mark.parametrize("bad", ["mybatch", "_shared", "Batch_20250101_x"])
def test_batch_id_must_start_with_batch_prefix(write_yaml, bad):
    """Views of any other name would be invisible to `synth batches`, `resolve` and `rm` (or collide with `_shared`)."""
    err = load_error(write_yaml(copa_config(batch_id=bad)))
    assert err.field == "experiment.batch_id" and "must start with 'batch_'" in err.message


@pytest.mark.parametrize("bad", ["temp/study", "a b", "x|y"])
def test_unsafe_purpose_rejected(write_yaml, bad):
    config = copa_config()
    del config["experiment"]["batch_id"]
    config["experiment"]["purpose"] = bad
    err = load_error(write_yaml(config))
    assert err.field == "experiment.purpose"


def test_find_entry_rejects_path_like_names():
    with pytest.raises(ValueError):
        find_entry("../catalog/Copa")


# ------------------------------------------------------------------ prompts


def test_generation_prompt_unknown_field_named(write_yaml):
    config = copa_config(prompt="Rewrite {sentence} please: {text}")
    path = write_yaml(config)
    err = load_error(path)
    assert err.field == "generation.prompt"
    assert "sentence" in str(err)
    assert err.line == line_of(path.read_text(), "prompt:")


def test_validation_prompt_unknown_field_named(write_yaml):
    config = copa_config(validation={"validators": [{"kind": "judge"}], "prompt": "Is {original} like {rewritten}?"})
    path = write_yaml(config)
    err = load_error(path)
    assert err.field == "validation.prompt" and "rewritten" in str(err)
    assert err.line == line_of(path.read_text(), "prompt:")


def test_prompt_with_dataset_fields_is_accepted(write_yaml):
    (exp,) = load_experiments(write_yaml(copa_config(prompt="Premise {premise} ({question}); rewrite: {text}")))
    jobs = rephrase.generation_requests(exp, select_records(exp))
    assert len(jobs) == 3 and "Premise " in jobs[0][2].messages[-1]["content"]


def test_unknown_rewrite_field_rejected(write_yaml):
    err = load_error(write_yaml(copa_config(fields=["premis"])))
    assert err.field == "generation.fields" and "premis" in str(err)


# ------------------------------------------------------------------ sweeps and batch ids


def test_sweep_expands_to_experiments_in_one_batch(write_yaml):
    exps = load_experiments(write_yaml(copa_config(temperature=[0.3, 0.7, 1.0])))
    assert [e.config.generation.temperature for e in exps] == [0.3, 0.7, 1.0]
    assert {e.config.resolved_batch_id() for e in exps} == {"batch_20250101_test"}
    assert len({fingerprint(e).experiment for e in exps}) == 3
    assert len({fingerprint(e).source for e in exps}) == 1  # same source stage


def test_two_axis_sweep_is_cartesian(write_yaml):
    exps = load_experiments(write_yaml(copa_config(temperature=[0.3, 0.7], top_p=[1.0, 0.9, 0.8])))
    points = {(e.config.generation.temperature, e.config.generation.top_p) for e in exps}
    assert len(exps) == 6 and len(points) == 6


def test_sweep_does_not_leak_between_points(write_yaml):
    config = copa_config(temperature=[0.3, 0.9], validation={"validators": ["rules", "judge"], "temperature": [0.0, 0.5]})
    exps = load_experiments(write_yaml(config))
    pairs = [(e.config.generation.temperature, e.config.validation.validators[1].temperature) for e in exps]
    assert sorted(pairs) == [(0.3, 0.0), (0.3, 0.5), (0.9, 0.0), (0.9, 0.5)]


def test_default_batch_id_is_date_and_purpose(write_yaml):
    config = copa_config()
    config["experiment"] = {"purpose": "temperature_study"}
    (exp,) = load_experiments(write_yaml(config))
    assert exp.config.resolved_batch_id(dt.date(2024, 12, 29)) == "batch_20241229_temperature_study"
    assert exp.config.resolved_batch_id() == f"batch_{dt.date.today():%Y%m%d}_temperature_study"


def test_default_batch_id_without_experiment_section(write_yaml):
    config = copa_config()
    del config["experiment"]
    (exp,) = load_experiments(write_yaml(config))
    assert exp.config.resolved_batch_id(dt.date(2025, 2, 3)) == "batch_20250203_experiment"


# ------------------------------------------------------------------ catalog entries (YAML only)


def _entry(name: str, splits: dict[str, str], **extra) -> dict:
    return {
        "name": name,
        "recipe": "rephrase",
        "splits": splits,
        "fields": ["context", "claim", "idx", "label"],
        "rewrite_fields": ["claim"],
        "label_field": "label",
        "prompts": {
            "system": "You rewrite sentences.",
            "generation": "Context: {context}\nClaim: {text}\nRephrased claim:",
            "validation": "Same meaning? {original} / {rephrased}\nAnswer:",
        },
        **extra,
    }


def _cb_like(target: Path, rows: int = 6) -> Path:
    """A CB-like JSONL whose fields are renamed (premise->context, hypothesis->claim)."""
    source = read_jsonl(datasets_dir() / "CB" / "cb_train.jsonl")[:rows]
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("".join(
        json.dumps({"context": r["premise"], "claim": r["hypothesis"], "idx": r["idx"], "label": r["label"]}) + "\n"
        for r in source))
    return target


def test_dataset_added_by_yaml_only(tmp_path, custom_catalog, write_yaml):
    data = _cb_like(tmp_path / "mydata" / "nli_train.jsonl")
    custom_catalog(_entry("MyNLI", {"train": str(data)}))
    config = copa_config()
    config["dataset"]["dataset_name"] = "MyNLI"
    (exp,) = load_experiments(write_yaml(config))
    assert exp.dataset == "MyNLI" and rewrite_fields(exp) == ["claim"]
    fps = fingerprint(exp)
    assert all(len(v) == 64 for v in fps.stages.values())
    assert fps.params["source"]["dataset"] == "MyNLI"
    records = select_records(exp)
    assert [r["idx"] for r in records] == [0, 1, 2]
    jobs = rephrase.generation_requests(exp, records)
    assert len(jobs) == 3
    assert jobs[0][1] == "claim" and records[0]["claim"] in jobs[0][2].messages[-1]["content"]
    assert records[0]["context"] in jobs[0][2].messages[-1]["content"]


def test_relative_split_path_is_relative_to_entry(tmp_path, custom_catalog, write_yaml):
    _cb_like(custom_catalog.folder / "files" / "train.jsonl")
    custom_catalog(_entry("RelNLI", {"train": "files/train.jsonl"}))
    config = copa_config()
    config["dataset"]["dataset_name"] = "RelNLI"
    (exp,) = load_experiments(write_yaml(config))
    assert len(select_records(exp)) == 3


def test_missing_split_file_names_file(tmp_path, custom_catalog, write_yaml):
    data = _cb_like(tmp_path / "mydata" / "nli_train.jsonl")
    missing = tmp_path / "mydata" / "nli_validation.jsonl"
    custom_catalog(_entry("GapNLI", {"train": str(data), "validation": str(missing)}))
    config = copa_config()
    config["dataset"]["dataset_name"] = "GapNLI"
    err = load_error(write_yaml(config))
    assert str(missing) in str(err)
    assert "not found" in str(err)


def test_catalog_entry_unknown_key_named(custom_catalog, write_yaml, tmp_path):
    data = _cb_like(tmp_path / "d" / "t.jsonl")
    entry = custom_catalog(_entry("BadEntry", {"train": str(data)}, rewrite_feilds=["claim"]))
    config = copa_config()
    config["dataset"]["dataset_name"] = "BadEntry"
    err = load_error(write_yaml(config))
    assert err.file == str(entry) and err.field == "rewrite_feilds" and err.line is not None


def test_read_jsonl_bad_line_names_line(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text('{"a": 1}\n{"a": 2}\n{"a": 3,,}\n{"a": 4}\n')
    with pytest.raises(ConfigError) as info:
        read_jsonl(path)
    assert info.value.line == 3 and info.value.file == str(path)
    assert f"{path}:3" in str(info.value)


def test_read_jsonl_non_object_line(tmp_path):
    path = tmp_path / "list.jsonl"
    path.write_text('{"a": 1}\n\n[1, 2]\n')
    with pytest.raises(ConfigError) as info:
        read_jsonl(path)
    assert info.value.line == 3


def test_bad_jsonl_line_in_dataset_fails_source_stage_with_line(tmp_path, custom_catalog, write_yaml):
    data = _cb_like(tmp_path / "mydata" / "broken_train.jsonl")
    lines = data.read_text().splitlines(keepends=True)
    lines[1] = '{"context": "x", "claim": \n'
    data.write_text("".join(lines))
    custom_catalog(_entry("BrokenNLI", {"train": str(data)}))
    config = copa_config()
    config["dataset"]["dataset_name"] = "BrokenNLI"
    with pytest.raises(ConfigError) as info:
        load_experiments(write_yaml(config))  # every line is checked before anything is registered
    assert info.value.line == 2 and str(data) in str(info.value)
