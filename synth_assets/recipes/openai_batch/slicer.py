"""Function and class slices of a Python source tree, with `ast` (no import of the code).

One slice per top-level function and class of every `*.py` file under a directory (methods are part
of their class's slice). Each slice is a JSON object:

    {"id", "kind": "function"|"class", "path" (root folder name / relative path), "name", "qualname",
     "code", "lineno", "end_lineno", "docstring", "review": {"status": "auto", "notes": ""}}

`review.status` is what a reviewer edits: slices marked "rejected" are left out of batches.
"""

from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from synth_assets.core.fingerprint import digest
from synth_assets.recipes.openai_batch.util import atomic_write_text


@dataclass
class SliceReport:
    files: int = 0
    slices: int = 0
    skipped: list[str] = field(default_factory=list)  # "path: why"


def _segment(lines: list[str], node: ast.AST) -> str:
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    return "\n".join(lines[start - 1:node.end_lineno]).rstrip() + "\n"


def slice_file(path: Path, root: Path, *, min_lines: int = 2, max_lines: int = 400) -> tuple[list[dict[str, Any]], str | None]:
    """Slices of one file, or ([], reason) when it cannot be parsed."""
    rel = f"{root.name}/{path.relative_to(root).as_posix()}"
    try:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text, filename=str(path))
    except (SyntaxError, UnicodeDecodeError, ValueError) as exc:
        return [], f"{rel}: not parseable ({type(exc).__name__}: {exc})"
    lines = text.splitlines()
    out = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            kind = "function"
        elif isinstance(node, ast.ClassDef):
            kind = "class"
        else:
            continue
        n_lines = node.end_lineno - node.lineno + 1
        if n_lines < min_lines or n_lines > max_lines:
            continue
        code = _segment(lines, node)
        module = rel.removesuffix(".py").replace("/", ".").removesuffix(".__init__")
        row = {
            "kind": kind,
            "path": rel,
            "name": node.name,
            "qualname": f"{module}.{node.name}",
            "code": code,
            "lineno": node.lineno,
            "end_lineno": node.end_lineno,
            "docstring": ast.get_docstring(node) or "",
            "review": {"status": "auto", "notes": ""},
        }
        row = {"id": "slice-" + digest({"path": rel, "name": node.name, "code": code})[:16], **row}
        out.append(row)
    return out, None


def slice_directory(directory: str | Path, *, min_lines: int = 2, max_lines: int = 400,
                    exclude_tests: bool = True) -> tuple[list[dict[str, Any]], SliceReport]:
    """Slices of every `*.py` under `directory` in a stable order (path, line)."""
    root = Path(directory).resolve()
    if not root.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory")
    report, slices = SliceReport(), []
    for path in sorted(root.rglob("*.py")):
        rel_parts = path.relative_to(root).parts
        if "__pycache__" in rel_parts or (exclude_tests and any(p in ("test", "tests") for p in rel_parts[:-1])):
            continue
        report.files += 1
        found, problem = slice_file(path, root, min_lines=min_lines, max_lines=max_lines)
        if problem:
            report.skipped.append(problem)
        slices.extend(found)
    report.slices = len(slices)
    return slices, report


def write_slices(slices: list[dict[str, Any]], out: str | Path) -> Path:
    out = Path(out)
    atomic_write_text(out, "".join(json.dumps(s, ensure_ascii=False) + "\n" for s in slices))
    return out
