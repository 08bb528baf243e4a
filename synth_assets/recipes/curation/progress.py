"""Progress bars with ETA (rich) for embedding and clustering; a no-op when disabled."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn,
                           TimeRemainingColumn)


@contextlib.contextmanager
def progress_bar(enabled: bool, description: str, total: int, unit: str = "items") -> Iterator[Callable[[int], None]]:
    """Yield `advance(n)`; draws a rich bar (rate, elapsed, ETA) on stderr when enabled and total > 0."""
    if not enabled or total <= 0:
        yield lambda n=1: None
        return
    columns = [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn(unit),
               TaskProgressColumn(), TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn()]
    with Progress(*columns, console=Console(file=sys.stderr), transient=False) as bar:
        task = bar.add_task(description, total=total)
        yield lambda n=1: bar.advance(task, n)
