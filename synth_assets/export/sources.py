"""The source datasets of an experiment and their licences, as the dataset catalog records them.

Rephrase, stories and imported legacy experiments name a catalog dataset; a curation output lists
its sources, and a source file that is one of a catalog entry's split files gets that entry's
licence. Anything the catalog does not describe is `unknown`, never guessed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from synth_assets.core.catalog import CatalogEntry, catalog_dirs, find_entry, load_entry
from synth_assets.core.yaml_lines import ConfigError

UNKNOWN = "unknown"


def _entries(root: str) -> list[CatalogEntry]:
    entries = []
    for folder in catalog_dirs(root):
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            try:
                entries.append(load_entry(path))
            except (ConfigError, OSError):
                continue  # not a catalog entry this lookup can use; `synth run` reports it where it matters
    return entries


def _entry_for_file(path: str | None, root: str) -> CatalogEntry | None:
    if not path:
        return None
    wanted = Path(path).resolve()
    return next((e for e in _entries(root) if any(e.split_path(s) == wanted for s in e.splits)), None)


def source_datasets(record: dict[str, Any], root: str) -> list[dict[str, str]]:
    """[{name, source, license}] for the data an experiment was made from."""
    if record.get("recipe") == "curation":
        out = []
        for source in (record.get("config") or {}).get("sources", []):
            path = source.get("path") or (source.get("hf") or {}).get("path")
            entry = _entry_for_file(source.get("path"), root)
            out.append({"name": source.get("name", "?"), "source": path or "",
                        "license": entry.license if entry else UNKNOWN,
                        "catalog": entry.name if entry else ""})
        return out
    try:
        entry = find_entry(record["dataset"], root)
    except (KeyError, ValueError, ConfigError):
        return [{"name": record["dataset"], "source": record.get("source_file") or "not in the dataset catalog",
                 "license": UNKNOWN, "catalog": ""}]
    return [{"name": entry.name, "source": entry.source, "license": entry.license, "catalog": entry.name}]
