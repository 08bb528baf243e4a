"""Progress reporting: a rich bar for the CLI, periodic log lines for Dagster (`context.log`), or nothing."""

from __future__ import annotations

import time
from typing import Any


class Progress:
    """Silent base; subclasses render `done/total`, rate, ETA, cache hits and retries."""

    def __init__(self, total: int, description: str):
        self.total, self.description = total, description
        self.done = self.cache_hits = self.retries = self.failures = 0
        self.started = time.monotonic()

    def advance(self, *, cache_hit: bool = False, failed: bool = False, retries: int = 0, count: int = 1) -> None:
        self.done += count
        self.cache_hits += count if cache_hit else 0
        self.failures += count if failed else 0
        self.retries += retries
        self._render()

    def _render(self) -> None:
        return None

    def close(self) -> None:
        return None

    def summary(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        rate = self.done / elapsed
        eta = (self.total - self.done) / rate if rate > 0 else float("inf")
        return (
            f"{self.description}: {self.done}/{self.total} ({rate:.1f}/s, ETA {eta:.0f}s) "
            f"cache_hits={self.cache_hits} retries={self.retries} failures={self.failures}"
        )


class LogProgress(Progress):
    """Logs a progress line every `every_s` seconds and once at the end."""

    def __init__(self, total: int, description: str, logger: Any, every_s: float = 10.0):
        super().__init__(total, description)
        self.logger, self.every_s = logger, every_s
        self._last = self.started

    def _render(self) -> None:
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            self.logger.info(self.summary())

    def close(self) -> None:
        self.logger.info(self.summary())


class RichProgress(Progress):
    """A rich progress bar (stderr)."""

    def __init__(self, total: int, description: str):
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as Bar

        super().__init__(total, description)
        self._bar = Bar(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("hits={task.fields[hits]} retries={task.fields[retries]} failed={task.fields[failed]}"),
            console=Console(stderr=True),
            transient=False,
        )
        self._task = self._bar.add_task(description, total=total, rate="0.0", hits=0, retries=0, failed=0)
        self._bar.start()

    def _render(self) -> None:
        rate = self.done / max(time.monotonic() - self.started, 1e-9)
        self._bar.update(
            self._task,
            completed=self.done,
            rate=f"{rate:.1f}",
            hits=self.cache_hits,
            retries=self.retries,
            failed=self.failures,
        )

    def close(self) -> None:
        self._render()
        self._bar.stop()


def make_progress(total: int, description: str, *, logger: Any = None, progress: bool = False) -> Progress:
    if logger is not None:
        return LogProgress(total, description, logger)
    if progress:
        return RichProgress(total, description)
    return Progress(total, description)
