"""YAML loading that remembers the line of every key, so errors can name file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError


class ConfigError(ValueError):
    """A problem in a user's file, named by file, line and field."""

    def __init__(self, file: str | Path, message: str, *, line: int | None = None, field: str | None = None):
        self.file, self.line, self.field, self.message = str(file), line, field, message
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}")


Path_ = tuple[Any, ...]
_SCALARS = yaml.constructor.SafeConstructor()


def _construct(node: yaml.Node, path: Path_, lines: dict[Path_, int], file: str) -> Any:
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = _SCALARS.construct_object(key_node, deep=True)
            if key in out:
                raise ConfigError(file, "duplicate key", line=key_node.start_mark.line + 1, field=str(key))
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, path + (key,), lines, file)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, path + (i,), lines, file) for i, item in enumerate(node.value)]
    return _SCALARS.construct_object(node, deep=True)


def load_yaml_with_lines(path: str | Path, text: str | None = None) -> tuple[Any, dict[Path_, int]]:
    """Parse a YAML file; return the data and a map from key path to 1-based line."""
    if text is None:
        data = Path(path).read_bytes()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise ConfigError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start}): save the file as UTF-8", line=line) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        hint = ""
        if line and "[*]" in text.splitlines()[line - 1 if line <= len(text.splitlines()) else -1]:
            hint = " (a field path with [*] inside a [...] list must be quoted: ['choices.text[*]'])"
        raise ConfigError(path, f"malformed YAML: {getattr(exc, 'problem', exc)}{hint}", line=line) from None
    if node is None:
        raise ConfigError(path, "file is empty")
    lines: dict[Path_, int] = {}
    return _construct(node, (), lines, str(path)), lines


def validate_model(model: type[BaseModel], data: Any, path: str | Path, lines: dict[Path_, int], prefix: Path_ = ()) -> Any:
    """`model.model_validate(data)`; the first error becomes a ConfigError naming file, line and field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        raise ConfigError(path, msg, line=line_for(lines, prefix + loc), field=".".join(map(str, loc)) or None) from None


def line_for(lines: dict[Path_, int], loc: Path_) -> int | None:
    """The line of the deepest known prefix of `loc`."""
    for end in range(len(loc), -1, -1):
        if tuple(loc[:end]) in lines:
            return lines[tuple(loc[:end])]
    return None
