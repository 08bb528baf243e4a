"""Shared pieces of the CLI: the store root, output as rich tables or JSON, error handling."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sys
import warnings
from collections.abc import Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from synth_assets.core.catalog import CatalogShadowWarning
from synth_assets.core.lineage import Lineage
from synth_assets.core.root import default_root, lineage_path
from synth_assets.core.store import Store
from synth_assets.core.store_s3 import S3StoreError
from synth_assets.core.stores import open_store

console = Console(width=None if sys.stdout.isatty() else 160)
err_console = Console(stderr=True, width=None if sys.stderr.isatty() else 160)

JsonOption = typer.Option(False, "--json", help="Print JSON instead of a table.")


def resolve_root(root: str | None) -> str:
    """`--root`, else `$SYNTH_ROOT`, else `./data` (local roots made absolute)."""
    root = root or default_root()
    return root if root.startswith("s3://") else str(Path(root).resolve())


_ROOT: ContextVar[str | None] = ContextVar("synth_root", default=None)


def use_root(context: typer.Context, root: str | None) -> None:
    """The store root of this command (`--root`), until the command ends."""
    token = _ROOT.set(resolve_root(root))
    context.call_on_close(lambda: _ROOT.reset(token))


def root() -> str:
    """The store root of the running command: `--root` through the `synth` callback, else `$SYNTH_ROOT`, else `./data`."""
    return _ROOT.get() or resolve_root(None)


def store() -> Store:
    try:
        return open_store(root())
    except S3StoreError as exc:
        raise fail(str(exc)) from None


def lineage() -> Lineage:
    return Lineage(lineage_path(root()))


def _jsonable(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    return str(value)


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=_jsonable, ensure_ascii=False))


def print_table(title: str, columns: list[str], rows: Iterable[Iterable[Any]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True)
    return typer.Exit(code)


def when(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value or "")


@contextlib.contextmanager
def catalog_warnings() -> Iterator[None]:
    """Print each `CatalogShadowWarning` raised inside (once) as a `warning:` line on stderr."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CatalogShadowWarning)
        try:
            yield
        finally:
            for message in dict.fromkeys(str(w.message) for w in caught if issubclass(w.category, CatalogShadowWarning)):
                err_console.print(f"[yellow]warning:[/] {escape(message)}")
            for w in caught:  # any other warning as it would have shown
                if not issubclass(w.category, CatalogShadowWarning):
                    warnings.showwarning(w.message, w.category, w.filename, w.lineno)
