"""The installed recipes by name, and what needs them: loading experiment configs (their catalog entry names the
recipe, which brings the config model, defaults and checks), their fingerprints and registration.

Core never imports this module: the CLI, the Dagster definitions and the tests come through here.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib
from pathlib import Path

from synth_assets.core import config, experiment_registration
from synth_assets.core.catalog import CatalogEntry
from synth_assets.core.config import Experiment
from synth_assets.core.fingerprint import Fingerprints
from synth_assets.core.lineage import Lineage
from synth_assets.core.registry import Registration
from synth_assets.core.store import Store
from synth_assets.core.yaml_lines import ConfigError, line_for
from synth_assets.evaluation.stored import save_specs
from synth_assets.recipes.base import Recipe
from synth_assets.recipes.installed import INSTALLED

_ADDED: dict[str, Recipe] = {}  # recipes made known at run time (a test's toy recipe)


@functools.cache
def _installed() -> dict[str, Recipe]:
    """The installed recipes by name, imported on the first lookup (commands that need none start without them)."""
    installed = (importlib.import_module(module).RECIPE for module in INSTALLED)
    return {recipe.name: recipe for recipe in installed}


def add(recipe: Recipe) -> Recipe:
    """Make one more recipe known (a test's toy recipe); the platform's own are listed in `installed.py`."""
    _ADDED[recipe.name] = recipe
    return recipe


def remove(name: str) -> None:
    """Forget a recipe made known by `add`."""
    del _ADDED[name]


def recipes() -> dict[str, Recipe]:
    return {**_installed(), **_ADDED}


def get(name: str) -> Recipe:
    known = recipes()
    if name not in known:
        raise KeyError(f"unknown recipe {name!r}; known: {', '.join(sorted(known))}")
    return known[name]


def catalog_recipe(entry: CatalogEntry) -> Recipe:
    """The recipe a catalog entry names, if that recipe reads catalog entries and accepts this one (else a ConfigError
    blaming the entry's file)."""
    known = {name: r for name, r in recipes().items() if r.check_entry is not None}
    try:
        if entry.recipe not in known:
            raise ValueError(f"unknown recipe {entry.recipe!r}; catalog entries can use: {', '.join(sorted(known))}")
        known[entry.recipe].check_entry(entry)
    except ValueError as exc:
        raise ConfigError(entry.path, str(exc), line=line_for(entry._lines, ())) from None
    return known[entry.recipe]


def load_experiments(path: str | Path, root: str | Path | None = None, text: str | bytes | None = None) -> list[Experiment]:
    """Load an experiment YAML (one experiment or a sweep) with the installed recipes."""
    return config.load_experiments(path, root, catalog_recipe, text=text)


def fingerprint(exp: Experiment) -> Fingerprints:
    """Every stage fingerprint of an experiment, as its recipe defines them."""
    return get(exp.recipe).fingerprints(exp)


def register(exp: Experiment, store: Store, lineage: Lineage, *, today: dt.date | None = None) -> Registration:
    """Register an experiment in its batch (and its evaluators); link the batch view when the data already exists."""
    registration = experiment_registration.register_experiment(exp, fingerprint(exp), store, lineage, today=today)
    evaluators = getattr(exp.config, "evaluation", None)  # a config model with an `evaluation:` section
    if evaluators:
        save_specs(store, registration.fingerprint, evaluators)
    return registration

