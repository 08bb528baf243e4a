"""JSON-lines files read with their line numbers; a bad line is an error naming file and line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synth_assets.core.yaml_lines import ConfigError


def numbered_rows(path: str | Path) -> list[tuple[int, dict[str, Any]]]:
    """(1-based line number, object) of every non-blank line."""
    out = []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                line = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise ConfigError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start} of the line): save the file as UTF-8",
                                  line=number) from None
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(path, f"invalid JSON: {exc.msg} (column {exc.colno})", line=number) from None
            if not isinstance(row, dict):
                raise ConfigError(path, "each line must be a JSON object", line=number)
            out.append((number, row))
    return out


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    return [row for _, row in numbered_rows(path)]
