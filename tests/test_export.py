"""`synth export`: round trips through `datasets` and pyarrow, the dataset card, batches, curation outputs,
atomic writes. One real experiment with the local model; hand-built stores where the LLM is not the point."""

from __future__ import annotations

import json
from pathlib import Path

import datasets
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from synth_assets.cli.main import app
from synth_assets.core.catalog import find_entry
from synth_assets.core.fingerprint import digest
from synth_assets.core.store import jsonl_bytes
from synth_assets.export import ExportError, export_target
from tests.conftest import copa_config, isolate, lineage_for, local_store, run_config
from tests.test_import_legacy_cli import legacy_experiment

BATCH = "batch_20250301_export"
COPA_ROWS = [{"premise": "The sun rose.", "choice1": "a", "choice2": "b", "question": "cause", "idx": 0, "label": 0},
             {"premise": "The dog barked.", "choice1": "c", "choice2": "d", "question": "effect", "idx": 1, "label": 1}]
CB_ROWS = [{"premise": "He said it rained.", "hypothesis": "It rained.", "idx": 0, "label": 0}]


def front_matter(readme: Path) -> dict:
    text = readme.read_text()
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n", 2)[1])


def published(root: Path, record: dict) -> dict[str, list[dict]]:
    """The rows of each split file the store holds for an experiment."""
    folder = root / "_shared" / record["dataset"] / record["semantic_name"] / record["dataset"]
    stem = record["dataset"].lower() + "_"
    return {f.stem[len(stem):]: [json.loads(line) for line in f.read_text().splitlines()] for f in sorted(folder.glob("*.jsonl"))}


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """A store with one real Copa experiment (local model, limit 3, with validation)."""
    base = tmp_path_factory.mktemp("export")
    mp = pytest.MonkeyPatch()
    try:
        root = isolate(base / "root", base / "dagster_home", mp)
        config = base / "copa.yaml"
        config.write_text(yaml.safe_dump(copa_config(batch_id=BATCH, limit=3, max_tokens=12)))
        (reg,), outcome, _ = run_config(config, root)
        assert outcome[reg.fingerprint].success
        yield {"root": root, "record": local_store(root).registration(reg.fingerprint)}
    finally:
        mp.undo()


def test_hf_export_round_trips_and_its_card_describes_the_experiment(real, tmp_path):
    root, record = real["root"], real["record"]
    out = tmp_path / "hf"
    export_target(local_store(root), record["fingerprint"][:12], out, "hf", lineage=lineage_for(root))
    rows = published(root, record)
    assert {k: len(v) for k, v in rows.items()} == {"test": 500, "train": 3, "validation": 100}
    loaded = datasets.load_from_disk(str(out))
    assert {split: loaded[split].to_list() for split in loaded} == rows
    card = front_matter(out / "README.md")
    (facts,) = card["synth"]["experiments"]
    assert facts["fingerprint"] == record["fingerprint"] and facts["scheme"] == "synth/1"
    assert card["license"] == "bsd-2-clause" == find_entry("Copa").license
    assert facts["sources"] == [
        {"name": "Copa", "source": "SuperGLUE COPA (super_glue/copa)", "license": "bsd-2-clause", "catalog": "Copa"}]
    assert facts["parameters"] == record["params"] and facts["origin_batch"] == BATCH and facts["batches"] == [BATCH]
    assert facts["stages"] == record["stages"]
    assert facts["cost"]["from"] == "experiment_metadata.json" and facts["cost"]["completion_tokens"] > 0
    info = card["dataset_info"]
    assert {s["name"]: s["num_examples"] for s in info["splits"]} == {"train": 3, "validation": 100, "test": 500}
    assert [f["name"] for f in info["features"]] == list(rows["train"][0])
    assert card["configs"] == [{"config_name": "default", "data_files": [
        {"split": s, "path": f"{s}/data-*.arrow"} for s in ("train", "validation", "test")]}]
    body = (out / "README.md").read_text()
    assert "| rephrase/rephrased |" in body and "### Cost" in body  # lineage: the stage outputs that made it


def test_parquet_and_jsonl_round_trip(real, tmp_path):
    root, record = real["root"], real["record"]
    rows = published(root, record)
    view = root / BATCH / "Copa" / record["semantic_name"]  # a batch path as the target
    export_target(local_store(root), str(view), tmp_path / "pq", "parquet", lineage=lineage_for(root))
    assert {s: pq.read_table(tmp_path / "pq" / f"{s}.parquet").to_pylist() for s in rows} == rows
    loaded = datasets.load_dataset(str(tmp_path / "pq"), cache_dir=str(tmp_path / "cache"))  # reads the card's configs
    assert {split: loaded[split].to_list() for split in loaded} == rows
    shared = root / "_shared" / "Copa" / record["semantic_name"]  # a shared path as the target
    export_target(local_store(root), str(shared), tmp_path / "jsonl", "jsonl")
    assert {s: [json.loads(x) for x in (tmp_path / "jsonl" / f"{s}.jsonl").read_text().splitlines()] for s in rows} == rows
    assert front_matter(tmp_path / "jsonl" / "README.md")["synth"]["experiments"][0]["fingerprint"] == record["fingerprint"]


# ---------------------------------------------------------------- hand-built stores


def publish_by_hand(root: str | Path, dataset: str, name: str, splits: dict[str, list[dict]], *, batch: str = BATCH,
                    recipe: str = "rephrase", metadata: dict | None = None, config: dict | None = None) -> dict:
    """Register and publish an experiment the way runs do, without an LLM."""
    store, lineage = local_store(root), lineage_for(root)
    fp = digest({"test": [dataset, name]})
    record = {"fingerprint": fp, "scheme": "synth/1", "dataset": dataset, "recipe": recipe, "semantic_name": name,
              "stages": {"published": fp}, "params": {"generation": {"temperature": 0.7}}, "config": config or {},
              "config_yaml": "", "origin_batch": batch, "created_at": "2025-03-01T00:00:00+00:00"}
    assert store.claim_name(dataset, name, fp)
    store.save_registration(record)
    with store.building(store.experiment_key(dataset, name), fp) as out:
        for split, rows in splits.items():
            out.write_bytes(f"{dataset}/{dataset.lower()}_{split}.jsonl", jsonl_bytes(rows))
        out.write_text("experiment_metadata.json", json.dumps(metadata or {}))
    lineage.record_experiment(fingerprint=fp, scheme="synth/1", dataset=dataset, semantic_name=name,
                              shared_path=store.experiment_uri(dataset, name), params=record["params"], config_yaml="",
                              origin_batch=batch)
    lineage.mark_complete(fp)
    lineage.record_membership(batch_id=batch, dataset=dataset, fingerprint=fp, view_path=store.view_uri(batch, dataset, name), reused=False)
    store.link(batch, dataset, name)
    return record


@pytest.fixture
def root(tmp_path, monkeypatch):
    return isolate(tmp_path / "root", tmp_path / "dagster_home", monkeypatch)


def test_quality_section_is_rendered_as_recorded(root, tmp_path):
    quality = {"rows": 2, "rewrite_rate": 0.5, "rejections": {"rules": 1, "similarity": 0}}
    record = publish_by_hand(root, "Copa", "temp07_topp10_smollm2", {"train": COPA_ROWS}, metadata={"quality": quality})
    export_target(local_store(root), record["fingerprint"], tmp_path / "out", "jsonl", lineage=lineage_for(root))
    assert front_matter(tmp_path / "out" / "README.md")["synth"]["experiments"][0]["quality"] == quality
    body = (tmp_path / "out" / "README.md").read_text()
    assert "| rewrite_rate | 0.5 |" in body and "| rejections.rules | 1 |" in body


def test_batch_export_one_dataset_per_experiment_or_single(root, tmp_path):
    copa = publish_by_hand(root, "Copa", "temp07_topp10_smollm2", {"train": COPA_ROWS, "validation": COPA_ROWS[:1]})
    cb = publish_by_hand(root, "CB", "temp07_topp10_smollm2", {"train": CB_ROWS})
    store, lineage = local_store(root), lineage_for(root)
    result = export_target(store, BATCH, tmp_path / "each", "parquet", lineage=lineage)
    assert set(result.written) == {"Copa/temp07_topp10_smollm2", "CB/temp07_topp10_smollm2"}
    for record, rows in ((copa, {"train": COPA_ROWS, "validation": COPA_ROWS[:1]}), (cb, {"train": CB_ROWS})):
        folder = tmp_path / "each" / record["dataset"] / record["semantic_name"]
        assert {s: pq.read_table(folder / f"{s}.parquet").to_pylist() for s in rows} == rows
        assert front_matter(folder / "README.md")["synth"]["experiments"][0]["fingerprint"] == record["fingerprint"]
    index = front_matter(tmp_path / "each" / "README.md")
    assert [c["config_name"] for c in index["configs"]] == ["CB--temp07_topp10_smollm2", "Copa--temp07_topp10_smollm2"]
    assert sorted(index["license"]) == ["bsd-2-clause", "unknown"]  # CB's licence is not known
    cb_only = datasets.load_dataset(str(tmp_path / "each"), "CB--temp07_topp10_smollm2", cache_dir=str(tmp_path / "cache"))
    assert cb_only["train"].to_list() == CB_ROWS

    export_target(store, BATCH, tmp_path / "single", "parquet", lineage=lineage, single=True)
    train = pq.read_table(tmp_path / "single" / "train.parquet").to_pylist()
    assert [r["experiment"] for r in train] == ["CB/temp07_topp10_smollm2"] + ["Copa/temp07_topp10_smollm2"] * 2
    assert train[0]["premise"] == CB_ROWS[0]["premise"] and train[0]["choice1"] is None  # columns are the union
    assert {e["fingerprint"] for e in front_matter(tmp_path / "single" / "README.md")["synth"]["experiments"]} == {
        copa["fingerprint"], cb["fingerprint"]}


def test_curation_output_has_a_config_per_format(root, tmp_path):
    copa_train = find_entry("Copa").split_path("train")
    sft = [{"all_prompt_id": 0, "prompt": "p", "completion": "c"}]
    preference = [{"all_prompt_id": 0, "prompt": "p", "chosen": "a", "rejected": "b"}]
    sources = [{"name": "copa", "path": str(copa_train)}, {"name": "hand_made", "path": str(tmp_path / "x.jsonl")}]
    record = publish_by_hand(root, "demo", "sft_prompt_exact", {"sft": sft, "preference": preference}, recipe="curation",
                             config={"collection": "demo", "sources": sources})
    export_target(local_store(root), record["fingerprint"], tmp_path / "out", "parquet", lineage=lineage_for(root))
    card = front_matter(tmp_path / "out" / "README.md")
    assert {c["config_name"]: c["data_files"] for c in card["configs"]} == {
        "preference": [{"split": "train", "path": "preference/train.parquet"}], "sft": [{"split": "train", "path": "sft/train.parquet"}]}
    sources = card["synth"]["experiments"][0]["sources"]
    assert [(s["name"], s["license"]) for s in sources] == [("copa", "bsd-2-clause"), ("hand_made", "unknown")]
    loaded = datasets.load_dataset(str(tmp_path / "out"), "preference", cache_dir=str(tmp_path / "cache"))
    assert loaded["train"].to_list() == preference


def test_failed_export_leaves_nothing_and_existing_output_needs_force(root, tmp_path):
    bad = publish_by_hand(root, "Copa", "mixed", {"train": [{"premise": "a", "label": 0}, {"premise": "b", "label": "one"}]})
    good = publish_by_hand(root, "Copa", "good", {"train": COPA_ROWS})
    store = local_store(root)
    with pytest.raises(ExportError, match="column 'label' does not hold one type"):
        export_target(store, bad["fingerprint"], tmp_path / "out", "parquet")
    assert list(tmp_path.glob("*out*")) == []  # neither the folder nor a temporary one
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("precious")
    with pytest.raises(ExportError, match="exists; pass --force"):
        export_target(store, good["fingerprint"], tmp_path / "out", "parquet")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]
    export_target(store, good["fingerprint"], tmp_path / "out", "parquet", force=True)
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["README.md", "train.parquet"]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_bad_json_line_is_named(root, tmp_path):
    record = publish_by_hand(root, "Copa", "broken", {"train": COPA_ROWS})
    train = root / "_shared" / "Copa" / "broken" / "Copa" / "copa_train.jsonl"
    train.write_text(train.read_text() + "{not json\n")
    with pytest.raises(ExportError, match=f"{train}:3: invalid JSON"):
        export_target(local_store(root), record["fingerprint"], tmp_path / "out", "jsonl")


def test_cli_exports_legacy_experiments_and_skips_those_without_data(root, tmp_path):
    tree = tmp_path / "legacy"
    full = legacy_experiment(tree, "Copa", "temp05_topp10_gpt4o", batch="batch_20240201_sweep", temperature=0.5)
    empty = legacy_experiment(tree, "Copa", "temp09_topp10_gpt4o", batch="batch_20240201_sweep", temperature=0.9, rows=None)
    runner = CliRunner()

    def synth(*args: str):
        return runner.invoke(app, ["--root", str(root), *args], catch_exceptions=False)

    assert synth("import-legacy", str(tree)).exit_code == 0
    result = synth("export", empty, "--format", "jsonl", "--out", str(tmp_path / "none"))
    assert result.exit_code == 1 and "has no data: no split files" in result.stderr and not (tmp_path / "none").exists()
    result = synth("export", "batch_20240201_sweep", "--format", "parquet", "--out", str(tmp_path / "batch"), "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert [(f["dataset"], f["rows"]) for f in out["files"]] == [("Copa/temp05_topp10_gpt4o", 2)]
    assert "Copa/temp09_topp10_gpt4o" in result.stderr and "no data" in result.stderr
    card = front_matter(tmp_path / "batch" / "Copa" / "temp05_topp10_gpt4o" / "README.md")
    (facts,) = card["synth"]["experiments"]
    assert facts["legacy_fingerprint"] == full and facts["fingerprint"].startswith(full)
    assert facts["parameters"]["generation"]["temperature"] == 0.5 and facts["purpose"] == "temperature_study"


def test_export_from_an_s3_store(tmp_path, monkeypatch):
    """The same export reads an S3 store (moto on 127.0.0.1) through the store's own API."""
    from synth_assets.testing.s3_server import make_bucket, s3_server

    monkeypatch.setenv("SYNTH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("SYNTH_LINEAGE_DB", raising=False)
    with s3_server():
        make_bucket("synth-export")
        root = "s3://synth-export/store"
        record = publish_by_hand(root, "Copa", "temp07_topp10_smollm2", {"train": COPA_ROWS, "validation": COPA_ROWS[:1]})
        store = local_store(root)
        export_target(store, BATCH, tmp_path / "out", "parquet", lineage=lineage_for(root), single=True)
    rows = pq.read_table(tmp_path / "out" / "train.parquet").to_pylist()
    assert rows == [{**r, "experiment": "Copa/temp07_topp10_smollm2"} for r in COPA_ROWS]
    card = front_matter(tmp_path / "out" / "README.md")
    assert card["synth"]["store"] == root and card["synth"]["experiments"][0]["fingerprint"] == record["fingerprint"]


def test_an_s3_experiment_rebuilt_copy_on_write_exports_the_metadata_of_its_current_version(tmp_path, monkeypatch):
    """After `synth regenerate` on S3 the files live in a version folder: the card must describe that version."""
    from synth_assets.testing.s3_server import make_bucket, s3_server

    monkeypatch.setenv("SYNTH_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("SYNTH_LINEAGE_DB", raising=False)
    with s3_server():
        make_bucket("synth-export")
        root = "s3://synth-export/store"
        record = publish_by_hand(root, "Copa", "temp07_topp10_smollm2", {"train": COPA_ROWS}, metadata={"quality": {"rewrite_rate": 0.1}})
        store = local_store(root)
        for rate in (0.5, 0.9):  # the second rebuild deletes the first files left at the folder's root
            with store.building(store.experiment_key("Copa", "temp07_topp10_smollm2"), record["fingerprint"], replace=True) as out:
                out.write_bytes("Copa/copa_train.jsonl", jsonl_bytes(COPA_ROWS))
                out.write_text("experiment_metadata.json", json.dumps({"quality": {"rewrite_rate": rate}}))
        export_target(store, record["fingerprint"], tmp_path / "out", "jsonl", lineage=lineage_for(root))
    assert front_matter(tmp_path / "out" / "README.md")["synth"]["experiments"][0]["quality"] == {"rewrite_rate": 0.9}
