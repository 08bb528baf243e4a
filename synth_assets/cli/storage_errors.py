"""A store that cannot be written (read-only, no permission, disk full) fails a command with one line, no traceback."""

from __future__ import annotations

import sys
from typing import Any

import typer

from synth_assets.core.storage_errors import storage_problem


class SynthTyper(typer.Typer):
    """`typer.Typer` whose commands fail with one line when the store cannot be written."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().__call__(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001  (anything else is re-raised as it was)
            problem = storage_problem(exc)
            if problem is None:
                raise
            from synth_assets.cli.common import err_console

            err_console.print(f"[bold red]error:[/] {problem}", markup=True, highlight=False, soft_wrap=True)
            sys.exit(1)
