"""Faults of the store itself: read-only (a mount, another user's files), full, and a blocking check that fails on
the last stage. Read-only and full stores are real: a read-only bind mount and a small tmpfs (as root), else the
test is skipped (without root, a read-only store is made with chmod, which binds an unprivileged user)."""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from tests.faults import invariants
from tests.safety_support import (
    NAME, child_env, cli, flat, generation_prompts, openai_config, rewrite_rules, rewritten_experiment, synth, train_file,
    write_config,
)

pytestmark = pytest.mark.slow


def mount(*args: str) -> None:
    done = subprocess.run(["mount", *args], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount ({done.stderr.strip()}): the store faults need root")


def one_line_error(done: subprocess.CompletedProcess) -> str:
    """A failed command said why in one line: no traceback, no Dagster stack."""
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "Stack Trace" not in done.stderr, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith(("error:", "failed:"))]
    assert len(errors) == 1, done.stderr[-3000:]
    return errors[0]


@pytest.fixture
def read_only(tmp_path):
    """`read_only(folder)`: the folder becomes read-only for this process, in place (same paths)."""
    mounted: list[Path] = []

    def make(folder: Path) -> None:
        if os.geteuid() != 0:
            subprocess.run(["chmod", "-R", "a-w", str(folder)], check=True)
            return
        mount("--bind", str(folder), str(folder))
        mounted.append(folder)
        mount("-o", "remount,ro,bind", str(folder))

    yield make
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_read_only_store_is_read_by_every_read_command_and_refuses_writes_in_one_line(llm, paths, read_only, tmp_path):
    root, home, configs = paths
    config, _ = rewritten_experiment(llm, configs, "batch_20250101_ro")
    env = child_env(root, home, llm)
    assert synth(env, "run", str(config)).returncode == 0
    view = root / "batch_20250101_ro" / "Copa" / NAME
    fingerprint = (view / ".fingerprint").read_text().strip()
    data = train_file(view).resolve()
    read_only(root)
    with pytest.raises(OSError):
        (root / "probe").write_text("x")  # really read-only

    for args in (["batches"], ["shared"], ["batch", "batch_20250101_ro"], ["quality", fingerprint[:12]],
                 ["compare", "batch_20250101_ro"], ["lineage", "origin", fingerprint[:12]], ["lineage", "batches", fingerprint[:12]],
                 ["lineage", "file", str(data)], ["lineage", "cost"], ["resolve", str(view)],
                 ["export", "batch_20250101_ro", "--format", "jsonl", "--out", str(tmp_path / "export")]):
        done = cli(env, *args)  # in this process: a traceback fails
        assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"
    assert NAME in flat(cli(env, "batch", "batch_20250101_ro").stdout)
    assert (tmp_path / "export").is_dir()

    for args in (["register", str(config)], ["rm", "batch_20250101_ro"], ["regenerate", "--yes", fingerprint[:12]]):
        said = one_line_error(synth(env, *args))
        assert "read-only" in said, said
    assert view.is_symlink() and (view / ".fingerprint").is_file()


@pytest.fixture
def small_disk(tmp_path):
    """`small_disk(folder, size)`: a tmpfs of `size` mounted at the folder; `grow(size)` makes it larger."""
    mounted: list[Path] = []

    def make(folder: Path, size: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder))
        mounted.append(folder)

    make.grow = lambda size: mount("-o", f"remount,size={size}", str(mounted[-1]))
    yield make
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=False)


def test_a_full_disk_fails_in_one_line_leaves_no_temporary_file_and_a_rerun_completes(llm, paths, small_disk, tmp_path):
    root, home, configs = paths
    config, prompts = rewritten_experiment(llm, configs, "batch_20250101_full")
    small_disk(root, "160k")  # room for registration and stages, not for the published splits
    env = child_env(root, home, llm, SYNTH_LINEAGE_DB=str(tmp_path / "lineage.duckdb"))
    said = one_line_error(synth(env, "run", str(config)))
    assert "no space left" in said, said
    assert invariants.temporary_files(root) == [] and invariants.after_kill(root) == []
    assert not (root / "batch_20250101_full" / "Copa" / NAME / ".fingerprint").exists()

    small_disk.grow("8m")
    done = synth(env, "run", str(config))
    assert done.returncode == 0, done.stdout + done.stderr
    assert llm.received() == Counter({content: 1 for content in prompts})  # the answers were kept
    assert invariants.settled(root) == []


def test_a_full_disk_at_registration_fails_in_one_line(llm, paths, small_disk):
    root, home, configs = paths
    config = write_config(configs, "a.yaml", openai_config("batch_20250101_zero", limit=4))
    small_disk(root, "4k")
    said = one_line_error(synth(child_env(root, home, llm), "register", str(config)))
    assert "no space left" in said, said
    assert invariants.temporary_files(root) == []


def test_a_blocking_check_on_the_last_stage_fails_before_anything_is_visible(llm, paths, tmp_path):
    root, home, configs = paths
    first = openai_config("batch_20250101_leak", limit=4)
    prompts = generation_prompts(write_config(configs, "probe.yaml", first))
    references = tmp_path / "references.jsonl"  # the rewrites copy these texts: decontamination fails (blocking)
    references.write_text("".join(json.dumps({"text": f"In fact, {premise}"}) + "\n" for premise in prompts.values()))
    first["decontamination"] = {"references": [str(references)]}
    configs_ = [write_config(configs, "first.yaml", first),
                write_config(configs, "second.yaml", {**first, "experiment": {"batch_id": "batch_20250102_leak", "purpose": "safety"}})]
    llm.control(rules=rewrite_rules(prompts, "In fact,"))
    env = child_env(root, home, llm)
    for batch, config in zip(("batch_20250101_leak", "batch_20250102_leak"), configs_):
        done = synth(env, "run", str(config))
        assert done.returncode == 1 and "decontamination" in done.stderr, done.stdout + done.stderr
        assert not (root / batch / "Copa" / NAME).exists(), f"{batch}: a view of rejected data"
        (member,) = json.loads(synth(env, "batch", batch, "--json").stdout)
        assert member["state"] == "failed" and not member["complete"], member
    assert json.loads(synth(env, "shared", "--json").stdout) == []
    assert not (root / "_shared" / "Copa" / NAME / ".fingerprint").exists()
    assert invariants.settled(root) == []
