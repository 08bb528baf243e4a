"""YAML loading that remembers the line of every key, so errors can name file:line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError


class ConfigError(ValueError):
    """A problem in a user's file, named by file, line and field."""

    def __init__(self, file: str | Path, message: str, *, line: int | None = None, field: str | None = None):
        self.file, self.line, self.field, self.message = str(file), line, field, message
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}")


Path_ = tuple[Any, ...]
_SCALARS = yaml.constructor.SafeConstructor()
MAX_VALUES = 10_000  # values a file may expand to: aliases (`*name`) repeat what their anchor names, so a few lines can name billions
MAX_DEPTH = 64  # nesting of mappings and lists


class _Budget:
    """Counts the values built so far; an alias bomb or a self-referencing anchor stops at the value that exceeds it."""

    def __init__(self, file: str, lines: dict[Path_, int]):
        self.file, self.lines, self.left = file, lines, MAX_VALUES

    def spend(self, node: yaml.Node, path: Path_) -> None:
        self.left -= 1
        if self.left < 0:
            raise ConfigError(self.file, f"the file expands to more than {MAX_VALUES} values: aliases (*name) repeat what their "
                                         "anchor (&name) names; write the values out or use fewer aliases",
                              line=self.line(node, path), field=".".join(map(str, path)) or None)
        if len(path) > MAX_DEPTH:
            raise ConfigError(self.file, f"nested more than {MAX_DEPTH} levels deep (an anchor inside itself?)",
                              line=self.line(node, path), field=".".join(map(str, path[:MAX_DEPTH])))

    def line(self, node: yaml.Node, path: Path_) -> int:
        """The line of the nearest key holding the value (where an alias is used; the value's own line is its anchor's)."""
        keys = [path[:end] for end in range(len(path), 0, -1) if isinstance(path[end - 1], str) and path[:end] in self.lines]
        return self.lines[keys[0]] if keys else node.start_mark.line + 1


def _construct(node: yaml.Node, path: Path_, lines: dict[Path_, int], budget: _Budget) -> Any:
    budget.spend(node, path)
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(budget.file, "a key must be a plain name, not a list or mapping", line=key_node.start_mark.line + 1,
                                  field=".".join(map(str, path)) or None)
            key = _scalar(key_node, path, budget)
            if key in out:
                raise ConfigError(budget.file, "duplicate key", line=key_node.start_mark.line + 1, field=str(key))
            lines[path + (key,)] = key_node.start_mark.line + 1
            out[key] = _construct(value_node, path + (key,), lines, budget)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, path + (i,), lines, budget) for i, item in enumerate(node.value)]
    return _scalar(node, path, budget)


def _scalar(node: yaml.Node, path: Path_, budget: _Budget) -> Any:
    try:
        return _SCALARS.construct_object(node, deep=True)
    except (yaml.YAMLError, ValueError, TypeError) as exc:  # an unknown tag (`!foo`), a bad `!!int` or `!!binary`
        raise ConfigError(budget.file, f"cannot read this value: {getattr(exc, 'problem', None) or exc}",
                          line=node.start_mark.line + 1, field=".".join(map(str, path)) or None) from None


def load_yaml_with_lines(path: str | Path, text: str | bytes | None = None) -> tuple[Any, dict[Path_, int]]:
    """Parse a YAML file (or its `text`, or its bytes); return the data and a map from key path to 1-based line."""
    if text is None:
        text = Path(path).read_bytes()
    if isinstance(text, bytes):
        data = text
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            raise ConfigError(path, f"not UTF-8 text ({exc.reason} at byte {exc.start}): save the file as UTF-8", line=line) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except RecursionError:
        raise ConfigError(path, f"nested too deeply (more than {MAX_DEPTH} levels of mappings and lists)",
                          line=_too_deep_line(text)) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else None
        hint = ""
        if line and "[*]" in text.splitlines()[line - 1 if line <= len(text.splitlines()) else -1]:
            hint = " (a field path with [*] inside a [...] list must be quoted: ['choices.text[*]'])"
        raise ConfigError(path, f"malformed YAML: {getattr(exc, 'problem', exc)}{hint}", line=line) from None
    if node is None:
        raise ConfigError(path, "file is empty", line=1)
    lines: dict[Path_, int] = {}
    return _construct(node, (), lines, _Budget(str(path), lines)), lines


def _too_deep_line(text: str) -> int:
    """The line where mappings and lists nest deeper than MAX_DEPTH (the parser's events need no recursion)."""
    depth = 0
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        depth += isinstance(event, yaml.CollectionStartEvent) - isinstance(event, yaml.CollectionEndEvent)
        if depth > MAX_DEPTH:
            return event.start_mark.line + 1
    return 1


def validate_model(model: type[BaseModel], data: Any, path: str | Path, lines: dict[Path_, int], prefix: Path_ = ()) -> Any:
    """`model.model_validate(data)`; the first error becomes a ConfigError naming file, line and field."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].removeprefix("Value error, ")
        raise ConfigError(path, msg, line=line_for(lines, prefix + loc), field=".".join(map(str, loc)) or None) from None


def field_error(field: str, message: str, value: Any = None) -> ValidationError:
    """A validation error located at `field`, for model validators that judge a field in context."""
    return ValidationError.from_exception_data("config", [InitErrorDetails(
        type=PydanticCustomError("value_error", "{message}", {"message": message}), loc=(field,), input=value)])


def line_for(lines: dict[Path_, int], loc: Path_) -> int | None:
    """The line of the deepest known prefix of `loc`."""
    for end in range(len(loc), -1, -1):
        if tuple(loc[:end]) in lines:
            return lines[tuple(loc[:end])]
    return None
