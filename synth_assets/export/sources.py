"""The source datasets of an experiment and their licences, as the dataset catalog records them.

Rephrase, stories and imported legacy experiments name a catalog dataset; a recipe whose outputs come
from other sources says which (its `export_sources` hook: curation lists the files it merged). Anything
the catalog does not describe is `unknown`, never guessed.
"""

from __future__ import annotations

from typing import Any

from synth_assets.core.catalog import UNKNOWN_LICENSE, find_entry
from synth_assets.core.yaml_lines import ConfigError
from synth_assets.recipes.registry import recipes


def source_datasets(record: dict[str, Any], root: str) -> list[dict[str, str]]:
    """[{name, source, license, catalog}] for the data an experiment was made from."""
    recipe = recipes().get(record.get("recipe", ""))
    if recipe is not None and recipe.export_sources is not None:
        return recipe.export_sources(record, root)
    try:
        entry = find_entry(record["dataset"], root)
    except (KeyError, ValueError, ConfigError):
        return [{"name": record["dataset"], "source": record.get("source_file") or "not in the dataset catalog",
                 "license": UNKNOWN_LICENSE, "catalog": ""}]
    return [{"name": entry.name, "source": entry.source, "license": entry.license, "catalog": entry.name}]
