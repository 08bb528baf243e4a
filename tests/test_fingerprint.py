"""Fingerprints: same parameters = same fingerprint, however they are written; anything that changes
the data changes it; organisation and scheduling never do. Legacy scheme and semantic names."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from synth_assets.recipes.registry import fingerprint, load_experiments
from synth_assets.core.experiment_registration import semantic_name
from synth_assets.core.fingerprint import canonical_json, legacy_fingerprint, model_slug
from synth_assets.core.yaml_lines import ConfigError
from tests.conftest import copa_config

pytestmark = pytest.mark.usefixtures("synth_root")

LEGACY = Path("/work/shared/legacy_example/synthetic/_shared")


def fps(write_yaml, config):
    (exp,) = load_experiments(write_yaml(config))
    return fingerprint(exp)


def test_int_and_float_are_the_same(write_yaml):
    a = fps(write_yaml, copa_config(temperature=1, top_p=1, max_tokens=12))
    b = fps(write_yaml, copa_config(temperature=1.0, top_p=1.0, max_tokens=12))
    assert a.experiment == b.experiment
    assert canonical_json({"t": 1}) == canonical_json({"t": 1.0})
    assert canonical_json({"t": 0.70}) == canonical_json({"t": 0.7})


def test_text_spelling_of_numbers_is_irrelevant(write_yaml):
    text_a = "dataset:\n  dataset_name: Copa\n  limit: 3\ngeneration:\n  temperature: 0.70\n  top_p: 1\n  max_tokens: 12\n"
    text_b = "dataset:\n  dataset_name: Copa\n  limit: 3\ngeneration:\n  temperature: 7.0e-1\n  top_p: 1.00\n  max_tokens: 12\n"
    assert fps(write_yaml, text_a).experiment == fps(write_yaml, text_b).experiment


def test_key_order_is_irrelevant(write_yaml):
    config = copa_config()
    shuffled = {
        "validation": dict(reversed(list(config["validation"].items()))),
        "generation": dict(reversed(list(config["generation"].items()))),
        "dataset": dict(reversed(list(config["dataset"].items()))),
        "experiment": config["experiment"],
    }
    assert fps(write_yaml, config).stages == fps(write_yaml, shuffled).stages


def test_defaults_explicit_or_omitted_are_the_same(write_yaml):
    from synth_assets.core.catalog import find_entry

    entry = find_entry("Copa")
    omitted = copa_config()
    explicit = copa_config(
        backend="local", model="smollm2-135m-instruct-q4_1", frequency_penalty=0.0, presence_penalty=0, seed=0,
        prompt=entry.prompts.generation, system_prompt=entry.prompts.system, fields=["premise"],
    )
    explicit["dataset"].update({"split": "train", "sample": "head", "seed": 0})
    explicit["validation"].update({
        "backend": "local", "model": "smollm2-135m-instruct-q4_1", "top_p": 1.0, "min_pass_rate": 0.0,
        "prompt": entry.prompts.validation, "examples": entry.prompts.validation_examples,
    })
    assert fps(write_yaml, omitted).stages == fps(write_yaml, explicit).stages


def test_prompt_change_gives_new_fingerprint(write_yaml):
    a = fps(write_yaml, copa_config(prompt="Rephrase: {text}"))
    b = fps(write_yaml, copa_config(prompt="Rephrase this: {text}"))
    assert a.source == b.source
    assert a.generated != b.generated and a.experiment != b.experiment


def test_system_prompt_change_gives_new_fingerprint(write_yaml):
    a = fps(write_yaml, copa_config())
    b = fps(write_yaml, copa_config(system_prompt="Be brief."))
    assert a.generated != b.generated


@pytest.mark.parametrize("change", [
    {"temperature": 0.8}, {"top_p": 0.9}, {"max_tokens": 13}, {"seed": 1}, {"frequency_penalty": 0.1},
])
def test_sampling_change_gives_new_fingerprint(write_yaml, change):
    assert fps(write_yaml, copa_config()).generated != fps(write_yaml, copa_config(**change)).generated


def test_sample_selection_changes_source(write_yaml):
    base = fps(write_yaml, copa_config(limit=3))
    assert base.source != fps(write_yaml, copa_config(limit=4)).source
    config = copa_config()
    config["dataset"].update({"sample": "random", "seed": 5})
    assert base.source != fps(write_yaml, config).source


@pytest.mark.parametrize("key", ["max_in_flight", "concurrency", "n_parallel", "rpm", "api_key", "base_url"])
def test_scheduling_and_secret_settings_are_not_config_keys(write_yaml, key):
    with pytest.raises(ConfigError) as info:
        load_experiments(write_yaml(copa_config(**{key: 4})))
    assert info.value.field == f"generation.{key}"


def test_organisation_does_not_change_fingerprint(write_yaml):
    a = copa_config(batch_id="batch_20250101_a")
    a["experiment"].update({"purpose": "first", "description": "one"})
    b = copa_config(batch_id="batch_20250202_b")
    b["experiment"].update({"purpose": "second", "description": "something else entirely"})
    c = copa_config()
    del c["experiment"]
    assert fps(write_yaml, a).stages == fps(write_yaml, b).stages == fps(write_yaml, c).stages


def test_evaluators_do_not_change_fingerprint(write_yaml):
    """Evaluating data does not change it: adding or changing `evaluation:` keeps every stage fingerprint."""
    plain = copa_config()
    probed = {**copa_config(), "evaluation": [{"name": "probe", "kind": "probe"}]}
    trained = {**copa_config(), "evaluation": [{"name": "t", "kind": "command", "command": "python t.py --out {metrics_json}"}]}
    assert fps(write_yaml, plain).stages == fps(write_yaml, probed).stages == fps(write_yaml, trained).stages


def _copa_entry(train, validation) -> dict:
    return {
        "name": "CopaCopy", "recipe": "rephrase",
        "splits": {"train": str(train), "validation": str(validation)},
        "fields": ["premise", "choice1", "choice2", "question", "idx", "label"],
        "rewrite_fields": ["premise"],
        "prompts": {"generation": "Rephrase: {text}", "validation": "{original} vs {rephrased}?"},
    }


def test_source_data_content_is_fingerprinted(copa_copy, tmp_path, monkeypatch, write_yaml):
    """Two catalogs with the same entry over files differing in one byte give different fingerprints."""
    changed = tmp_path / "changed"
    changed.mkdir()
    for f in copa_copy.iterdir():
        (changed / f.name).write_bytes(f.read_bytes())
    train = changed / "copa_train.jsonl"
    train.write_text(train.read_text().replace('"premise":"', '"premise":"X', 1))
    config = copa_config()
    config["dataset"]["dataset_name"] = "CopaCopy"
    results = []
    for folder in (copa_copy, changed):
        catalog = tmp_path / f"catalog_{folder.name}"
        catalog.mkdir()
        (catalog / "CopaCopy.yaml").write_text(yaml.safe_dump(_copa_entry(folder / "copa_train.jsonl", folder / "copa_validation.jsonl")))
        monkeypatch.setenv("SYNTH_CATALOG", str(catalog))
        results.append(fps(write_yaml, config))
    assert results[0].source != results[1].source and results[0].experiment != results[1].experiment


def test_source_data_change_gives_new_fingerprint(copa_copy, custom_catalog, write_yaml):
    custom_catalog({
        "name": "CopaCopy", "recipe": "rephrase",
        "splits": {"train": str(copa_copy / "copa_train.jsonl"), "validation": str(copa_copy / "copa_validation.jsonl")},
        "fields": ["premise", "choice1", "choice2", "question", "idx", "label"],
        "rewrite_fields": ["premise"],
        "prompts": {"generation": "Rephrase: {text}", "validation": "{original} vs {rephrased}?"},
    })
    config = copa_config()
    config["dataset"]["dataset_name"] = "CopaCopy"
    before = fps(write_yaml, config)
    assert before.experiment == fps(write_yaml, config).experiment
    train = copa_copy / "copa_train.jsonl"
    lines = train.read_text().splitlines(keepends=True)
    row = json.loads(lines[200])
    row["premise"] += " Indeed."
    lines[200] = json.dumps(row) + "\n"  # a row outside the limit: the file still changed
    train.write_text("".join(lines))
    after = fps(write_yaml, config)
    assert after.source != before.source and after.experiment != before.experiment
    # a split that is not sampled but is published with the data counts too
    val = copa_copy / "copa_validation.jsonl"
    val.write_text(val.read_text() + val.read_text().splitlines(keepends=True)[0])
    assert fps(write_yaml, config).experiment != after.experiment


def test_validation_only_change_keeps_generated_stage(write_yaml):
    base = fps(write_yaml, copa_config())
    other = fps(write_yaml, copa_config(validation={"validators": ["rules", {"kind": "similarity", "min": 0.7}]}))
    prompt = fps(write_yaml, copa_config(validation={"validators": [{"kind": "judge"}], "prompt": "{original} == {rephrased}?"}))
    none = fps(write_yaml, copa_config(validation={"validators": []}))
    for changed in (other, prompt, none):
        assert changed.source == base.source and changed.generated == base.generated
        assert changed.validated != base.validated and changed.experiment != base.experiment
    assert len({base.validated, other.validated, prompt.validated, none.validated}) == 4


def test_stage_fingerprints_chain(write_yaml):
    f = fps(write_yaml, copa_config())
    assert len({f.source, f.generated, f.validated, f.experiment}) == 4
    assert f.stages["published"] == f.experiment


# ------------------------------------------------------------------ legacy scheme


@pytest.mark.skipif(not LEGACY.is_dir(), reason="legacy sample tree not available")
@pytest.mark.parametrize("experiment", ["Copa/temp05_topp10_gpt4o", "Copa/temp09_topp10_gpt4o", "CB/temp07_topp09_gpt4o"])
def test_legacy_scheme_matches_sample_fingerprints(experiment):
    folder = LEGACY / experiment
    config = yaml.safe_load((folder / "generation_config.yaml").read_text())
    assert legacy_fingerprint(config) == (folder / ".fingerprint").read_text().strip()


def test_legacy_scheme_known_value():
    # md5 of json.dumps(sorted params) over gen_* defaults plus the 8-hex md5 of the prompt, first 12 hex
    gen_only = {"generation": {"model": "gpt-4o", "temperature": 0.7, "rephrase_prompt": "Rephrase: {premise}"}}
    assert legacy_fingerprint(gen_only) == "7317f9e68298"
    with_val = {**gen_only, "validation": {"model": "gpt-4o"}}
    assert legacy_fingerprint(with_val) == "13a16580d64c"
    params = {"gen_model": "gpt-4o", "gen_temperature": 0.7, "gen_top_p": 1.0, "gen_max_tokens": 256,
              "gen_frequency_penalty": 0.0, "gen_presence_penalty": 0.0,
              "gen_prompt_hash": hashlib.md5(b"Rephrase: {premise}").hexdigest()[:8]}
    assert legacy_fingerprint(gen_only) == hashlib.md5(json.dumps(params, sort_keys=True).encode()).hexdigest()[:12]


def test_legacy_scheme_ignores_organisation():
    a = {"experiment": {"batch_id": "batch_1"}, "generation": {"model": "gpt-4o", "temperature": 0.5}}
    b = {"experiment": {"batch_id": "batch_2", "purpose": "x"}, "generation": {"model": "gpt-4o", "temperature": 0.5}}
    assert legacy_fingerprint(a) == legacy_fingerprint(b)
    assert legacy_fingerprint(a) != legacy_fingerprint({"generation": {"model": "gpt-4o", "temperature": 0.6}})


# ------------------------------------------------------------------ semantic names


def _openai(write_yaml, **generation):
    (exp,) = load_experiments(write_yaml(copa_config(backend="openai", validation=None, **generation)))
    return exp


def test_semantic_names(write_yaml, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")  # backend openai is checked for a key before anything is registered
    assert semantic_name(_openai(write_yaml, model="gpt-4o", temperature=0.7, top_p=1.0)) == "temp07_topp10_gpt4o"
    assert semantic_name(_openai(write_yaml, model="gpt-3.5-turbo", temperature=0.5, top_p=0.9)) == "temp05_topp09_gpt35"
    assert semantic_name(_openai(write_yaml, model="gpt-4o-mini", temperature=1, top_p=0.95)) == "temp10_topp095_gpt4omini"
    (local,) = load_experiments(write_yaml(copa_config(temperature=0.3)))
    assert semantic_name(local) == "temp03_topp10_smollm2"


@pytest.mark.parametrize("model,slug", [
    ("gpt-4o", "gpt4o"), ("gpt-3.5-turbo", "gpt35"), ("openai/gpt-4o", "gpt4o"), ("GPT-4o", "gpt4o"),
    ("smollm2-135m-instruct-q4_1", "smollm2"),
])
def test_model_slugs(model, slug):
    assert model_slug(model) == slug


def test_scheme_values_are_stable_for_stored_synth1_records():
    """Same inputs, same scheme => the same fingerprint forever: stored data is found by it. The configs are the
    README demo's as `synth/1` stored them (before validators existed); a registered record is checked against
    its inputs by recomputing exactly this. If this fails because the scheme's computation changed, bump SCHEME;
    if the Copa catalog entry or its files changed on purpose, update the values."""
    from synth_assets.core.catalog import find_entry
    from synth_assets.core.config import Experiment
    from synth_assets.core.fingerprint import SCHEME
    from synth_assets.recipes.dataset_experiment_config import DatasetExperimentConfig
    from synth_assets.recipes.registry import fingerprint

    stored = json.loads((Path(__file__).resolve().parent / "fixtures" / "synth1_demo_configs.json").read_text())
    experiments = [Experiment(config=DatasetExperimentConfig.model_validate(c), entry=find_entry("Copa")) for c in stored]
    assert SCHEME == "synth/1"
    assert [fingerprint(e).experiment[:12] for e in experiments] == ["921ab61b0159", "7c6e249dfa17", "f0f0d5ae5100"]
