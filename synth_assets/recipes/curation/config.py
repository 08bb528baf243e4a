"""Collection and source configs: YAML with file:line errors, pydantic with unknown keys forbidden.

A collection YAML::

    collection: demo                 # letters, digits, '_', '.', '-' (a path and a partition key)
    batch_id: batch_20250101_curation   # optional
    sources:
      - sources/boolq.yaml           # a per-source YAML, relative to this file
      - name: near_dups              # or a source written inline
        path: near_dups.jsonl
        fields: {prompt: text}
    dedup: {by: prompt, eps: 0.2, min_samples: 2, model: all-MiniLM-L6-v2}
    # optional: MinHash near-duplicates before the semantic step, and k-means partitions above a size
    #   fuzzy: {threshold: 0.8, ngram: 5, num_perm: 128}
    #   partition: {above: 200000, rows_per_partition: 2000, border_partitions: 2}
    format: sft                      # sft | cot | preference, or a list (the first is the stage's data)

A source YAML::

    name: boolq
    path: ../../datasets/superglue/BOOLQ/boolq_train.jsonl   # .jsonl/.json/.parquet/.csv (or type:)
    # hf: {path: /local/dir/or/builder, name: null, split: train, data_files: null, from_disk: false}
    style: plain                     # plain | helpsteer3 | arena | openr1
    fields: {prompt: question, answer: answer}
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from synth_assets.core.batch_ids import check_batch_id, default_batch_id
from synth_assets.core.names import check_safe_name
from synth_assets.core.models import DEFAULT_EMBEDDING_MODEL
from synth_assets.core.yaml_lines import ConfigError, line_for, load_yaml_with_lines, validate_model
from synth_assets.recipes.curation.source_config import SourceConfig, Strict
from synth_assets.recipes.curation.sources import load_source

DEFAULT_MODEL = DEFAULT_EMBEDDING_MODEL
DEFAULT_SWEEP = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
Format = Literal["sft", "cot", "preference"]


class FuzzyConfig(Strict):
    """MinHash + LSH near-duplicates: Jaccard of character n-gram sets >= threshold."""

    threshold: float = Field(default=0.8, gt=0.0, le=1.0)
    ngram: int = Field(default=5, ge=1, le=64)
    num_perm: int = Field(default=128, ge=8, le=1024)


class PartitionConfig(Strict):
    """Semantic dedup above `above` rows: k-means partitions, exact radius search inside each
    partition widened by the rows near its border with its `border_partitions` nearest neighbours."""

    above: int = Field(default=200_000, ge=1)
    rows_per_partition: int = Field(default=2000, ge=100)
    border_partitions: int = Field(default=2, ge=0)
    seed: int = 0


class DedupConfig(Strict):
    by: Literal["prompt", "prompt+solution"] = "prompt"
    exact: bool = True
    casefold: bool = False  # exact dedup: compare case-insensitively (whitespace is always normalised)
    semantic: bool = True
    model: str = DEFAULT_MODEL
    backend: Literal["sentence-transformers", "model2vec"] = "sentence-transformers"
    eps: float = 0.2
    min_samples: int = Field(default=2, ge=1)
    sweep: list[float] = Field(default_factory=lambda: list(DEFAULT_SWEEP))
    max_cluster_size: int = Field(default=500, ge=2)
    giant_clusters: Literal["warn", "split"] = "warn"
    fuzzy: FuzzyConfig | None = None  # MinHash near-duplicate step (runs before the semantic one)
    partition: PartitionConfig | None = None  # partition-then-exact clustering for large inputs
    batch_size: int = Field(default=64, gt=0)  # scheduling only, not fingerprinted
    chunk_size: int = Field(default=512, gt=0)  # embedding cache chunk; scheduling only

    @field_validator("eps")
    @classmethod
    def _eps(cls, v: float) -> float:
        return check_eps(v)

    @field_validator("sweep")
    @classmethod
    def _sweep(cls, v: list[float]) -> list[float]:
        return sorted({check_eps(x) for x in v})


def check_eps(v: float) -> float:
    if not (0.0 < float(v) < 2.0):
        raise ValueError(f"eps must be a cosine distance in (0, 2), got {v}")
    return float(v)


class CollectionConfig(Strict):
    collection: str
    batch_id: str | None = None
    description: str = ""
    sources: list[str | SourceConfig] = Field(min_length=1)
    dedup: DedupConfig = Field(default_factory=DedupConfig)
    format: Format | list[Format] = "sft"

    _check_name = field_validator("collection")(lambda v: check_safe_name(v, "collection name"))
    _check_batch = field_validator("batch_id")(lambda v: v if v is None else check_batch_id(v))

    @property
    def formats(self) -> list[Format]:
        fmts = [self.format] if isinstance(self.format, str) else list(self.format)
        return list(dict.fromkeys(fmts))

    def resolved_batch_id(self, today: dt.date | None = None) -> str:
        return self.batch_id or default_batch_id("curation", today)


@dataclass
class Collection:
    """A validated collection: its config with every source inline and its paths absolute."""

    config: CollectionConfig
    path: str
    source_files: dict[str, str] = field(default_factory=dict)  # source name -> the YAML that defined it

    @property
    def name(self) -> str:
        return self.config.collection

    @property
    def sources(self) -> list[SourceConfig]:
        return [s for s in self.config.sources if isinstance(s, SourceConfig)]


def _absolute(source: SourceConfig, base: Path) -> SourceConfig:
    if source.path is not None:
        source.path = str((base / source.path).resolve())
    if source.hf is not None and not Path(source.hf.path).is_absolute() and (base / source.hf.path).exists():
        source.hf.path = str((base / source.hf.path).resolve())
    if source.hf is not None and source.hf.data_files is not None:
        files = [source.hf.data_files] if isinstance(source.hf.data_files, str) else source.hf.data_files
        resolved = [str((base / f).resolve()) if not Path(f).is_absolute() else f for f in files]
        source.hf.data_files = resolved[0] if isinstance(source.hf.data_files, str) else resolved
    return source


def load_source_file(path: str | Path) -> SourceConfig:
    raw, lines = load_yaml_with_lines(path)
    if not isinstance(raw, dict):
        raise ConfigError(path, "a source config must be a mapping (name, path or hf, fields)", line=1)
    return _absolute(validate_model(SourceConfig, raw, path, lines), Path(path).resolve().parent)


def load_collection(path: str | Path, text: str | None = None) -> Collection:
    """Load and validate a collection YAML and its per-source YAMLs (errors name file:line)."""
    path = Path(path)
    raw, lines = load_yaml_with_lines(path, text)
    if not isinstance(raw, dict):
        raise ConfigError(path, "a collection config must be a mapping with collection, sources, dedup, format", line=1)
    base = path.resolve().parent
    raw_sources = raw.get("sources")
    sources: list[SourceConfig] = []
    files: dict[str, str] = {}
    if isinstance(raw_sources, list):
        for i, entry in enumerate(raw_sources):
            if isinstance(entry, str):
                file = (base / entry).resolve()
                if not file.is_file():
                    raise ConfigError(path, f"source config not found: {file}", line=line_for(lines, ("sources", i)), field=f"sources.{i}")
                source = load_source_file(file)
                files[source.name] = str(file)
            else:
                source = _absolute(validate_model(SourceConfig, entry, path, lines, ("sources", i)), base)
                files[source.name] = str(path.resolve())
            sources.append(source)
        raw = {**raw, "sources": sources}
    config = validate_model(CollectionConfig, raw, path, lines)
    seen: set[str] = set()
    for i, source in enumerate(config.sources):
        if source.name in seen:
            raise ConfigError(path, f"two sources are named {source.name!r}", line=line_for(lines, ("sources", i)), field=f"sources.{i}.name")
        seen.add(source.name)
        _check_mapping(source, i, path, lines, source_file=Path(files[source.name]))
    return Collection(config=config, path=str(path.resolve()), source_files=files)


MAPPING_SAMPLE = 200  # rows read to check a source's field mapping before anything is registered


def _check_mapping(source: SourceConfig, index: int, path: Path, lines: dict, *, source_file: Path) -> None:
    """The source's first rows have the columns its `fields` mapping names (the collection file is blamed, at that line)."""
    try:
        load_source(source.model_copy(update={"limit": min(source.limit or MAPPING_SAMPLE, MAPPING_SAMPLE)}))
    except ConfigError as exc:
        if not (exc.field or "").startswith("fields."):
            raise
        inline = source_file == path.resolve()
        where = path if inline else source_file
        loc = ("sources", index, *exc.field.split(".")) if inline else tuple(exc.field.split("."))
        raise ConfigError(where, f"{exc.message} (in {exc.file})", line=line_for(lines, loc) if inline else None,
                          field=".".join(map(str, loc))) from None


def collection_from_record(record: dict[str, Any]) -> Collection:
    """Rebuild a registered collection (its config is stored fully resolved)."""
    config = CollectionConfig.model_validate(record["config"])
    return Collection(config=config, path=record.get("source_file", ""), source_files=record.get("source_files", {}))

