"""Partitions of every recipe: (dataset, experiment), both dynamic; keys, parsing, adding, backfills.

A recipe's assets are partitioned by two dynamic dimensions: `{recipe.dimension}` (the dataset,
collection or drop) and `fingerprint`, whose keys name the experiment: `{semantic_name}·{fp12}`
(e.g. `temp07_topp10_smollm2·7c6e249dfa17`), so partition lists, backfill pickers, runs and events
say which experiment they are. Keys of older instances (the bare 12-hex fingerprint) still resolve.
Dynamic partition sets are named `{recipe}_{dimension}` and `{recipe}_fingerprint`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from dagster import BackfillPolicy, DagsterInstance, DynamicPartitionsDefinition, MultiPartitionKey, MultiPartitionsDefinition

from synth_assets.core.fingerprint import short
from synth_assets.recipes.base import Recipe
from synth_assets.recipes.registry import get


FINGERPRINT = "fingerprint"
SEPARATOR = "·"

# Backfills run one partition per run. A partition is one experiment: its LLM calls take minutes,
# against seconds of run start-up, so packing partitions into one run saves little, while separate
# runs keep experiments isolated (one failure, retry or cancel touches one experiment) and map
# cleanly onto sparse (dataset, fingerprint) selections, which `single_run` splits anyway. Assets
# still handle runs that target several partitions (ranges), whatever the policy.
ONE_RUN_PER_PARTITION = BackfillPolicy.multi_run(max_partitions_per_run=1)


def set_name(recipe: str, dimension: str) -> str:
    return f"{recipe}_{dimension}"


def partitions_def(recipe: Recipe) -> MultiPartitionsDefinition:
    return MultiPartitionsDefinition({
        recipe.dimension: DynamicPartitionsDefinition(name=set_name(recipe.name, recipe.dimension)),
        FINGERPRINT: DynamicPartitionsDefinition(name=set_name(recipe.name, FINGERPRINT)),
    })


def experiment_key(record: dict[str, Any]) -> str:
    """The `fingerprint` dimension's key of a registration: `{semantic_name}·{fp12}`."""
    return f"{record['semantic_name']}{SEPARATOR}{short(record['fingerprint'])}"


def partition_key(record: dict[str, Any]) -> MultiPartitionKey:
    return MultiPartitionKey({get(record["recipe"]).dimension: record["dataset"], FINGERPRINT: experiment_key(record)})


def split_key(key: str | MultiPartitionKey) -> tuple[str, str]:
    """(dataset, experiment key) of a partition key (a `MultiPartitionKey` or its `a|b` string)."""
    dims = getattr(key, "keys_by_dimension", None)
    if dims:
        return next(v for d, v in dims.items() if d != FINGERPRINT), dims[FINGERPRINT]
    first, second = str(key).split("|")
    return first, second  # the other dimension sorts before `fingerprint` for every recipe


def parse_experiment_key(value: str) -> tuple[str | None, str]:
    """(semantic name or None, fingerprint prefix) of a `fingerprint` dimension key, new or old style."""
    if SEPARATOR in value:
        name, prefix = value.rsplit(SEPARATOR, 1)
        return name, prefix
    return None, value


def add_partitions(instance: DagsterInstance, records: Iterable[dict[str, Any]]) -> None:
    """Make every registration a partition of its recipe's assets."""
    wanted: dict[str, set[str]] = {}
    for record in records:
        recipe = get(record["recipe"])
        wanted.setdefault(set_name(recipe.name, recipe.dimension), set()).add(record["dataset"])
        wanted.setdefault(set_name(recipe.name, FINGERPRINT), set()).add(experiment_key(record))
    for name, keys in wanted.items():
        instance.add_dynamic_partitions(name, sorted(keys))  # keys it already has are skipped
