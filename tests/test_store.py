"""The local shared store: names, `.fingerprint` as identity, atomic building, batch views."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from synth_assets.recipes.registry import fingerprint, load_experiments, register
from synth_assets.core.experiment_registration import semantic_name
from synth_assets.core.lineage import Lineage
from synth_assets.core.store import FINGERPRINT_FILE
from tests.conftest import copa_config, local_store, store_building

building, read_fingerprint = store_building()
Store = local_store

pytestmark = pytest.mark.usefixtures("synth_root")

FP_A = "a" * 64
FP_B = "b" * 40 + "c" * 24
FP_C = "b" * 40 + "d" * 24  # same first 12 hex as FP_B


def snapshot(tree: Path) -> dict[str, tuple[str, str | bytes]]:
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


def make_experiment(store, dataset: str, name: str, fp: str) -> Path:
    with building(store.experiment_dir(dataset, name), fp) as tmp:
        (tmp / dataset).mkdir()
        (tmp / dataset / f"{dataset.lower()}_train.jsonl").write_text('{"premise": "x"}\n')
        (tmp / "experiment_metadata.json").write_text("{}")
    return store.experiment_dir(dataset, name)


# ------------------------------------------------------------------ names


def test_name_collision_gets_deterministic_suffix(synth_root):
    store = Store(synth_root)
    assert store.reserve_name("Copa", "temp07_topp10_gpt4o", FP_A) == "temp07_topp10_gpt4o"
    second = store.reserve_name("Copa", "temp07_topp10_gpt4o", FP_B)
    assert second == f"temp07_topp10_gpt4o_{FP_B[:6]}"
    # repeated: the same answers
    assert store.reserve_name("Copa", "temp07_topp10_gpt4o", FP_B) == second
    assert store.reserve_name("Copa", "temp07_topp10_gpt4o", FP_A) == "temp07_topp10_gpt4o"
    # a third fingerprint sharing the 6-hex prefix falls back to 12 hex
    assert store.reserve_name("Copa", "temp07_topp10_gpt4o", FP_C) == f"temp07_topp10_gpt4o_{FP_C[:12]}"
    # in another fresh store the same order gives the same names
    other = Store(synth_root.parent / "other_root")
    assert other.reserve_name("Copa", "temp07_topp10_gpt4o", FP_A) == "temp07_topp10_gpt4o"
    assert other.reserve_name("Copa", "temp07_topp10_gpt4o", FP_B) == second


def test_names_are_per_dataset(synth_root):
    store = Store(synth_root)
    assert store.reserve_name("Copa", "n", FP_A) == "n"
    assert store.reserve_name("CB", "n", FP_B) == "n"


def test_reserved_name_with_data_blocks_other_fingerprint(synth_root):
    store = Store(synth_root)
    name = store.reserve_name("Copa", "temp05_topp10_gpt4o", FP_A)
    make_experiment(store, "Copa", name, FP_A)
    assert store.reserve_name("Copa", "temp05_topp10_gpt4o", FP_B) == f"temp05_topp10_gpt4o_{FP_B[:6]}"
    assert store.reserve_name("Copa", "temp05_topp10_gpt4o", FP_A) == name


def test_register_collision_through_registry(synth_root, write_yaml):
    """Two configs with the same temperature/top_p/model but other settings: second name gets a suffix."""
    store, lineage = Store(synth_root), Lineage(synth_root / "lineage.duckdb")
    (a,) = load_experiments(write_yaml(copa_config(max_tokens=12)))
    (b,) = load_experiments(write_yaml(copa_config(max_tokens=13)))
    assert semantic_name(a) == semantic_name(b)
    ra, rb = register(a, store, lineage), register(b, store, lineage)
    assert ra.name == semantic_name(a)
    assert rb.name == f"{semantic_name(b)}_{fingerprint(b).experiment[:6]}"
    assert register(b, store, lineage).name == rb.name  # idempotent
    assert store.registration(rb.fingerprint)["semantic_name"] == rb.name


# ------------------------------------------------------------------ `.fingerprint` is identity


def test_fingerprint_file_is_identity(synth_root):
    store = Store(synth_root)
    directory = make_experiment(store, "Copa", "x", FP_A)
    assert read_fingerprint(directory) == FP_A
    assert store.is_complete("Copa", "x", FP_A)
    assert not store.is_complete("Copa", "x", FP_B)
    (directory / FINGERPRINT_FILE).write_text(FP_B + "\n")
    assert store.is_complete("Copa", "x", FP_B) and not store.is_complete("Copa", "x", FP_A)
    (directory / FINGERPRINT_FILE).unlink()
    assert not store.is_complete("Copa", "x", FP_A) and not store.is_complete("Copa", "x", FP_B)
    assert list(store.complete_experiments()) == []


def test_building_marks_last_and_renames(synth_root):
    final = synth_root / "_shared" / "Copa" / "exp"
    with building(final, FP_A) as tmp:
        assert not final.exists()
        assert tmp.parent == final.parent and tmp.name.startswith(".tmp-")
        (tmp / "data.jsonl").write_text("{}\n")
        assert read_fingerprint(tmp) is None  # not marked while the body runs
    assert read_fingerprint(final) == FP_A and (final / "data.jsonl").is_file()
    assert sorted(p.name for p in final.parent.iterdir()) == ["exp"]


def test_building_leaves_nothing_when_body_raises(synth_root):
    final = synth_root / "_shared" / "Copa" / "exp"
    with pytest.raises(RuntimeError, match="boom"):
        with building(final, FP_A) as tmp:
            (tmp / "data.jsonl").write_text("{}\n")
            raise RuntimeError("boom")
    assert not final.exists()
    assert list(final.parent.iterdir()) == []  # no temp directory either


def test_building_interrupted_by_keyboard_interrupt(synth_root):
    final = synth_root / "_stages" / "Copa" / "generated" / "abc"
    with pytest.raises(KeyboardInterrupt):
        with building(final, FP_A) as tmp:
            (tmp / "data.jsonl").write_text("{}\n")
            raise KeyboardInterrupt
    assert list(final.parent.iterdir()) == []


def test_same_fingerprint_built_twice_keeps_first(synth_root):
    final = synth_root / "_stages" / "Copa" / "source" / "abc"
    with building(final, FP_A) as outer:
        (outer / "who").write_text("outer")
        with building(final, FP_A) as inner:
            (inner / "who").write_text("inner")
    assert read_fingerprint(final) == FP_A
    assert (final / "who").read_text() == "inner"  # first to finish wins; the other is discarded silently
    assert [p.name for p in final.parent.iterdir()] == ["abc"]


def test_leftovers_are_never_complete(synth_root):
    store = Store(synth_root)
    # a temp dir left by a killed process, and a final-looking dir without a marker
    stage_dir = store.stage_dir("Copa", "generated", FP_A)
    stage_dir.mkdir(parents=True)
    (stage_dir / "data.jsonl").write_text('{"premise": "partial"}\n')
    leftover = stage_dir.parent / f".tmp-{stage_dir.name}-999-deadbeef"
    leftover.mkdir()
    (leftover / "data.jsonl").write_text("{}\n")
    (leftover / FINGERPRINT_FILE).write_text(FP_A)
    assert not store.stage_complete("Copa", "generated", FP_A)
    with pytest.raises(FileNotFoundError):
        store.read_stage("Copa", "generated", FP_A)
    shared = store.experiment_dir("Copa", "temp07")
    (shared / "Copa").mkdir(parents=True)
    (shared / "Copa" / "copa_train.jsonl").write_text("{}\n")
    assert not store.is_complete("Copa", "temp07", FP_A)
    assert list(store.complete_experiments()) == []
    # building the stage for real replaces the unmarked leftover
    store.write_stage("Copa", "generated", FP_A, [{"premise": "done"}], {"asset": "t"})
    assert store.stage_complete("Copa", "generated", FP_A)
    assert store.read_stage("Copa", "generated", FP_A) == [{"premise": "done"}]
    assert json.loads((store.stage_dir("Copa", "generated", FP_A) / "meta.json").read_text())["content_sha256"]


def test_marked_temp_dir_is_not_a_complete_experiment(synth_root):
    store = Store(synth_root)
    make_experiment(store, "Copa", "temp07", FP_A)
    tmp_shared = store.shared / "Copa" / ".tmp-temp09-1234-abcdef01"  # killed between marker and rename
    (tmp_shared / "Copa").mkdir(parents=True)
    (tmp_shared / FINGERPRINT_FILE).write_text(FP_B + "\n")
    assert [name for _, name, _ in store.complete_experiments()] == ["temp07"]


# ------------------------------------------------------------------ batch views


def test_batch_views_are_relative_symlinks(synth_root):
    store = Store(synth_root)
    target = make_experiment(store, "Copa", "temp07", FP_A)
    store.link("batch_20250101_a", "Copa", "temp07")
    view = store.view_path("batch_20250101_a", "Copa", "temp07")
    assert view == synth_root.resolve() / "batch_20250101_a" / "Copa" / "temp07"
    assert view.is_symlink()
    link = os.readlink(view)
    assert not os.path.isabs(link) and link == "../../_shared/Copa/temp07"
    assert Path(os.path.realpath(view)) == target.resolve()
    store.link("batch_20250101_a", "Copa", "temp07")  # idempotent
    assert os.readlink(view) == link
    assert [v[:2] for v in store.views("batch_20250101_a")] == [("Copa", "temp07")]
    assert store.resolve(view / "Copa" / "copa_train.jsonl") == ("Copa", "temp07")
    # the whole root can move: relative links keep working
    moved = synth_root.parent / "moved_root"
    shutil.move(str(synth_root), moved)
    assert (moved / "batch_20250101_a" / "Copa" / "temp07" / "Copa" / "copa_train.jsonl").read_text() == '{"premise": "x"}\n'


def test_deleting_a_batch_never_touches_shared(synth_root):
    store = Store(synth_root)
    make_experiment(store, "Copa", "temp07", FP_A)
    make_experiment(store, "CB", "temp05", FP_B)
    for batch in ("batch_20250101_a", "batch_20250102_b"):
        store.link(batch, "Copa", "temp07")
    store.link("batch_20250101_a", "CB", "temp05")
    before = snapshot(store.shared)
    removed = store.unlink("batch_20250101_a")
    assert len(removed) == 2
    assert not (synth_root / "batch_20250101_a").exists()
    assert snapshot(store.shared) == before
    assert store.batches() == ["batch_20250102_b"]
    assert store.batches_linking("Copa", "temp07") == ["batch_20250102_b"]
    assert (synth_root / "batch_20250102_b" / "Copa" / "temp07" / "Copa" / "copa_train.jsonl").is_file()


def test_unlink_one_view(synth_root):
    store = Store(synth_root)
    make_experiment(store, "Copa", "temp07", FP_A)
    make_experiment(store, "Copa", "temp09", FP_B)
    store.link("batch_x", "Copa", "temp07")
    store.link("batch_x", "Copa", "temp09")
    before = snapshot(store.shared)
    store.unlink("batch_x", "Copa", "temp07")
    assert [v[1] for v in store.views("batch_x")] == ["temp09"]
    assert snapshot(store.shared) == before


def test_registration_lookup_by_prefix(synth_root):
    store = Store(synth_root)
    store.save_registration({"fingerprint": FP_B, "dataset": "Copa", "semantic_name": "b"})
    store.save_registration({"fingerprint": FP_C, "dataset": "Copa", "semantic_name": "c"})
    assert store.registration(FP_B)["semantic_name"] == "b"
    assert store.registration(FP_C[:41])["semantic_name"] == "c"
    with pytest.raises(KeyError, match="ambiguous"):
        store.registration(FP_B[:12])
    with pytest.raises(KeyError):
        store.registration("f" * 12)


def test_a_listing_of_registrations_never_lets_a_second_registration_win(tmp_path):
    """A sensor lists registrations once per tick; one made meanwhile elsewhere still wins (first-wins save)."""
    from synth_assets.core.stores import open_store

    ticking, other = open_store(tmp_path), open_store(tmp_path)
    ticking.list_registrations()
    first = {"fingerprint": "f" * 64, "origin_batch": "batch_20250101_first"}
    assert other.save_registration(first) == first
    with pytest.raises(KeyError):
        ticking.registration("f" * 64)  # not in this tick's listing
    late = {"fingerprint": "f" * 64, "origin_batch": "batch_20250102_late"}
    assert ticking.save_registration(late) == first


def test_a_lease_of_another_machine_is_waited_for_until_it_expires_one_of_a_dead_local_process_is_not(tmp_path):
    import json
    import socket
    import subprocess
    import sys
    import time

    from synth_assets.core.leases import claim

    store = local_store(tmp_path / "root")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    for owner, expect_wait in ((f"another-host:{gone.pid}:x", True), (f"{socket.gethostname()}:{gone.pid}:x", False)):
        key = f"work/{owner.split(':')[0]}"
        store.write_bytes(f".synth/leases/{key}/0", json.dumps({"owner": owner, "expires": time.time() + 1.5, "released": False}).encode())
        started = time.monotonic()
        lease = claim(store, key, lambda: False, poll_s=0.05)
        waited = time.monotonic() - started
        assert lease is not None and lease.generation == 1
        lease.release()
        assert (waited >= 1.4) is expect_wait, (owner, waited)
