"""The recipe contract: what a pipeline declares so that the platform can run, reuse and publish it.

A recipe is a sequence of stages. Each stage has parameters (what goes into its fingerprint), a
function that computes its rows, the fields its rows must have and optional checks. The last stage
is `published`: the recipe (if it publishes) writes its files into `_shared/{dataset}/{name}/`. The platform does the
rest once for every recipe: the store side (`core/stage_run.py`: claims, the reuse check, atomic writes, the publish
bookkeeping) and the Dagster side (`lib/stage_assets.py`: partitions, lineage, LLM usage, metadata, asset checks).

`installed.py` lists the recipes the platform runs and `registry.py` finds them by name; nothing outside a recipe's
package names it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from synth_assets.core.pending_stages import stage_prefix
from synth_assets.core.store import DirWriter, Store
from synth_assets.recipes.hooks import DropSource, JobSpec, Poller

Rows = list[dict[str, Any]]
PUBLISHED = "published"


class Markdown(str):
    """Metadata text shown as markdown in the UI."""


class FilePath(str):
    """Metadata: a file or object URI shown as a path in the UI."""


class StageFailed(RuntimeError):
    """A stage whose result must not be stored (too many failed requests, a changed input, ...)."""


@dataclass
class StageRun:
    """What a stage function gets: the registration, the recipe's job and the platform's services."""

    recipe: "Recipe"
    stage: "Stage"
    record: dict[str, Any]
    job: Any
    store: Store
    log: Any
    resources: Mapping[str, Any]
    upstream: Rows | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    run_id: str = ""
    partition_key: str = ""
    lineage: Any = None
    chat: Callable[..., Any] | None = None  # metered LLM calls: chat(sampling, requests, **llm_overrides) -> responses
    metadata: dict[str, Any] = field(default_factory=dict)  # shown on the materialization
    extra_files: dict[str, bytes] = field(default_factory=dict)  # written beside the stage's data.jsonl
    failed_requests: int = 0
    total_requests: int = 0
    published_summary: dict[str, Any] | None = None  # the last stage: the summary of the folder being published, for its checks
    rebuilt: tuple[str, ...] = ()  # stages this run rebuilds (`synth regenerate`): read from their pending folders

    def stage_files(self, stage: str | None = None) -> str:
        """The key of a stage's files as this run sees them (a rebuilt stage: its pending folder, until the publish)."""
        name = stage or self.stage.name
        return self.store.files_key_of(stage_prefix(self.store, self.record, name, name in self.rebuilt))

    @property
    def dataset(self) -> str:
        return self.record["dataset"]

    @property
    def stage_fingerprint(self) -> str:
        return self.record["stages"][self.stage.name]

    def stage_key(self, stage: str | None = None) -> str:
        name = stage or self.stage.name
        return self.store.stage_key(self.dataset, name, self.record["stages"][name])


@dataclass(frozen=True)
class CheckResult:
    passed: bool
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Check:
    """A recipe-specific asset check on a stage's rows. `blocking` checks stop downstream stages."""

    name: str
    description: str
    evaluate: Callable[[StageRun, Rows], CheckResult]
    blocking: bool = False
    warn_only: bool = False


@dataclass(frozen=True)
class Published:
    """What a recipe's publish wrote: the key (relative to the experiment folder) of its main data file,
    row counts per file, and a summary kept in `experiment_metadata.json`."""

    data_file: str
    rows: dict[str, int]
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Stage:
    """One stage of a recipe: a partitioned asset `{recipe}/{asset}`."""

    name: str  # the stage's name in fingerprints and in the store (`_stages/{dataset}/{name}/{fp}`)
    asset: str  # the asset name shown in Dagster
    description: str
    run: Callable[[StageRun], Rows | None]  # None (only where `waits`): nothing to store yet
    reads_upstream: bool = True  # receives the previous stage's rows
    waits: bool = False  # may end without output, waiting on outside work (then it has no asset checks)
    resources: tuple[str, ...] = ()
    required_fields: Callable[[Any], list[str]] | None = None
    checks: tuple[Check, ...] = ()
    metadata: Callable[[StageRun, Rows], dict[str, Any]] | None = None  # shown on every materialization, reused or not
    max_failure_rate: Callable[[Any], float] = lambda job: 0.0


@dataclass(frozen=True)
class Recipe:
    """A pipeline: its stages, how a registration becomes a job, and how the last stage publishes."""

    name: str
    description: str
    stages: tuple[Stage, ...]
    load: Callable[[dict[str, Any], Store], Any]  # registration -> the recipe's job (checks its inputs are unchanged)
    publish: Callable[[StageRun, Rows, DirWriter], Published] | None = None  # writes the `published` stage's files
    dimension: str = "dataset"  # what the first partition dimension names (a dataset, a collection, a drop)
    readme_lines: Callable[[dict[str, Any], dict[str, Any]], list[str]] = lambda record, summary: []
    # recipes that run experiment configs over catalog datasets (rephrase, stories):
    check_entry: Callable[[Any], None] | None = None  # CatalogEntry -> raise ValueError if the recipe cannot use it
    check_experiment: Callable[[Any, str, dict], None] = lambda exp, path, lines: None  # raise ConfigError (file:line)
    # (raw config dict, catalog entry, the config's folder) -> the raw config with the recipe's defaults for absent keys
    complete_config: Callable[[dict, Any, Any], dict] = lambda raw, entry, folder: raw
    fingerprints: Callable[[Any], Any] | None = None  # Experiment -> Fingerprints
    # hooks for the other layers, all optional and free of Dagster (`hooks.py`; `defs`, `cli`, `export` and
    # `io_managers` find them here and never name a recipe):
    cli: str | None = None  # "module:attribute" of a typer app whose commands and groups `synth` mounts (imported by the CLI only)
    resources: Mapping[str, Callable[[str], Any]] = field(default_factory=dict)  # name -> store root -> a resource its stages use
    drop_sources: tuple[DropSource, ...] = ()  # folders / S3 prefixes watched by a sensor: each drop is registered and run
    jobs: tuple[JobSpec, ...] = ()  # jobs over some of its stages
    pollers: tuple[Poller, ...] = ()  # outside work polled by a sensor that requests runs of one of `jobs`
    export_configs: Callable[[dict[str, Rows]], dict[str, dict[str, Rows]]] | None = None  # split -> rows as export configs
    export_sources: Callable[[dict[str, Any], str], list[dict[str, str]]] | None = None  # (record, root) -> sources, licences
    preview: Callable[[Rows, int], str | None] | None = None  # markdown of the first rows when they carry its provenance
    validators: Callable[[Any], list[Any]] | None = None  # job -> its validator specs, resolved (`synth calibrate`)
    review_slots: Callable[[Store, dict[str, Any]], list[Any]] | None = None  # (store, record) -> its rewrites to review
    evaluated: bool = False  # its published experiments get an `evaluation` asset (the training effect, `evaluation:` in a config)
    config_model: type | None = None  # its experiment config: a subclass of core.config.ExperimentConfig

    def __post_init__(self) -> None:
        if self.publish is not None and self.stages[-1].name != PUBLISHED:
            raise ValueError(f"recipe {self.name}: a recipe that publishes ends with a {PUBLISHED!r} stage")
        if self.check_entry is not None and self.config_model is None:
            raise ValueError(f"recipe {self.name}: a recipe over catalog datasets names its experiment config (config_model)")

    def publishes(self, stage: Stage) -> bool:
        return self.publish is not None and stage.name == PUBLISHED

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)

    def upstream_of(self, name: str) -> Stage | None:
        index = [s.name for s in self.stages].index(name)
        return self.stages[index - 1] if index and self.stages[index].reads_upstream else None
