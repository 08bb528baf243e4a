"""How a curation output is exported (the recipe's export hooks): each format is a config with one `train`
split, and its sources are the files the collection merged, with the licence of the catalog entry whose
split file each one is."""

from __future__ import annotations

from typing import Any

from synth_assets.core.catalog import UNKNOWN_LICENSE, entry_for_file
from synth_assets.recipes.base import Rows


def export_configs(rows_by_file: dict[str, Rows]) -> dict[str, dict[str, Rows]]:
    return {fmt: {"train": rows} for fmt, rows in rows_by_file.items()}


def export_sources(record: dict[str, Any], root: str) -> list[dict[str, str]]:
    out = []
    for source in (record.get("config") or {}).get("sources", []):
        path = source.get("path") or (source.get("hf") or {}).get("path")
        entry = entry_for_file(source.get("path"), root)
        out.append({"name": source.get("name", "?"), "source": path or "",
                    "license": entry.license if entry else UNKNOWN_LICENSE, "catalog": entry.name if entry else ""})
    return out
