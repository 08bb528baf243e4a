"""The recipes' own commands (`Recipe.cli`: "module:attribute" of a typer app), found through the registry when
`synth` is asked for one, so that starting `synth` loads no recipe (some import heavy libraries)."""

from __future__ import annotations

import functools
import importlib

import click
import typer.main
from typer.core import TyperGroup

from synth_assets.recipes.registry import recipes


@functools.cache
def recipe_commands() -> dict[str, click.Command]:
    """Every recipe's commands and command groups by name."""
    found: dict[str, click.Command] = {}
    for recipe in recipes().values():
        if recipe.cli:
            module, _, attribute = recipe.cli.partition(":")
            found.update(typer.main.get_group(getattr(importlib.import_module(module), attribute)).commands)
    return found


class WithRecipeCommands(TyperGroup):
    """`synth`'s command group: its own commands, then the recipes' (listed in the help, loaded when named)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *recipe_commands()]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or recipe_commands().get(name)
