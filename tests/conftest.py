"""Generic fixtures: an isolated store root / Dagster home per test, YAML writers, custom catalogs,
and a tiny in-process materialization helper for tests that use the real local model."""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
DATASETS = REPO / "datasets" / "superglue"
SHARED_DATASETS = Path("/work/shared/datasets/superglue")


def datasets_dir() -> Path:
    """SuperGLUE data as the built-in catalog sees it (the repo copy), else the shared copy (read only)."""
    return DATASETS if DATASETS.is_dir() else SHARED_DATASETS


def isolate(root: Path, home: Path, mp: pytest.MonkeyPatch) -> Path:
    """Point SYNTH_ROOT (store + default LLM cache) and DAGSTER_HOME at private folders."""
    root.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    mp.setenv("SYNTH_ROOT", str(root))
    mp.setenv("DAGSTER_HOME", str(home))
    for var in ("SYNTH_CATALOG", "SYNTH_DROP_DIR", "SYNTH_LINEAGE_DB", "SYNTH_STATE_DIR"):
        mp.delenv(var, raising=False)
    return root


@pytest.fixture
def synth_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private, empty store root for this test (SYNTH_ROOT and DAGSTER_HOME set)."""
    return isolate(tmp_path / "root", tmp_path / "dagster_home", monkeypatch)


@pytest.fixture
def write_yaml(tmp_path: Path) -> Callable[..., Path]:
    """Write a dict (or raw text) as a YAML file under tmp_path; return its path."""
    counter = iter(range(10_000))

    def write(data: Any, name: str | None = None, folder: Path | None = None) -> Path:
        path = (folder or tmp_path / "configs") / (name or f"config_{next(counter)}.yaml")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return write


@pytest.fixture
def custom_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Add catalog entries in a private folder named by $SYNTH_CATALOG; return the entry's YAML path."""
    folder = tmp_path / "catalog"
    folder.mkdir(exist_ok=True)
    monkeypatch.setenv("SYNTH_CATALOG", str(folder))

    def add(entry: dict[str, Any] | str, name: str | None = None) -> Path:
        name = name or entry["name"]
        path = folder / f"{name}.yaml"
        path.write_text(entry if isinstance(entry, str) else yaml.safe_dump(entry, sort_keys=False), encoding="utf-8")
        return path

    add.folder = folder  # type: ignore[attr-defined]
    return add


@pytest.fixture
def copa_copy(tmp_path: Path) -> Path:
    """A private, writable copy of the Copa split files."""
    target = tmp_path / "data" / "Copa"
    shutil.copytree(datasets_dir() / "Copa", target)
    for f in target.iterdir():
        f.chmod(0o644)
    return target


def copa_config(*, batch_id: str = "batch_20250101_test", limit: int = 3, max_tokens: int = 12,
                validation: dict[str, Any] | None | bool = True, **generation: Any) -> dict[str, Any]:
    """A small, fast Copa experiment config for the local model."""
    config: dict[str, Any] = {
        "experiment": {"batch_id": batch_id, "purpose": "test"},
        "dataset": {"dataset_name": "Copa", "limit": limit},
        "generation": {"temperature": 0.7, "top_p": 1.0, "max_tokens": max_tokens, **generation},
    }
    if validation is True:
        config["validation"] = {"validators": ["rules", "similarity"]}
    elif isinstance(validation, dict):
        config["validation"] = validation
    return config


@pytest.fixture(scope="module")
def scripted_server():
    """The scripted OpenAI-compatible server (tests/quality/fake_judge_server.py), one child process per test module."""
    from tests.quality import fake_judge_server

    with fake_judge_server.running() as server:
        yield server


@pytest.fixture
def openai_env(scripted_server, monkeypatch: pytest.MonkeyPatch):
    """The module's scripted server, its script cleared, as this test's `openai` backend (OPENAI_BASE_URL, a test key)."""
    scripted_server.script({})
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("OPENAI_BASE_URL", scripted_server.base_url)
    return scripted_server


def rewrite_prompts(exp) -> list[str]:
    """The generation prompt of every row of a rephrase experiment, as the server sees it (the last message's content)."""
    from synth_assets.core.records import select_records
    from synth_assets.recipes.rephrase import rewrite

    return [request.messages[-1]["content"] for _, _, request in rewrite.generation_requests(exp, select_records(exp))]


def llm_cache_rows(root: Path) -> int:
    """Responses persisted in the LLM cache of a store root (0 when there is no cache yet)."""
    path = Path(root) / ".cache" / "llm_cache.sqlite"
    if not path.exists():
        return 0
    con = sqlite3.connect(path, timeout=30)
    try:
        return con.execute("SELECT count(*) FROM responses").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def register_config(path: Path, root: Path):
    """Load, validate and register every experiment of a config under a store root."""
    from synth_assets.recipes.registry import load_experiments
    from synth_assets.recipes.registry import register
    store = local_store(root)
    lineage = lineage_for(root)
    return [register(exp, store, lineage) for exp in load_experiments(path, store.root)]


def run_config(path: Path, root: Path):
    """Register and materialize a config in-process (the path `synth run` takes); return (registrations, outcome)."""
    from synth_assets.cli.materialize import dagster_instance, materialize

    regs = register_config(path, root)
    instance = dagster_instance(Path(root))
    return regs, materialize(regs, str(Path(root).resolve()), instance=instance, log_level="WARNING"), instance


@pytest.fixture
def env_for_subprocess() -> Callable[[], dict[str, str]]:
    """The current environment (with the test's SYNTH_ROOT / DAGSTER_HOME) for child processes."""

    def make() -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        return env

    return make


def local_store(root: str | os.PathLike[str]):
    """The local store at `root`."""
    from synth_assets.core.stores import open_store

    return open_store(str(root))


def store_building():
    """`building(final_dir, fingerprint)` and `read_fingerprint(dir)` of the local store."""
    try:
        from synth_assets.core.store_local import building, read_fingerprint
    except ImportError:
        from synth_assets.core.store import building, read_fingerprint
    return building, read_fingerprint


def lineage_for(root: str | os.PathLike[str]):
    """The lineage database of a local store root, where the product puts it."""
    from synth_assets.core import root as root_module
    from synth_assets.core.lineage import Lineage

    if hasattr(root_module, "lineage_path"):
        return Lineage(root_module.lineage_path(str(root)))
    return Lineage(Path(root).resolve() / "lineage.duckdb")
