"""`synth import-legacy`: scanning and adopting trees written by the old tooling."""

from __future__ import annotations

import json
import os
import shutil
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from synth_assets.core.legacy import import_legacy
from synth_assets.core.legacy_tree import IMPORT_SCHEME, scan_legacy_tree
from synth_assets.core.lineage import Lineage
from synth_assets.core.stores import open_store

SAMPLE = Path(__file__).resolve().parent / "fixtures" / "legacy_tree"  # the old tooling's sample tree
# (origin batch, created_at) as experiment_metadata.json records them (metadata wins over batch dates)
EXPECTED = {
    ("Copa", "temp05_topp10_gpt4o"): ("batch_20240105_temperature", datetime(2024, 1, 5, 10, 0, 0)),
    ("Copa", "temp09_topp10_gpt4o"): ("batch_20240105_temperature", datetime(2024, 1, 5, 10, 0, 0)),
    ("CB", "temp07_topp09_gpt4o"): ("batch_20240106_topp", datetime(2024, 1, 5, 10, 0, 0)),
}
TEMPERATURES = {("Copa", "temp05_topp10_gpt4o"): 0.5, ("Copa", "temp09_topp10_gpt4o"): 0.9, ("CB", "temp07_topp09_gpt4o"): 0.7}
BATCHES = {"batch_20240105_temperature", "batch_20240106_topp", "batch_20240107_reuse"}
REUSE_ENTRY = "batch_20240107_reuse/Copa/temp09_topp10_gpt4o"


def snapshot(tree: Path) -> dict[str, tuple[str, bytes | str]]:
    """Every path under a tree with its kind and content (link target for symlinks)."""
    out = {}
    for p in sorted(tree.rglob("*")):
        rel = str(p.relative_to(tree))
        if p.is_symlink():
            out[rel] = ("link", os.readlink(p))
        elif p.is_file():
            out[rel] = ("file", p.read_bytes())
        else:
            out[rel] = ("dir", "")
    return out


@pytest.fixture
def legacy(tmp_path) -> Path:
    """The sample tree (batch entries are link-text files) copied to tmp."""
    tree = tmp_path / "synthetic"
    shutil.copytree(SAMPLE, tree, symlinks=True)
    return tree


@pytest.fixture
def legacy_symlinks(legacy) -> Path:
    """The sample tree with its link-text batch entries turned into real relative symlinks."""
    for entry in legacy.glob("batch_*/*/*"):
        if entry.is_file() and not entry.is_symlink():
            target = entry.read_text().strip()
            entry.unlink()
            os.symlink(target, entry)
    return legacy


def lineage_state(lin: Lineage) -> dict:
    return {
        "experiments": lin.query("SELECT fingerprint, scheme, dataset, semantic_name, shared_path, origin_batch, "
                                 "created_at, legacy_fingerprint, status, completed_at FROM experiments ORDER BY 1"),
        "batches": lin.query("SELECT * FROM batches ORDER BY batch_id"),
        "members": lin.query("SELECT batch_id, dataset, fingerprint, view_path, reused, added_at FROM batch_members "
                             "ORDER BY 1, 2, 3"),
    }


def check_lineage(lin: Lineage, report, root: Path) -> None:
    exps = lin.experiments()
    assert len(exps) == 3
    assert {(e["dataset"], e["semantic_name"]) for e in exps} == set(EXPECTED)
    by_name = {(e["dataset"], e["semantic_name"]): e for e in exps}
    for key, (origin, day) in EXPECTED.items():
        row = by_name[key]
        assert row["scheme"] == IMPORT_SCHEME
        assert len(row["fingerprint"]) == 64
        assert row["legacy_fingerprint"] == (root / "_shared" / key[0] / key[1] / ".fingerprint").read_text().strip()
        assert row["fingerprint"].startswith(row["legacy_fingerprint"])  # the short id is the legacy fingerprint
        assert row["params"]["generation"]["temperature"] == TEMPERATURES[key]
        assert row["status"] == "complete"
        assert row["origin_batch"] == origin
        assert row["created_at"] == day
        assert row["shared_path"] == str(open_store(root).experiment_dir(*key))
        assert lin.origin(row["fingerprint"])["batch_id"] == origin
    batches = {b["batch_id"]: b for b in lin.batches()}
    assert set(batches) == BATCHES
    assert batches["batch_20240107_reuse"]["purpose"] == "reuse"
    assert batches["batch_20240106_topp"]["created_at"] == datetime(2024, 1, 6)
    members = lin.query("SELECT * FROM batch_members")
    assert len(members) == 4
    temp09 = by_name[("Copa", "temp09_topp10_gpt4o")]["fingerprint"]
    using = {u["batch_id"]: u["reused"] for u in lin.batches_using(temp09)}
    assert using == {"batch_20240105_temperature": False, "batch_20240107_reuse": True}
    assert sum(m["reused"] for m in members) == 1
    # registrations map the new fingerprint to the legacy one
    store = open_store(root)
    for exp in report.imported:
        record = store.registration(exp.new_fingerprint)
        assert record["legacy_fingerprint"] == exp.legacy_fingerprint
        assert record["recipe"] == "legacy" and record["scheme"] == IMPORT_SCHEME
        assert record["semantic_name"] == exp.name and record["origin_batch"] == exp.origin_batch
        assert yaml.safe_load(record["config_yaml"]) == record["config"]
        assert record["params"] == exp.params and record["purpose"] == exp.purpose
        assert (store.meta / "names" / exp.dataset / exp.name).read_text() == exp.new_fingerprint


def test_scan_verifies_all_fingerprints(legacy):
    before = snapshot(legacy)
    report = scan_legacy_tree(legacy)
    assert snapshot(legacy) == before  # read-only
    assert len(report.experiments) == 3
    assert report.mismatches == []
    assert report.problems == []
    for exp in report.experiments:
        assert exp.matches and exp.computed_fingerprint == exp.legacy_fingerprint
        assert len(exp.legacy_fingerprint) == 12
        assert (exp.origin_batch, exp.created_at) == EXPECTED[(exp.dataset, exp.name)]
        assert exp.purpose
    assert {k: sorted(v) for k, v in report.batches.items()} == {
        "batch_20240105_temperature": [("Copa", "temp05_topp10_gpt4o"), ("Copa", "temp09_topp10_gpt4o")],
        "batch_20240106_topp": [("CB", "temp07_topp09_gpt4o")],
        "batch_20240107_reuse": [("Copa", "temp09_topp10_gpt4o")],
    }
    # new fingerprints are deterministic and distinct
    again = scan_legacy_tree(legacy)
    assert [e.new_fingerprint for e in again.experiments] == [e.new_fingerprint for e in report.experiments]
    assert len({e.new_fingerprint for e in report.experiments}) == 3


def test_import_in_place_link_text_entries(legacy):
    before = snapshot(legacy)
    lin = Lineage(legacy / ".synth" / "lineage.duckdb")
    report = import_legacy(legacy, legacy, lineage=lin)
    assert report.problems == []
    assert len(report.imported) == 3
    check_lineage(lin, report, legacy)
    after = snapshot(legacy)
    # nothing that existed was changed: legacy dirs, .fingerprint files, link-text entries
    assert {k: v for k, v in after.items() if k in before} == before
    assert not any(k.startswith(("_shared", "batch_")) for k in set(after) - set(before))
    assert (legacy / REUSE_ENTRY).read_text().strip() == "../../_shared/Copa/temp09_topp10_gpt4o"
    views = {m["view_path"] for m in lin.query("SELECT view_path FROM batch_members")}
    assert str(legacy / REUSE_ENTRY) in views


def test_import_in_place_real_symlinks(legacy_symlinks):
    tree = legacy_symlinks
    before = snapshot(tree)
    lin = Lineage(tree / ".synth" / "lineage.duckdb")
    report = import_legacy(tree, tree, lineage=lin)
    assert report.problems == []
    check_lineage(lin, report, tree)
    assert {k: v for k, v in snapshot(tree).items() if k in before} == before
    for entry in tree.glob("batch_*/*/*"):
        assert entry.is_symlink()
        real = Path(os.path.realpath(entry))
        assert real == (tree / "_shared" / entry.parent.name / entry.name).resolve()
        assert (real / ".fingerprint").is_file()


@pytest.mark.parametrize("kind", ["link_text", "symlinks"])
def test_import_into_another_root_copies_and_links(request, tmp_path, kind):
    tree = request.getfixturevalue("legacy" if kind == "link_text" else "legacy_symlinks")
    before = snapshot(tree)
    root = tmp_path / "store"
    lin = Lineage(tmp_path / "lineage.duckdb")
    report = import_legacy(tree, root, lineage=lin)
    assert report.problems == []
    assert snapshot(tree) == before  # source untouched
    check_lineage(lin, report, root)
    for dataset, name in EXPECTED:
        src, dst = tree / "_shared" / dataset / name, root / "_shared" / dataset / name
        assert dst.is_dir() and not dst.is_symlink()
        assert snapshot(dst) == snapshot(src)
    for batch, members in report.batches.items():
        for dataset, name in members:
            view = root / batch / dataset / name
            assert view.is_symlink()
            assert os.readlink(view) == f"../../_shared/{dataset}/{name}"
            assert Path(os.path.realpath(view)) == (root / "_shared" / dataset / name).resolve()
    assert len(list(root.glob("batch_*/*/*"))) == 4


def test_copy_never_overwrites_existing_data(legacy, tmp_path):
    root = tmp_path / "store"
    taken = root / "_shared" / "CB" / "temp07_topp09_gpt4o"
    taken.mkdir(parents=True)
    (taken / ".fingerprint").write_text("0123456789ab\n")
    (taken / "data.jsonl").write_text("precious\n")
    lin = Lineage(tmp_path / "lineage.duckdb")
    report = import_legacy(legacy, root, lineage=lin)
    assert (taken / "data.jsonl").read_text() == "precious\n"
    assert (taken / ".fingerprint").read_text() == "0123456789ab\n"
    assert any(str(legacy / "_shared" / "CB" / "temp07_topp09_gpt4o") in p and "0123456789ab" in p for p in report.problems)
    assert {e["semantic_name"] for e in lin.experiments()} == {"temp05_topp10_gpt4o", "temp09_topp10_gpt4o"}
    assert not (root / "batch_20240106_topp").exists()


def test_tampered_config_is_a_mismatch_and_not_imported(legacy):
    exp_dir = legacy / "_shared" / "Copa" / "temp05_topp10_gpt4o"
    cfg = exp_dir / "generation_config.yaml"
    cfg.write_text(cfg.read_text().replace("temperature: 0.5", "temperature: 0.6"))
    report = scan_legacy_tree(legacy)
    assert [(e.dataset, e.name) for e in report.mismatches] == [("Copa", "temp05_topp10_gpt4o")]
    bad = report.mismatches[0]
    assert bad.computed_fingerprint != bad.legacy_fingerprint
    lin = Lineage(legacy / ".synth" / "lineage.duckdb")
    report = import_legacy(legacy, legacy, lineage=lin)
    problem = [p for p in report.problems if "mismatch" in p]
    assert len(problem) == 1
    assert str(exp_dir) in problem[0] and bad.legacy_fingerprint in problem[0] and bad.computed_fingerprint in problem[0]
    names = {e["semantic_name"] for e in lin.experiments()}
    assert names == {"temp09_topp10_gpt4o", "temp07_topp09_gpt4o"}
    assert lin.experiment(bad.new_fingerprint) is None
    assert len(lin.query("SELECT * FROM batch_members")) == 3
    assert (exp_dir / ".fingerprint").read_text().strip() == bad.legacy_fingerprint


def test_import_is_idempotent(legacy, tmp_path):
    lin = Lineage(legacy / ".synth" / "lineage.duckdb")
    first = import_legacy(legacy, legacy, lineage=lin)
    state = lineage_state(lin)
    regs = sorted((legacy / ".synth" / "experiments").glob("*.json"))
    reg_text = [p.read_text() for p in regs]
    second = import_legacy(legacy, legacy, lineage=lin)
    assert second.problems == [] and len(second.imported) == 3
    assert lineage_state(lin) == state
    assert sorted((legacy / ".synth" / "experiments").glob("*.json")) == regs
    assert [p.read_text() for p in regs] == reg_text
    assert len(lin.query("SELECT * FROM batch_members")) == 4
    assert [e.new_fingerprint for e in first.imported] == [e.new_fingerprint for e in second.imported]

    # the same into another root, twice
    root, lin2 = tmp_path / "store", Lineage(tmp_path / "other.duckdb")
    import_legacy(legacy, root, lineage=lin2)
    state2 = lineage_state(lin2)
    files = snapshot(root)
    again = import_legacy(legacy, root, lineage=lin2)
    assert again.problems == []
    assert lineage_state(lin2) == state2
    assert snapshot(root) == files


def test_path_without_shared_is_an_error(tmp_path):
    with pytest.raises(ValueError, match=str(tmp_path)):
        scan_legacy_tree(tmp_path)
    with pytest.raises(ValueError, match=str(tmp_path)):
        import_legacy(tmp_path, tmp_path, lineage=Lineage(tmp_path / "l.duckdb"))


def test_malformed_files_are_problems_and_others_still_import(legacy):
    cb = legacy / "_shared" / "CB" / "temp07_topp09_gpt4o" / "generation_config.yaml"
    cb.write_text("generation: [unclosed\n  model: : :\n")
    meta = legacy / "_shared" / "Copa" / "temp05_topp10_gpt4o" / "experiment_metadata.json"
    meta.write_text("{not json")
    lin = Lineage(legacy / ".synth" / "lineage.duckdb")
    report = import_legacy(legacy, legacy, lineage=lin)
    assert any(str(cb) in p for p in report.problems)
    assert any(str(meta) in p for p in report.problems)
    assert [(e.dataset, e.name) for e in report.imported] == [("Copa", "temp09_topp10_gpt4o")]
    assert {b["batch_id"] for b in lin.batches()} == {"batch_20240105_temperature", "batch_20240107_reuse"}
    assert len(lin.query("SELECT * FROM batch_members")) == 2


def test_fallbacks_without_metadata(legacy):
    """No experiment_metadata.json: origin from the config, created_at from the batch date."""
    exp_dir = legacy / "_shared" / "CB" / "temp07_topp09_gpt4o"
    (exp_dir / "experiment_metadata.json").unlink()
    cfg = yaml.safe_load((exp_dir / "generation_config.yaml").read_text())
    cfg.pop("experiment")
    (exp_dir / "generation_config.yaml").write_text(yaml.safe_dump(cfg))
    report = scan_legacy_tree(legacy)
    exp = next(e for e in report.experiments if e.dataset == "CB")
    assert exp.matches
    assert exp.origin_batch == "batch_20240106_topp"
    assert exp.created_at == datetime(2024, 1, 6)


def test_broken_batch_entries_are_reported(legacy):
    (legacy / "batch_20240107_reuse" / "Copa" / "ghost").write_text("../../_shared/Copa/does_not_exist\n")
    (legacy / "batch_20240107_reuse" / "Copa" / "dangling").symlink_to("../../_shared/Copa/nope")
    report = scan_legacy_tree(legacy)
    assert sum("ghost" in p or "dangling" in p for p in report.problems) == 2
    assert report.batches["batch_20240107_reuse"] == [("Copa", "temp09_topp10_gpt4o")]


def test_metadata_json_shape_matches_sample():
    """Guard: the sample's metadata fields this importer reads are present."""
    meta = json.loads((SAMPLE / "_shared" / "Copa" / "temp09_topp10_gpt4o" / "experiment_metadata.json").read_text())
    assert {"created_at", "batch_id", "experiment_purpose", "experiment_description"} <= set(meta)


def test_parameters_from_config_and_metadata(legacy):
    """Config values (verified by the legacy fingerprint) with the legacy defaults; names as in synth/1."""
    exps = {e.key: e for e in scan_legacy_tree(legacy).experiments}
    copa = exps[("Copa", "temp05_topp10_gpt4o")]
    assert copa.params["generation"] == {
        "model": "gpt-4o", "temperature": 0.5, "top_p": 1, "max_tokens": 256, "frequency_penalty": 0,
        "presence_penalty": 0, "rewrite_fields": ["premise"],
        "prompt": "Rephrase the premise of this Copa example, keeping its meaning and label.\nPremise: {premise}\nRephrased premise:",
    }
    assert copa.params["validation"]["temperature"] == 0 and copa.params["validation"]["prompt"].startswith("Given the original")
    assert copa.params["source"] == {"dataset": "Copa", "input_path": "Data/original/Copa/copa_train.jsonl"}
    assert (copa.params["task_name"], copa.params["training_method"]) == ("copa", "mezo")
    assert "experiment" not in copa.params  # batch id, purpose, description organise, they are no parameters
    assert (copa.purpose, copa.description) == ("temperature", "example temp05_topp10_gpt4o")
    cb = exps[("CB", "temp07_topp09_gpt4o")]
    assert cb.params["validation"] is None and cb.params["generation"]["top_p"] == 0.9
    assert all(e.splits == ["train"] for e in exps.values())


def test_metadata_disagreeing_with_config_is_reported(legacy):
    meta_path = legacy / "_shared" / "Copa" / "temp05_topp10_gpt4o" / "experiment_metadata.json"
    meta = json.loads(meta_path.read_text())
    meta["generation"]["temperature"] = 0.8
    meta["generation"]["seed"] = 7
    meta_path.write_text(json.dumps(meta))
    report = scan_legacy_tree(legacy)
    exp = next(e for e in report.experiments if e.name == "temp05_topp10_gpt4o")
    assert exp.matches and exp.params["generation"]["temperature"] == 0.5  # the verified config wins
    assert exp.params["generation"]["seed"] == 7  # what the config leaves out comes from the metadata
    assert report.problems == [f"{meta_path}: generation.temperature is 0.8 in the metadata but 0.5 in the config; "
                               "the config's value is kept"]


def test_reimport_replaces_an_earlier_import_and_keeps_its_memberships(legacy, monkeypatch):
    """An import by an older version (other ids, no parameters) is replaced, its batch memberships kept."""
    import synth_assets.core.legacy_tree as legacy_tree
    from synth_assets.core.fingerprint import digest

    real_ids = {e.key: e.new_fingerprint for e in scan_legacy_tree(legacy).experiments}
    with monkeypatch.context() as mp:
        mp.setattr(legacy_tree, "new_fingerprint", lambda fp, config: digest({"scheme": "legacy-import/1", "fp": fp}))
        lin = Lineage(legacy / ".synth" / "lineage.duckdb")
        old = {e.key: e.new_fingerprint for e in import_legacy(legacy, legacy, lineage=lin).imported}
    temp09 = ("Copa", "temp09_topp10_gpt4o")
    lin.record_membership(batch_id="batch_20250101_later", dataset="Copa", fingerprint=old[temp09],
                          view_path="/elsewhere/view", reused=True)
    report = import_legacy(legacy, legacy, lineage=lin)
    assert report.problems == []
    assert {p.exp.key: (p.action, p.replaces) for p in report.planned} == {k: ("re-import", fp) for k, fp in old.items()}
    store = open_store(legacy)
    for key, fp in real_ids.items():
        assert store.record_by_name(*key)["fingerprint"] == fp
        assert lin.experiment(old[key]) is None
        with pytest.raises(KeyError):
            store.registration(old[key])
    using = {(u["batch_id"], u["reused"]) for u in lin.batches_using(real_ids[temp09])}
    assert using == {("batch_20240105_temperature", False), ("batch_20240107_reuse", True), ("batch_20250101_later", True)}
    assert len(lin.query("SELECT * FROM batch_members")) == 5
    again = import_legacy(legacy, legacy, lineage=lin)
    assert {p.action for p in again.planned} == {"already imported"}
