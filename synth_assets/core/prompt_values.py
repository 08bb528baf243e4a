"""Record values in prompt templates: placeholders name field paths, lists and objects render readably.

Prompts are Python format strings filled with `str.format_map(prompt_fields(record))`, so a
placeholder is a field path (`core/fields.py`) with an optional format:

    {question}               text as it is (numbers and booleans as before: str(value))
    {choices}                one option per line, "A) ..."; labels come from a parallel `label` list
                             ({text: [...], label: [...]}) or from `label`/`text` keys of the elements,
                             else letters A, B, C, ...; another object gives "key: value" lines
    {choices.text}           a list the same way: "A) ...", "B) ..." (lettered)
    {choices.text[0]}        one element;  {answers[*].text}: that field of every element, as a list
    {choices:inline}         the options on one line: "A) ... B) ..."
    {choices.text:lines}     one element per line, no letters
    {choices.text:numbered}  "1. ...", "2. ..."
    {choices:json}           JSON (non-ASCII kept)
    {idx:03d}                any other format spec applies to numbers and text as in Python

Elements that are not text render as JSON inside options and lines.
"""

from __future__ import annotations

import _string  # the parser str.format itself uses for field names
import json
import string
from typing import Any

from synth_assets.core.fields import WILDCARD, Concrete, FieldPath, FieldPathError, follow, format_path, get, json_type, parse

FORMATS = ("options", "inline", "lines", "numbered", "json")


def letter(index: int) -> str:
    """A, B, ..., Z, AA, AB, ... for 0, 1, ..."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(ord("A") + rest) + out
    return out


def _inline(item: Any) -> str:
    return item if isinstance(item, str) else json.dumps(item, ensure_ascii=False)


def _entries(value: Any) -> tuple[list[tuple[str, Any]], bool]:
    """(label, item) pairs of a list or object, and whether they are options (labelled or lettered) or fields."""
    if isinstance(value, dict):
        labels, texts = value.get("label"), value.get("text")
        if isinstance(labels, list) and isinstance(texts, list) and len(labels) == len(texts):
            return [(_inline(label), text) for label, text in zip(labels, texts)], True
        return [(str(key), item) for key, item in value.items()], False
    if value and all(isinstance(item, dict) and {"label", "text"} <= set(item) for item in value):
        return [(_inline(item["label"]), item["text"]) for item in value], True
    return [(letter(i), item) for i, item in enumerate(value)], True


def render_value(value: Any, fmt: str, where: str = "value") -> str:
    """`value` in one of FORMATS ("" = options); text and numbers render as str() unless fmt is json."""
    if fmt not in ("", *FORMATS):
        raise ValueError(f"unknown format {fmt!r} for {where} ({json_type(value)}): use one of {', '.join(FORMATS)}")
    if fmt == "json":
        return json.dumps(value, ensure_ascii=False)
    if not isinstance(value, (list, dict)):
        return str(value)
    entries, options = _entries(value)
    if fmt == "lines":
        return "\n".join(f"{label}: {_inline(item)}" if not options else _inline(item) for label, item in entries)
    if fmt == "numbered":
        return "\n".join(f"{i}. {_inline(item)}" for i, (_, item) in enumerate(entries, start=1))
    shown = [f"{label}) {_inline(item)}" if options else f"{label}: {_inline(item)}" for label, item in entries]
    return (" " if options else "; ").join(shown) if fmt == "inline" else "\n".join(shown)


class PromptText(str):
    """A text field in a prompt: a `str` that also takes the formats above (`{question:json}`)."""

    where: str

    def __new__(cls, value: str, where: str) -> "PromptText":
        text = super().__new__(cls, value)
        text.where = where
        return text

    def __format__(self, spec: str) -> str:
        return render_value(str(self), spec, self.where) if spec in FORMATS else str.__format__(str(self), spec)


class PromptValue:
    """Any other value in a prompt: `.key`, `[index]` and `[*]` follow field paths; formatting renders it."""

    __slots__ = ("_found", "_spread")

    def __init__(self, found: list[tuple[Concrete, Any]], spread: bool = False):
        self._found, self._spread = found, spread  # spread: reached through [*], holds every match

    @property
    def raw(self) -> Any:
        return [value for _, value in self._found] if self._spread else self._found[0][1]

    @property
    def where(self) -> str:
        return format_path(self._found[0][0]) if self._found and not self._spread else "a [*] selection"

    def _go(self, step: str | int) -> Any:
        found = [pair for where, value in self._found for pair in follow(value, step, where)]
        if self._spread or step == WILDCARD:
            return PromptValue(found, spread=True)
        return wrap(found[0][1], found[0][0])

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._go(name)

    def __getitem__(self, key: str | int) -> Any:
        return self._go(key)

    def __format__(self, spec: str) -> str:
        raw = self.raw
        if spec in ("", *FORMATS) or isinstance(raw, (list, dict)):
            return render_value(raw, spec, self.where)
        return format(raw, spec)

    def __str__(self) -> str:
        return self.__format__("")

    def __repr__(self) -> str:
        return repr(self.raw)

    def __iter__(self):
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)


def wrap(value: Any, where: Concrete) -> PromptText | PromptValue:
    return PromptText(value, format_path(where)) if isinstance(value, str) else PromptValue([(where, value)])


class PromptRow(dict):
    """A record's fields for prompts and validators: top-level values wrapped; `row["choices.text"]` and
    `"choices.text" in row` also take field paths."""

    def __missing__(self, key: str) -> Any:
        path = parse(key) if isinstance(key, str) else None
        if path is None or path.is_plain:
            raise KeyError(key)
        value = self[path.root]
        for step in path.steps[1:]:
            if not isinstance(value, PromptValue):  # text: it has no fields or elements
                follow(str(value), step, (value.where,))
            value = value._go(step)
        return value

    def __contains__(self, key: object) -> bool:
        if dict.__contains__(self, key):
            return True
        try:
            self[key]
        except (KeyError, ValueError):
            return False
        return True


def prompt_fields(record: dict[str, Any]) -> PromptRow:
    """The record's fields as prompt values (provenance keys, starting with `_`, left out)."""
    return PromptRow({key: wrap(value, (key,)) for key, value in record.items() if not key.startswith("_")})


def placeholder_path(field_name: str) -> FieldPath:
    """A placeholder's field name (`choices.text[0]`, `choices[text]`) as a path, the way str.format reads it."""
    first, rest = _string.formatter_field_name_split(field_name)
    return FieldPath((str(first), *(key for _, key in rest)))


def placeholders(template: str) -> list[tuple[str, FieldPath, str]]:
    """(placeholder text, path, format spec) of every placeholder; ValueError when the template does not parse."""
    out = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is not None:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            out.append((shown, placeholder_path(name), spec or ""))
    return out


def check_template(template: str, values: dict[str, Any]) -> None:
    """Every placeholder of `template` leads to a value of `values` (raw values) and its format applies,
    as `format_map(prompt_fields(values))` would render it; a FieldPathError names the placeholder."""
    check_placeholders(placeholders(template), values)


def check_placeholders(found: list[tuple[str, FieldPath, str]], values: dict[str, Any]) -> None:
    """`check_template` for placeholders parsed once (`placeholders(template)`), e.g. against many records."""
    for shown, path, spec in found:
        if path.is_plain and not spec and path.root in values:
            continue
        try:
            value = get(values, path)
            if spec in FORMATS or isinstance(value, (list, dict)):
                render_value(value, spec, str(path))
            else:
                format(value, spec)
        except ValueError as exc:  # FieldPathError included
            raise FieldPathError(f"placeholder {shown}: {exc}") from None
