"""Field paths: names of values inside a record, e.g. `question`, `choices.text`, `choices.text[0]`,
`choices.text[*]`, `answers[*].text`.

Grammar: a key, then any number of `.key`, `[index]` (0-based) or `[*]` (every element of a list).
A key is any run of characters other than `.`, `[`, `]`, `{`, `}`, `:`, `!`, `*` and whitespace. A
path without `.` or `[` is a plain top-level field, so existing configs mean what they meant.

`resolve` lists the concrete values a path names (a wildcard expands into one per element, in order);
`assign` returns a record with one concrete value replaced (only the containers on the way are
copied); `text_fields` collects the texts under some paths. Errors say which step failed and what the record
holds there instead.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

WILDCARD = "*"
Step = str | int  # a key, a list index, or WILDCARD
Concrete = tuple[str | int, ...]  # a path without wildcards, as steps

_KEY = r"[^.\[\]{}:!*\s]+"
_TOKEN = re.compile(rf"\.({_KEY})|\[(\d+|\*)\]")
_FIRST = re.compile(_KEY)
_HINT = "(write key.key, key[0] or key[*], e.g. choices.text[*])"
JSON_TYPES = {str: "text", bool: "boolean", int: "integer", float: "number", list: "list", dict: "object", type(None): "null"}


class FieldPathError(ValueError):
    """A path that does not parse, or that does not lead to a value in a record."""


def json_type(value: Any) -> str:
    """The JSON type of a value in words: text, boolean, integer, number, list, object, null."""
    return JSON_TYPES.get(type(value), type(value).__name__)


def format_path(steps: Sequence[Step]) -> str:
    """`("choices", "text", 0)` -> `choices.text[0]`; the wildcard is `[*]`."""
    out = ""
    for step in steps:
        if isinstance(step, int) or step == WILDCARD:
            out += f"[{step}]"
        else:
            out += f".{step}" if out else step
    return out


@dataclass(frozen=True)
class FieldPath:
    """A parsed path; `str(path)` is its canonical spelling (what it was parsed from)."""

    steps: tuple[Step, ...]

    @property
    def root(self) -> str:
        return self.steps[0]  # type: ignore[return-value]

    @property
    def is_plain(self) -> bool:
        """A top-level field name."""
        return len(self.steps) == 1

    @property
    def has_wildcard(self) -> bool:
        return WILDCARD in self.steps

    def __str__(self) -> str:
        return format_path(self.steps)

    def covers(self, concrete: Concrete) -> bool:
        """This path names `concrete` or a value inside it (`choices.label` covers `choices.label[2]`)."""
        if len(concrete) < len(self.steps):
            return False
        return all(s == WILDCARD and isinstance(c, int) or s == c for s, c in zip(self.steps, concrete))


def parse(text: str) -> FieldPath:
    """Parse a path; a FieldPathError says what is wrong and how paths are written."""
    if not isinstance(text, str) or not text:
        raise FieldPathError(f"a field path must be a non-empty text, got {text!r} {_HINT}")
    return _parse(text)


@functools.lru_cache(maxsize=4096)
def _parse(text: str) -> FieldPath:
    first = _FIRST.match(text)
    if first is None:
        raise FieldPathError(f"bad field path {text!r}: it must start with a field name {_HINT}")
    steps: list[Step] = [first.group()]
    position = first.end()
    while position < len(text):
        token = _TOKEN.match(text, position)
        if token is None:
            raise FieldPathError(f"bad field path {text!r}: {_problem(text, position)} {_HINT}")
        key, index = token.groups()
        steps.append(key if key is not None else (WILDCARD if index == WILDCARD else int(index)))
        position = token.end()
    return FieldPath(tuple(steps))


def _problem(text: str, position: int) -> str:
    bracket = re.match(r"\[([^\]]*)\]", text[position:])
    if bracket and re.fullmatch(r"-\d+", bracket.group(1)):
        return f"index {bracket.group(1)} is negative: indices count from 0"
    if bracket and re.fullmatch(_KEY, bracket.group(1)):
        return f"write .{bracket.group(1)} for a key, not [{bracket.group(1)}]"
    return f"unexpected {text[position]!r} at character {position + 1}"


def check_syntax(text: str) -> str:
    """`text` if it parses (a pydantic validator for path fields), else the parse error."""
    parse(text)
    return text


def follow(value: Any, step: Step, where: Concrete) -> list[tuple[Concrete, Any]]:
    """The values one step leads to from `value` (found at `where`)."""
    if step == WILDCARD and isinstance(value, list):
        return [(where + (i,), item) for i, item in enumerate(value)]
    if isinstance(step, int) and isinstance(value, list) and step < len(value):
        return [(where + (step,), value[step])]
    if step != WILDCARD and isinstance(step, str) and isinstance(value, dict) and step in value:
        return [(where + (step,), value[step])]
    raise FieldPathError(_dead_end(value, step, format_path(where)))


def _dead_end(value: Any, step: Step, at: str) -> str:
    """Why `step` leads nowhere from `value` (found at path `at`)."""
    if step == WILDCARD:
        return f"{at} is {json_type(value)}, not a list: [*] needs a list"
    if isinstance(step, int):
        if not isinstance(value, list):
            return f"{at} is {json_type(value)}, not a list: [{step}] needs a list"
        return f"{at} has {len(value)} elements: no index {step}"
    if isinstance(value, list):
        return f"{at} is a list: write {at}[0] or {at}[*] before .{step}"
    if not isinstance(value, dict):
        return f"{at} is {json_type(value)}: it has no field {step!r}"
    return f"{at} has no field {step!r} (it has: {', '.join(map(str, value)) or 'nothing'})"


def resolve(record: dict[str, Any], path: FieldPath | str, *, missing_ok: bool = False) -> list[tuple[Concrete, Any]]:
    """Every (concrete path, value) the path names, in order; a step that leads nowhere raises FieldPathError
    (or is skipped with `missing_ok`)."""
    path = parse(path) if isinstance(path, str) else path
    if path.root not in record:
        if missing_ok:
            return []
        raise FieldPathError(f"the record has no field {path.root!r} (it has: {', '.join(map(str, record))})")
    found: list[tuple[Concrete, Any]] = [(path.steps[:1], record[path.root])]
    for step in path.steps[1:]:
        nxt = []
        for where, value in found:
            try:
                nxt += follow(value, step, where)
            except FieldPathError:
                if not missing_ok:
                    raise
        found = nxt
    return found


def get(record: dict[str, Any], path: FieldPath | str) -> Any:
    """The value a path names; a path with wildcards gives the list of the values it names."""
    path = parse(path) if isinstance(path, str) else path
    values = [value for _, value in resolve(record, path)]
    return values if path.has_wildcard else values[0]


def assign(record: dict[str, Any], concrete: Concrete | str, value: Any) -> dict[str, Any]:
    """A copy of `record` with the value at a concrete path replaced; the containers on the way are copied,
    everything else is shared (the input is never modified)."""
    steps = parse(concrete).steps if isinstance(concrete, str) else concrete
    if WILDCARD in steps:
        raise FieldPathError(f"cannot assign to {format_path(steps)}: a wildcard names several values")
    resolve(record, FieldPath(tuple(steps)))  # the path exists: raise the same errors as reading it

    def replaced(container: Any, rest: Concrete) -> Any:
        if not rest:
            return value
        copy = list(container) if isinstance(container, list) else dict(container)
        copy[rest[0]] = replaced(container[rest[0]], rest[1:])
        return copy

    return replaced(record, tuple(steps))


def text_leaves(value: Any, where: Concrete) -> Iterator[tuple[Concrete, str]]:
    """Every text inside `value` (itself included), with its concrete path, in document order."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from text_leaves(item, where + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from text_leaves(item, where + (index,))


def text_fields(record: dict[str, Any], paths: list[str] | None, skip: FieldPath | None = None) -> dict[str, str]:
    """`{concrete path: text}` for every text under `paths` (under every field when None), in order, none under `skip`."""
    found = ([hit for p in paths for hit in resolve(record, p, missing_ok=True)] if paths is not None
             else [((key,), value) for key, value in record.items()])
    return {format_path(where): text for at, value in found for where, text in text_leaves(value, at)
            if skip is None or not skip.covers(where)}
