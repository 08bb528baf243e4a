"""The layer rule of ARCHITECTURE.md, kept: no import runs back up, no files import each other in a circle,
and the core loads without Dagster. The layers are the import-linter contract in pyproject.toml."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))

import import_layers  # noqa: E402


@pytest.fixture(scope="module")
def graph() -> import_layers.Graph:
    return import_layers.import_graph()


def test_the_contracts_in_pyproject_are_kept():
    lint = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout


def test_no_files_import_each_other_in_a_circle(graph):
    assert import_layers.circles(graph) == []


def test_no_arrow_runs_back_up(graph):
    assert import_layers.arrows_back_up(graph, import_layers.layers()) == []


def test_every_package_has_a_layer(graph):
    stack = import_layers.layers()
    unplaced = sorted(m for m in graph.modules if import_layers.layer_of(m, stack) is None)
    assert unplaced == ["synth_assets", "synth_assets.catalog"]  # the package root and the catalog's YAML hold no code


def test_importing_the_core_loads_no_dagster():
    assert not import_layers.core_loads_dagster()


def test_the_measures_find_a_circle_and_an_arrow_back_up(tmp_path):
    """The checks above can fail: a tiny tree with both defects is reported."""
    graph = import_layers.Graph(
        modules={"synth_assets.core.a", "synth_assets.core.b", "synth_assets.cli.c"},
        arrows={("synth_assets.core.a", "synth_assets.core.b"), ("synth_assets.core.b", "synth_assets.core.a"),
                ("synth_assets.core.a", "synth_assets.cli.c")})
    stack = [["synth_assets.core"], ["synth_assets.cli"]]
    assert import_layers.circles(graph) == [["synth_assets.core.a", "synth_assets.core.b"]]
    assert import_layers.arrows_back_up(graph, stack, exceptions=[]) == [("synth_assets.core.a", "synth_assets.cli.c")]


def test_a_recipe_cli_may_use_the_cli_but_nothing_else_of_a_recipe_may():
    graph = import_layers.Graph(
        modules={"synth_assets.recipes.toy.cli", "synth_assets.recipes.toy.stages", "synth_assets.cli.common"},
        arrows={("synth_assets.recipes.toy.cli", "synth_assets.cli.common"),
                ("synth_assets.recipes.toy.stages", "synth_assets.cli.common")})
    up = import_layers.arrows_back_up(graph, import_layers.layers())
    assert up == [("synth_assets.recipes.toy.stages", "synth_assets.cli.common")]
