"""Errors of the Batch API pipeline; every message names the file, line or batch it is about."""

from __future__ import annotations


class BatchAPIError(RuntimeError):
    """Something the user has to act on (unknown batch id, missing key, server refusal)."""


class InputError(ValueError):
    """A problem in a user's input file, with every offending line listed (nothing is uploaded)."""

    def __init__(self, source: str, problems: list[str], limit: int = 20):
        self.source, self.problems = str(source), list(problems)
        shown = problems[:limit]
        more = f"\n  ... and {len(problems) - limit} more" if len(problems) > limit else ""
        super().__init__(f"{source}: {len(problems)} problem(s):\n  " + "\n  ".join(shown) + more)
