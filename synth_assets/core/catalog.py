"""Dataset catalog: one YAML per dataset; adding a dataset needs no Python."""

from __future__ import annotations

import functools
import hashlib
import os
import warnings
from pathlib import Path
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from synth_assets.core.fields import check_syntax
from synth_assets.core.hashing import file_sha256
from synth_assets.core.jsonl import read_jsonl
from synth_assets.core.names import check_safe_name
from synth_assets.core.numbers import NoBoolNumbers
from synth_assets.core.yaml_lines import ConfigError, line_for, load_yaml_with_lines, validate_model

BUILTIN_CATALOG = Path(__file__).resolve().parent.parent / "catalog"
FieldPathText = Annotated[str, AfterValidator(check_syntax)]  # a field path (core/fields.py), e.g. choices.text[*]


class Prompts(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str | None = None
    generation: str | None = None
    validation: str | None = None
    validation_examples: list[dict[str, str]] = Field(default_factory=list)


class CatalogEntry(NoBoolNumbers):
    """A dataset: where its files are and how a record becomes a prompt."""

    model_config = ConfigDict(extra="forbid")
    name: str
    recipe: str  # checked by the recipe registry (synth_assets.recipes.registry.catalog_recipe) where it matters
    description: str = ""
    source: str = ""
    license: str = "unknown"  # the source data's licence (a Hugging Face licence id); not fingerprinted
    splits: dict[str, str] = Field(default_factory=dict)
    fields: list[FieldPathText] = Field(default_factory=list)  # field paths the data has
    rewrite_fields: list[FieldPathText] = Field(default_factory=list)  # `choices.text[*]`: each element on its own
    label_field: FieldPathText | None = None
    files: dict[str, str] = Field(default_factory=dict)
    max_words: int | None = None
    prompts: Prompts = Field(default_factory=Prompts)
    path: Path = Field(default=Path("."), exclude=True)
    decontaminate_against: list[str] = Field(default_factory=list)  # benchmark JSONL files, relative to this YAML
    _lines: dict = PrivateAttr(default_factory=dict)  # YAML key path -> line, for errors that blame this file

    _check_name = field_validator("name")(lambda v: check_safe_name(v, "dataset name"))

    def file(self, relative: str) -> Path:
        """A file named by the entry, relative to the entry's YAML."""
        return (self.path.parent / relative).resolve()

    def split_path(self, split: str) -> Path:
        return self.file(self.splits[split])

    @property
    def content_hash(self) -> str:
        """sha256 over every data file the entry names: a changed input gives a new fingerprint."""
        digest = hashlib.sha256()
        named = {f"split:{k}": v for k, v in self.splits.items()} | {f"file:{k}": v for k, v in self.files.items()}
        for key in sorted(named):
            path = self.file(named[key])
            if not path.is_file():
                section, name = key.split(":")
                raise self.error(f"file not found: {path}", f"{section}s", name)
            digest.update(key.encode() + b"\0" + bytes.fromhex(file_sha256(path)))
        return digest.hexdigest()

    def error(self, message: str, *loc: str | int) -> ConfigError:
        """A ConfigError blaming this entry's YAML, at the line of `loc` (e.g. "prompts", "generation")."""
        return ConfigError(self.path, message, line=line_for(self._lines, tuple(loc)), field=".".join(map(str, loc)) or None)

    def rows(self, split: str) -> list[dict[str, Any]]:
        """Every record of a split, each line checked (parsed once per file version)."""
        path = self.split_path(split)
        return _read_split(str(path), file_sha256(path))



def catalog_dirs(root: str | Path | None = None) -> list[Path]:
    """Built-in entries, then `$SYNTH_CATALOG` folders, then `{root}/catalog`."""
    dirs = [BUILTIN_CATALOG]
    dirs += [Path(p) for p in os.environ.get("SYNTH_CATALOG", "").split(os.pathsep) if p]
    if root is not None and not str(root).startswith("s3://"):
        dirs.append(Path(root) / "catalog")
    return dirs


def load_entry(path: str | Path) -> CatalogEntry:
    stat = Path(path).stat()
    return _load_entry(str(Path(path).resolve()), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=128)
def _load_entry(path: str, mtime_ns: int, size: int) -> CatalogEntry:
    """Parse an entry once while its file stays the same (a sensor tick loads it per config)."""
    data, lines = load_yaml_with_lines(path)
    if not isinstance(data, dict):
        raise ConfigError(path, "a catalog entry must be a mapping", line=1)
    if data.get("name") != Path(path).stem:
        raise ConfigError(path, f"name {data.get('name')!r} differs from the file name {Path(path).name}: entries are found by "
                                f"file name, so dataset {data.get('name')!r} must be in {data.get('name')}.yaml (or set name: "
                                f"{Path(path).stem})", line=line_for(lines, ("name",)), field="name")
    entry = validate_model(CatalogEntry, {**data, "path": Path(path).resolve()}, path, lines)
    entry._lines = lines
    return entry


@functools.lru_cache(maxsize=16)
def _read_split(path: str, sha256: str) -> list[dict[str, Any]]:
    return read_jsonl(path)


class CatalogShadowWarning(UserWarning):
    """A catalog entry replaces one of the same name in an earlier folder (a built-in dataset, say): its fingerprints differ."""


def find_entry(name: str, root: str | Path | None = None) -> CatalogEntry:
    """The catalog entry for a dataset name; later folders override earlier ones, with a `CatalogShadowWarning`."""
    check_safe_name(name, "dataset name")
    found = [folder / f"{name}.yaml" for folder in catalog_dirs(root) if (folder / f"{name}.yaml").is_file()]
    if not found:
        known = sorted({p.stem for d in catalog_dirs(root) if d.is_dir() for p in d.glob("*.yaml")})
        raise KeyError(f"unknown dataset {name!r}; the catalog has: {', '.join(known)}")
    entry = load_entry(found[-1])
    if len(found) > 1:
        builtin = " (the built-in dataset)" if found[0].parent == BUILTIN_CATALOG else ""
        warnings.warn(CatalogShadowWarning(
            f"{found[-1]}:{line_for(entry._lines, ('name',)) or 1}: name: dataset {name!r} shadows {found[-2]}{builtin}: experiments "
            f"on {name} use this entry and get other fingerprints than with that one; give it another name (and file name) to "
            "keep both"), stacklevel=2)
    return entry


UNKNOWN_LICENSE = "unknown"  # what the catalog does not describe is unknown, never guessed


def catalog_entries(root: str | Path | None = None) -> list[CatalogEntry]:
    """Every entry of the catalog folders that loads (an entry that does not is reported where it is used)."""
    entries = []
    for folder in catalog_dirs(root):
        for path in sorted(folder.glob("*.yaml")) if folder.is_dir() else []:
            try:
                entries.append(load_entry(path))
            except (ConfigError, OSError):
                continue
    return entries


def entry_for_file(path: str | None, root: str | Path | None = None) -> CatalogEntry | None:
    """The catalog entry one of whose split files is `path`, if any."""
    if not path:
        return None
    wanted = Path(path).resolve()
    return next((e for e in catalog_entries(root) if any(e.split_path(s) == wanted for s in e.splits)), None)
