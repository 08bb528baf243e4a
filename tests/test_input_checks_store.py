"""What issue 20 found the store side telling users wrongly: a batch listed complete without its view, `synth rm` of
a symlinked batch, a catalog entry silently shadowing a built-in dataset, record errors without the record's line,
and dataset cards that record the absolute path of a local store."""

from __future__ import annotations

import json
import os
import shutil

import pytest
import yaml
from typer.testing import CliRunner

from synth_assets.cli.main import app
from synth_assets.core.catalog import CatalogShadowWarning, find_entry
from synth_assets.recipes.registry import load_experiments
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.export import export_target
from tests.conftest import REPO, copa_config, isolate, lineage_for, local_store
from tests.test_export import BATCH, COPA_ROWS, front_matter, publish_by_hand

NAME = "temp07_topp10_smollm2"
COPA_ENTRY = yaml.safe_load((REPO / "synth_assets" / "catalog" / "Copa.yaml").read_text())


@pytest.fixture
def root(tmp_path, monkeypatch):
    return isolate(tmp_path / "root", tmp_path / "dagster_home", monkeypatch)


def synth(root, *args: str):
    result = CliRunner().invoke(app, ["--root", str(root), *args])
    assert "Traceback" not in result.output and (result.exception is None or isinstance(result.exception, SystemExit)), result.output
    return result


# ------------------------------------------------------------------ listings tell the truth


def test_a_published_experiment_without_its_batch_view_is_not_listed_complete(root):
    record = publish_by_hand(root, "Copa", NAME, {"train": COPA_ROWS})
    assert json.loads(synth(root, "batch", BATCH, "--json").stdout)[0]["state"] == "complete"
    shutil.rmtree(root / BATCH)  # as when linking the view failed (a name too long for the filesystem)
    (member,) = json.loads(synth(root, "batch", BATCH, "--json").stdout)
    assert (member["state"], member["complete"]) == ("no view", False)
    assert f"{NAME}" in synth(root, "batch", BATCH).stdout and "[no view]" in synth(root, "batch", BATCH).stdout
    (listed,) = json.loads(synth(root, "batches", "--json").stdout)
    assert (listed["experiments"], listed["views"]) == (1, 0)
    local_store(root).record_failure(record["fingerprint"], run_id="r1", stage="published", error="OSError: File name too long")
    (member,) = json.loads(synth(root, "batch", BATCH, "--json").stdout)
    assert member["state"] == "failed" and "File name too long" in member["failure"]["error"]


def test_rm_of_a_symlinked_batch_removes_the_link_and_says_so(root):
    publish_by_hand(root, "Copa", NAME, {"train": COPA_ROWS})
    (root / "batch_20250301_alias").symlink_to(BATCH)
    done = synth(root, "rm", "batch_20250301_alias")
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert f"removed the link batch_20250301_alias (to {BATCH}, whose views stay)" in said
    assert not os.path.lexists(root / "batch_20250301_alias")
    assert (root / BATCH / "Copa" / NAME).is_symlink() and (root / BATCH / "Copa" / NAME / ".fingerprint").exists()
    assert json.loads(synth(root, "batch", BATCH, "--json").stdout)[0]["state"] == "complete"


# ------------------------------------------------------------------ the catalog


def test_a_catalog_entry_shadowing_a_built_in_dataset_warns(root, write_yaml):
    (root / "catalog").mkdir(parents=True)
    splits = {split: str((REPO / "synth_assets" / "catalog" / file).resolve()) for split, file in COPA_ENTRY["splits"].items()}
    shadow = root / "catalog" / "Copa.yaml"
    shadow.write_text(yaml.safe_dump({**COPA_ENTRY, "splits": splits, "description": "mine"}, sort_keys=False))
    config = write_yaml(copa_config(validation={"validators": ["rules"]}))
    with pytest.warns(CatalogShadowWarning, match=r"shadows .*synth_assets/catalog/Copa.yaml \(the built-in dataset\)"):
        assert find_entry("Copa", root).description == "mine"
    said = " ".join(synth(root, "fingerprint", str(config)).output.split())
    assert f"warning: {shadow}:{1 + list(COPA_ENTRY).index('name')}: name: dataset 'Copa' shadows" in said


def copa_entry(custom_catalog, copa_copy, name: str, **overrides):
    splits = {split: str(copa_copy / os.path.basename(file)) for split, file in COPA_ENTRY["splits"].items()}
    return custom_catalog({**COPA_ENTRY, "name": name, "splits": splits, **overrides})


@pytest.mark.parametrize("overrides, generation, problem", [
    ({"rewrite_fields": ["idx"]}, {}, "field 'idx' is integer in the data, not text"),
    ({"rewrite_fields": ["premise", "label"]}, {}, "would rewrite the label 'label'"),
    ({"fields": [*COPA_ENTRY["fields"], "premise.words"]}, {}, "field 'premise.words' is in no record"),
])
def test_errors_about_a_record_name_the_split_file_and_its_line(root, custom_catalog, copa_copy, write_yaml, overrides,
                                                                 generation, problem):
    copa_entry(custom_catalog, copa_copy, "CopaRecords", **overrides)
    config = copa_config(validation={"validators": ["rules"]}, **generation)
    config["dataset"]["dataset_name"] = "CopaRecords"
    with pytest.raises(ConfigError) as info:
        load_experiments(write_yaml(config), root)
    assert info.value.file.endswith("CopaRecords.yaml") and info.value.line is not None
    assert problem in info.value.message and f"{copa_copy / 'copa_train.jsonl'}:1" in info.value.message


# ------------------------------------------------------------------ exported cards


def test_the_card_names_the_store_without_its_local_path_and_carries_the_catalog_licence(root, tmp_path):
    record = publish_by_hand(root, "Copa", NAME, {"train": COPA_ROWS})
    lineage_for(root).record_materialization(
        asset="rephrase/published", partition_key="Copa|x", dataset="Copa", fingerprint=record["fingerprint"], stage_fingerprint=None,
        run_id="r1", path=str(root / "_shared" / "Copa" / NAME), rows=1, content_hash=None, reused=False, started_at=None,
        ended_at=None)
    export_target(local_store(root), record["fingerprint"], tmp_path / "out", "jsonl", lineage=lineage_for(root))
    card = (tmp_path / "out" / "README.md").read_text()
    assert str(root) not in card and str(tmp_path) not in card
    meta = front_matter(tmp_path / "out" / "README.md")
    assert meta["synth"]["store"] == "local:root" and meta["license"] == "bsd-2-clause" == find_entry("Copa").license
    assert f"| _shared/Copa/{NAME} |" in card
