"""Markdown previews of a stage's rows for the Dagster UI.

A recipe whose rows carry its own provenance shows them its way (its `preview` hook: rephrase shows the
story of each rewrite); other rows are shown as a table of their first columns.
"""

from __future__ import annotations

from typing import Any

from synth_assets.core.display import cell
from synth_assets.recipes.registry import recipes


PREVIEW_ROWS = 5


def table_preview(rows: list[dict[str, Any]], limit: int = PREVIEW_ROWS) -> str:
    """The first rows' first columns (provenance columns left out)."""
    if not rows:
        return "_no rows_"
    columns = [c for c in rows[0] if not c.startswith("_")][:6]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c, "")) for c in columns) + " |" for r in rows[:limit]]
    return "\n".join(lines)


def recipe_preview(rows: list[dict[str, Any]] | None, limit: int = PREVIEW_ROWS) -> str | None:
    """The preview of the first recipe that recognises the rows as its own."""
    for recipe in recipes().values():
        shown = recipe.preview(rows, limit) if recipe.preview and rows else None
        if shown:
            return shown
    return None


def preview_markdown(rows: list[dict[str, Any]], limit: int = PREVIEW_ROWS, upstream: list[dict[str, Any]] | None = None) -> str:
    """The recipe's own preview of `upstream` (rows before publishing keep their provenance) or of the rows, else a
    table of the first rows."""
    return recipe_preview(upstream, limit) or recipe_preview(rows, limit) or table_preview(rows, limit)
