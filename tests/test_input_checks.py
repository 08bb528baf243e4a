"""Config input checks of issue 20: names that do not fit the paths they become, YAML alias bombs, booleans given
for numbers and a damaged GGUF model are refused before anything is registered, naming file, line and field."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from synth_assets.recipes.registry import load_experiments
from synth_assets.core.gguf import GGUFError, read_header
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.recipes.rephrase import checks
from tests.conftest import REPO, copa_config, datasets_dir
from tests.test_bad_input import nothing_registered, refused, synth  # noqa: F401  (synth: a fixture)

pytestmark = pytest.mark.usefixtures("synth_root")
RULES = {"validators": ["rules"]}


def load_error(path: Path, root: str | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_experiments(path, root)
    return info.value


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if needle in line)


# ------------------------------------------------------------------ names and the paths they become


def test_a_300_character_batch_id_is_refused_by_register_and_nothing_is_registered(synth, synth_root, write_yaml):
    config = write_yaml(copa_config(batch_id="batch_" + "x" * 300, validation={**RULES}))
    said = refused(synth("register", str(config)), synth_root, config, line_of(config, "batch_id:"), "experiment.batch_id")
    assert "batch id is 306 bytes long, at most 233 fit" in said
    assert not any(p.name.startswith("batch_") for p in synth_root.iterdir())


def test_a_long_purpose_is_refused_where_it_becomes_the_default_batch_id(write_yaml):
    config = copa_config(validation={**RULES})
    config["experiment"] = {"purpose": "p" * 219}
    path = write_yaml(config)
    err = load_error(path)
    assert (err.field, err.line) == ("experiment.purpose", line_of(path, "purpose:"))
    assert "at most 218 fit" in err.message
    config["experiment"] = {"purpose": "p" * 218}
    assert load_experiments(write_yaml(config))[0].config.resolved_batch_id().startswith("batch_")


def test_whole_s3_keys_are_checked_against_1024_bytes(write_yaml):
    path = write_yaml(copa_config(batch_id="batch_" + "b" * 200, validation={**RULES}))
    assert load_experiments(path, "s3://bucket/store")  # fits with a short prefix
    err = load_error(path, "s3://bucket/" + "deep/" * 170)
    assert (err.field, err.line) == ("experiment.batch_id", line_of(path, "batch_id:"))
    assert "S3 keys may be at most 1024 bytes" in err.message


def test_a_dataset_whose_split_file_names_would_not_fit(custom_catalog, write_yaml):
    name = "C" * 220  # `{name}_validation.jsonl` plus the store's temporary name is over 255 bytes
    copa = datasets_dir() / "Copa"
    custom_catalog({"name": name, "recipe": "rephrase", "fields": ["premise", "choice1", "choice2", "question", "idx", "label"],
                    "rewrite_fields": ["premise"], "label_field": "label",
                    "splits": {s: str(copa / f"copa_{s}.jsonl") for s in ("train", "validation")}})
    config = copa_config(validation={**RULES})
    config["dataset"]["dataset_name"] = name
    path = write_yaml(config)
    err = load_error(path)
    assert (err.field, err.line) == ("dataset.dataset_name", line_of(path, "dataset_name:"))
    assert "path component" in err.message and "use a shorter dataset name" in err.message


# ------------------------------------------------------------------ YAML aliases


def alias_bomb(levels: int, fan_out: int = 9) -> str:
    """About 60 bytes a level; `levels` levels of aliases under an unknown key expand to fan_out**levels values."""
    lines = ["dataset: {dataset_name: Copa, limit: 2}", "unknown_section:", "  l0: &l0 [" + ",".join(['"lol"'] * fan_out) + "]"]
    lines += [f"  l{i}: &l{i} [" + ",".join([f"*l{i - 1}"] * fan_out) + "]" for i in range(1, levels + 1)]
    return "\n".join(lines) + "\n"


def test_an_alias_bomb_is_refused_at_the_alias_not_expanded(write_yaml):
    path = write_yaml(alias_bomb(5))  # 59,049 values: loads without a bound, then fails as an unknown key
    err = load_error(path)
    assert "expands to more than 10000 values" in err.message and err.field.startswith("unknown_section.l")
    assert err.line == line_of(path, f"  {err.field.split('.')[1]}:")


def test_an_8_level_alias_bomb_fails_fast_with_small_memory(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(8))
    assert len(path.read_bytes()) < 1024
    probe = ("import resource, sys\nresource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
             "from synth_assets.recipes.registry import load_experiments\nfrom synth_assets.core.yaml_lines import ConfigError\n"
             "try:\n    load_experiments(sys.argv[1])\nexcept ConfigError as exc:\n    print(exc)\n")
    done = subprocess.run([sys.executable, "-c", probe, str(path)], capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)}, check=False)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert f"{path}:" in done.stdout and "aliases (*name) repeat what their anchor" in done.stdout


def test_an_anchor_inside_itself_is_refused(write_yaml):
    path = write_yaml("dataset: {dataset_name: Copa}\ngeneration:\n  fields: &loop [*loop]\n")
    err = load_error(path)
    assert "nested more than" in err.message and err.field.startswith("generation.fields") and err.line == 3


def test_anchors_that_repeat_a_value_keep_working(write_yaml):
    path = write_yaml('dataset: {dataset_name: Copa, limit: 2}\ngeneration:\n  prompt: &prompt "Rewrite: {text}"\n'
                      "  temperature: &t 0.5\nvalidation:\n  validators: [rules, {kind: judge, temperature: *t}]\n")
    (exp,) = load_experiments(path)
    assert exp.config.generation.temperature == 0.5 == exp.config.validation.validators[1].temperature


@pytest.mark.parametrize("text, line, field, problem", [
    ("dataset: {dataset_name: Copa}\n? [a, b]\n: 1\n", 2, None, "a key must be a plain name"),
    ("dataset: {dataset_name: Copa}\ngeneration:\n  seed: !!int nope\n", 3, "generation.seed", "cannot read this value"),
    ("dataset: {dataset_name: Copa}\ngeneration:\n  prompt: !custom x\n", 3, "generation.prompt", "cannot read this value"),
])
def test_yaml_that_cannot_be_built_names_its_line(write_yaml, text, line, field, problem):
    err = load_error(write_yaml(text))
    assert (err.line, err.field) == (line, field) and problem in err.message


# ------------------------------------------------------------------ booleans are not numbers


@pytest.mark.parametrize("section, key, value", [
    ("dataset", "limit", True), ("dataset", "seed", False), ("generation", "n", True), ("generation", "temperature", False),
    ("generation", "max_tokens", True), ("generation", "k_shot", False), ("generation", "max_failure_rate", True),
    ("validation", "min_pass_rate", True), ("validation", "max_words", True), ("decontamination", "ngram", True),
])
def test_a_boolean_for_a_number_is_refused(write_yaml, section, key, value):
    config = {**copa_config(validation={**RULES}), "decontamination": {}}
    config[section][key] = value
    path = write_yaml(config)
    err = load_error(path)
    assert err.field == f"{section}.{key}" and path.read_text().splitlines()[err.line - 1].strip() == f"{key}: {str(value).lower()}"
    assert f"got the boolean {str(value).lower()}" in err.message


def test_a_boolean_inside_a_sweep_or_a_validator_is_refused(write_yaml):
    assert load_error(write_yaml(copa_config(temperature=[0.5, True], validation={**RULES}))).field == "generation.temperature"
    err = load_error(write_yaml(copa_config(validation={"validators": ["rules", {"kind": "judge", "max_tokens": True}]})))
    assert err.field.startswith("validation.validators.1") and err.field.endswith("max_tokens") and "boolean" in err.message


def test_booleans_still_set_switches(write_yaml):
    config = {**copa_config(allow_truncated=True, validation={**RULES}), "decontamination": {"blocking": False}}
    (exp,) = load_experiments(write_yaml(config))
    assert exp.config.generation.allow_truncated is True and exp.config.decontamination.blocking is False


# ------------------------------------------------------------------ the local model's GGUF header


def gguf(version: int = 3, keys: dict[str, str] | None = None, tensors: int = 1) -> bytes:
    """A minimal GGUF header: string metadata and `tensors` one-dimensional F32 tensor descriptions."""
    keys = {"general.architecture": "llama"} if keys is None else keys
    text = lambda s: struct.pack("<Q", len(s.encode())) + s.encode()  # noqa: E731
    out = b"GGUF" + struct.pack("<IQQ", version, tensors, len(keys))
    out += b"".join(text(k) + struct.pack("<I", 8) + text(v) for k, v in keys.items())
    out += b"".join(text(f"t{i}") + struct.pack("<IQIQ", 1, 4, 0, 32 * i) for i in range(tensors))
    return out + b"\0" * 64


@pytest.mark.parametrize("data, problem", [
    (b"GGUF" + b"\0" * 60, "GGUF version 0"),
    (gguf(version=7), "GGUF version 7"),
    (gguf(tensors=0), "0 tensors"),
    (gguf(keys={"general.name": "x"}), "lacks general.architecture"),
    (gguf()[:40], "past the end"),
    (gguf().replace(struct.pack("<I", 8), struct.pack("<I", 99), 1), "unknown value type 99"),
])
def test_a_damaged_gguf_header_is_refused(tmp_path, data, problem):
    path = tmp_path / "model.gguf"
    path.write_bytes(data)
    with pytest.raises(GGUFError, match=problem):
        read_header(path)


def test_the_installed_model_header_reads(tmp_path):
    header = read_header(checks_default_gguf())
    assert header.version in (2, 3) and header.tensors > 100 and header.metadata["general.architecture"] == "llama"


def checks_default_gguf() -> Path:
    from synth_assets.llm.backends.local_server import default_gguf_path

    return default_gguf_path()


def test_a_model_of_the_right_magic_and_size_but_a_zeroed_header_fails_the_check(tmp_path, monkeypatch):
    real = checks_default_gguf()
    zeroed = tmp_path / real.name
    with open(zeroed, "wb") as handle:
        handle.write(b"GGUF")
        handle.truncate(real.stat().st_size)  # sparse: the right size, all zeros after the magic
    monkeypatch.setattr("synth_assets.llm.backends.local_server.default_gguf_path", lambda: zeroed)
    monkeypatch.setattr(checks, "_recorded_size", lambda path: real.stat().st_size)
    with pytest.raises(ConfigError) as info:
        checks.check_gguf()
    assert info.value.file == str(zeroed) and "GGUF version 0" in info.value.message and "reinstall" in info.value.message


@pytest.mark.slow
def test_a_zeroed_model_header_is_refused_by_synth_run_before_registering(tmp_path):
    from tests.test_bad_input import _package_with_model, _run_with_model, write_config

    package = _package_with_model(tmp_path / "pkgs", b"GGUF")
    model = next(package.glob("*.gguf"))
    os.truncate(model, checks_default_gguf().stat().st_size)
    done = _run_with_model(package, tmp_path / "root", tmp_path / "home", write_config(tmp_path))
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert f"error: {model}: GGUF version 0" in " ".join(done.stderr.split())
    assert nothing_registered(tmp_path / "root")
