"""Property tests of the config parser (hypothesis): random YAML documents, random YAML-like text and random edits
of the shipped example configs either load or fail with a `ConfigError` that names the file, the line and (for a
problem with a value) the field; through `synth register` a refused config registers nothing and prints no
traceback. Bounded: a few hundred examples in all, no deadline, no example database."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from synth_assets.cli.main import app
from synth_assets.core.config import DatasetSection, ExperimentSection
from synth_assets.core.numbers import wants_number_not_bool
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.recipes.dataset_experiment_config import (CalibrationCheck, DecontaminationSection, GenerationSection,
                                                            ValidationSection)
from synth_assets.recipes.registry import load_experiments
from tests.conftest import REPO
from tests.test_bad_input import nothing_registered

pytestmark = pytest.mark.usefixtures("synth_root")
BOUNDED = settings(max_examples=200, deadline=None, database=None, derandomize=True,
                   suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
EXAMPLES = [REPO / "examples" / "demo" / "temperature_sweep.yaml", REPO / "examples" / "demo" / "reuse_check.yaml",
            REPO / "examples" / "stories.yaml"]
SECTIONS = {"experiment": ExperimentSection, "dataset": DatasetSection, "generation": GenerationSection,
            "validation": ValidationSection, "decontamination": DecontaminationSection}
KEYS = sorted({k for model in [*SECTIONS.values(), CalibrationCheck] for k in model.model_fields} | {"kind", "temprature", "x"})
# problems with the file as a whole rather than with one value: they name file and line, no field
WHOLE_FILE = ("malformed YAML", "not UTF-8", "a config must be a mapping", "file is empty", "a key must be a plain name",
              "nested too deeply")

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(["Copa", "CB", "BedtimeStories", "batch_20250101_x", "rules", "judge", "similarity",
                                           "local", "openai", "head", "random", "train", "test", "premise", "{text}", "[*]"]),
)
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=3),
                      max_leaves=8)
documents = st.one_of(
    st.fixed_dictionaries({}, optional={name: st.dictionaries(st.sampled_from(sorted(model.model_fields) + ["temprature"]), values,
                                                              max_size=5) | values
                                        for name, model in SECTIONS.items()}),
    st.fixed_dictionaries({"dataset": st.fixed_dictionaries({"dataset_name": st.sampled_from(["Copa", "CB", "BedtimeStories"])},
                                                            optional={"limit": values, "split": values, "seed": values})},
                          optional={name: st.dictionaries(st.sampled_from(sorted(model.model_fields)), values, max_size=3)
                                    for name, model in SECTIONS.items() if name != "dataset"}),
    values,
)
yaml_like = st.lists(st.sampled_from([*"abcdeknrt01.:-_ \n[]{},&*!|>'\"#?%@\té", "dataset", "Copa", "generation", "temperature",
                                      "  ", ": ", "- ", "\n  "]), max_size=60).map("".join)


def check_outcome(path: Path, root: Path) -> ConfigError | None:
    """Load `path`: a config, or a ConfigError naming an existing file, a line in it and (for a value) the field."""
    try:
        load_experiments(path, root)
        event("loaded")
        return None
    except ConfigError as err:
        event("refused")
        assert Path(err.file).exists(), err
        assert err.line is not None and 1 <= err.line <= len(Path(err.file).read_bytes().splitlines()) + 1, err
        assert err.field is not None or err.message.startswith(WHOLE_FILE), err
        return err


counter = itertools.count()


def write(folder: Path, text: str | bytes) -> Path:
    path = folder / f"config_{next(counter)}.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    return path


@BOUNDED
@given(document=documents)
def test_random_documents_load_or_name_file_line_and_field(document: Any, tmp_path: Path, synth_root: Path):
    check_outcome(write(tmp_path, yaml.safe_dump(document, allow_unicode=True)), synth_root)


@settings(BOUNDED, max_examples=150)
@given(text=yaml_like)
def test_random_yaml_like_text_loads_or_names_file_and_line(text: str, tmp_path: Path, synth_root: Path):
    check_outcome(write(tmp_path, text), synth_root)


def key_paths(data: Any, prefix: tuple = ()) -> list[tuple]:
    if isinstance(data, dict):
        return [prefix + (k,) for k in data] + [p for k, v in data.items() for p in key_paths(v, prefix + (k,))]
    if isinstance(data, list):
        return [p for i, v in enumerate(data) for p in key_paths(v, prefix + (i,))]
    return []


def edit(data: dict, draw) -> dict:
    """One random change: a value replaced, a key removed, renamed with a typo, or an unknown key added."""
    where = draw(st.sampled_from(key_paths(data)))
    parent = data
    for step in where[:-1]:
        parent = parent[step]
    key, kind = where[-1], draw(st.sampled_from(["value", "delete", "typo", "unknown"]))
    if kind == "value":
        parent[key] = draw(values)
    elif kind == "delete" and isinstance(parent, dict):
        del parent[key]
    elif kind == "typo" and isinstance(parent, dict):
        parent[f"{key}{draw(st.sampled_from(['s', '_', 'x']))}"] = parent.pop(key)
    elif isinstance(parent, dict):
        parent[draw(st.sampled_from(KEYS))] = draw(values)
    return data


@BOUNDED
@given(example=st.sampled_from(EXAMPLES), data=st.data())
def test_random_edits_of_valid_configs_load_or_name_file_line_and_field(example: Path, data, tmp_path: Path, synth_root: Path):
    config = yaml.safe_load(example.read_text())
    for _ in range(data.draw(st.integers(1, 3))):
        config = edit(config, data.draw)
    check_outcome(write(tmp_path, yaml.safe_dump(config, sort_keys=False, allow_unicode=True)), synth_root)


@settings(BOUNDED, max_examples=100)
@given(example=st.sampled_from(EXAMPLES), data=st.data())
def test_random_text_edits_of_valid_configs(example: Path, data, tmp_path: Path, synth_root: Path):
    text = example.read_text()
    at = data.draw(st.integers(0, len(text)))
    cut = data.draw(st.integers(0, 12))
    check_outcome(write(tmp_path, text[:at] + data.draw(yaml_like) + text[at + cut:]), synth_root)


@settings(BOUNDED, max_examples=40)
@given(example=st.sampled_from(EXAMPLES), data=st.data())
def test_synth_register_of_an_edited_config_registers_nothing_when_it_refuses(example: Path, data, tmp_path: Path,
                                                                             synth_root: Path):
    config = edit(yaml.safe_load(example.read_text()), data.draw)
    path = write(tmp_path, yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    err = check_outcome(path, synth_root)
    if err is None:
        return  # a valid edit (another temperature, say) registers like any config; not what this test is about
    result = CliRunner().invoke(app, ["--root", str(synth_root), "register", str(path)])
    said = " ".join(result.output.split())
    assert result.exit_code == 2 and "Traceback" not in result.output, said
    assert f"error: {err.file}:{err.line}: " in said and nothing_registered(synth_root)


NUMBER_FIELDS = sorted((section, key) for section, model in SECTIONS.items() for key, field in model.model_fields.items()
                       if wants_number_not_bool(field.annotation))


@settings(BOUNDED, max_examples=60)
@given(where=st.sampled_from(NUMBER_FIELDS), value=st.booleans(), example=st.sampled_from(EXAMPLES[:2]))
def test_a_boolean_for_any_number_field_is_refused_at_that_field(where, value, example, tmp_path: Path, synth_root: Path):
    config = yaml.safe_load(example.read_text())
    section, key = where
    config.setdefault(section, {})[key] = value
    err = check_outcome(write(tmp_path, yaml.safe_dump(config, sort_keys=False)), synth_root)
    assert err is not None and err.field == f"{section}.{key}" and "boolean" in err.message, err
