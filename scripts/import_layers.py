"""The import graph of synth_assets, resources and io_managers, held against the layer rule.

The rule is the `layers` contract in pyproject.toml (`[tool.importlinter]`, checked by `lint-imports`):
a package imports only the packages listed below it. This script measures what the contract does not
print: import circles between files, arrows that run back up between layers, imports inside
functions, and whether importing the core loads Dagster. `--markdown` prints the layer table
ARCHITECTURE.md shows. Exit status 1 when a circle or an arrow back up exists.

    .venv/bin/python scripts/import_layers.py [--markdown]
"""

from __future__ import annotations

import argparse
import ast
import re
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import grimp
import networkx

REPO = Path(__file__).resolve().parent.parent
ROOT_PACKAGES = ("synth_assets", "resources", "io_managers")
LAYERS_CONTRACT = "Layers"


def _layers_contract(pyproject: Path) -> dict:
    config = tomllib.loads(pyproject.read_text())["tool"]["importlinter"]
    return next(c for c in config["contracts"] if c["name"].startswith(LAYERS_CONTRACT))


def layers(pyproject: Path = REPO / "pyproject.toml") -> list[list[str]]:
    """The contract's layers, bottom first; a layer may hold independent siblings (`a | b`)."""
    return [[name.strip() for name in layer.split("|")] for layer in reversed(_layers_contract(pyproject)["layers"])]


def allowed(pyproject: Path = REPO / "pyproject.toml") -> list[tuple[re.Pattern, re.Pattern]]:
    """The contract's `ignore_imports` (`a.*.b -> c.**`: `*` one module name, `**` any number) as patterns."""
    def pattern(expression: str) -> re.Pattern:
        parts = [{"*": r"[^.]+", "**": r"[^.]+(\.[^.]+)*"}.get(p, re.escape(p)) for p in expression.strip().split(".")]
        return re.compile(r"\.".join(parts) + "$")
    return [tuple(pattern(side) for side in rule.split("->")) for rule in _layers_contract(pyproject).get("ignore_imports", [])]


def layer_of(module: str, stack: list[list[str]]) -> int | None:
    for index, names in enumerate(stack):
        if any(module == name or module.startswith(name + ".") for name in names):
            return index
    return None


@dataclass
class Graph:
    modules: set[str]
    arrows: set[tuple[str, str]]  # importer -> imported, internal modules only
    external: dict[str, set[str]] = field(default_factory=dict)  # module -> external top-level packages


def import_graph(packages: tuple[str, ...] = ROOT_PACKAGES) -> Graph:
    sys.path.insert(0, str(REPO))
    graph = grimp.build_graph(*packages, include_external_packages=True, cache_dir=None)
    internal = {m for m in graph.modules if m.split(".")[0] in packages}
    arrows, external = set(), {}
    for module in internal:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported in internal:
                arrows.add((module, imported))
            else:
                external.setdefault(module, set()).add(imported.split(".")[0])
    return Graph(internal, arrows, external)


def circles(graph: Graph) -> list[list[str]]:
    """Groups of files that import each other, directly or through others (largest first)."""
    g = networkx.DiGraph(graph.arrows)
    groups = [sorted(c) for c in networkx.strongly_connected_components(g) if len(c) > 1]
    return sorted(groups, key=len, reverse=True)


def arrows_back_up(graph: Graph, stack: list[list[str]], exceptions: list | None = None) -> list[tuple[str, str]]:
    """Imports of a higher layer, except those the contract allows (`allowed()`)."""
    exceptions = allowed() if exceptions is None else exceptions
    up = []
    for importer, imported in sorted(graph.arrows):
        low, high = layer_of(importer, stack), layer_of(imported, stack)
        excepted = any(a.match(importer) and b.match(imported) for a, b in exceptions)
        if low is not None and high is not None and high > low and not excepted:
            up.append((importer, imported))
    return up


def imports_inside_functions(packages: tuple[str, ...] = ROOT_PACKAGES) -> Counter:
    """Import statements of the project's own modules inside a function body (the usual dodge of an import
    circle), per package folder. Lazy imports of heavy third-party libraries (torch, vllm) are not counted."""
    counts: Counter = Counter()
    for package in packages:
        for path in (REPO / package).rglob("*.py"):
            tree = ast.parse(path.read_text(), str(path))
            functions = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
            inner = {id(n): n for f in functions for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
            own = [n for n in inner.values() if any(name.split(".")[0] in packages for name in _imported_names(n))]
            counts[str(path.parent.relative_to(REPO))] += len(own)
    return +counts


def _imported_names(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""] if node.level == 0 else ["synth_assets"]  # relative: always our own
    return [alias.name for alias in node.names]


def core_loads_dagster() -> bool:
    code = "import sys, synth_assets.core.config; print('dagster' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return out.stdout.strip() == "True"


def markdown_table(graph: Graph, stack: list[list[str]]) -> str:
    rows = ["| layer (bottom first) | imports (layers below) | external packages it may not import |",
            "|---|---|---|"]
    exceptions = allowed()
    for index, names in enumerate(stack):
        below = sorted({stack[layer_of(b, stack)][0] for a, b in graph.arrows
                        if layer_of(a, stack) == index and layer_of(b, stack) not in (None, index)
                        and not any(x.match(a) and y.match(b) for x, y in exceptions)})
        rows.append(f"| {' / '.join(names)} | {', '.join(below) or '—'} | "
                    f"{'dagster*' if index < dagster_free_layers(stack) else ''} |")
    return "\n".join(rows)


def dagster_free_layers(stack: list[list[str]]) -> int:
    """Layers below the first Dagster one (the resources wrappers) stay plain Python."""
    return next(i for i, names in enumerate(stack) if "resources" in names)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--markdown", action="store_true", help="print the layer table for ARCHITECTURE.md")
    args = parser.parse_args()
    stack = layers()
    graph = import_graph()
    if args.markdown:
        print(markdown_table(graph, stack))
        return 0
    found_circles, up = circles(graph), arrows_back_up(graph, stack)
    inside = imports_inside_functions()
    print(f"modules {len(graph.modules)}, arrows between them {len(graph.arrows)}")
    print(f"import circles: {len(found_circles)}")
    for group in found_circles:
        print(f"  {len(group)} files: {', '.join(group)}")
    print(f"arrows that run back up between layers: {len(up)}")
    for importer, imported in up:
        print(f"  {importer} -> {imported}")
    print(f"imports inside functions: {sum(inside.values())} "
          f"({', '.join(f'{k} {v}' for k, v in inside.most_common())})")
    print(f"`import synth_assets.core.config` loads dagster: {core_loads_dagster()}")
    return 1 if found_circles or up else 0


if __name__ == "__main__":
    raise SystemExit(main())
