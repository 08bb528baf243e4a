"""What a recipe declares for the platform's other layers, as plain data and functions (no Dagster here).

`synth_assets.lib` turns drop sources into sensors (one builder, one cursor scheme for local folders and
S3 prefixes) and pollers into sensors, `defs/recipes` job specs into jobs; the `synth` CLI mounts a recipe's typer app.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# (drop URL, its bytes) -> the registrations it makes; a ValueError says what is wrong with the drop
RegisterDrop = Callable[[str, bytes], list[Any]]


@dataclass(frozen=True)
class DropSource:
    """A local folder or S3 prefix where files are dropped: each new or changed one is registered and run.

    A drop `register` refuses (ValueError) gets `NAME.error.txt` beside it; the marker goes once it is fixed.
    """

    sensor: str  # the sensor's name, as `synth sensors` and the UI show it
    description: str
    url: Callable[[str], str | None]  # store root URI -> the folder or `s3://` prefix watched (None: nothing to watch)
    suffixes: tuple[str, ...]  # the files that are drops (`.yaml`, `.jsonl.out`)
    # (store, lineage) -> the registering function for this tick (settings are read once per tick)
    registrar: Callable[[Any, Any], RegisterDrop]
    unwatched: str = "nothing to watch"  # the skip reason when `url` gives None
    interval_s: int = 60


@dataclass(frozen=True)
class JobSpec:
    """A job over some of the recipe's stages (besides the `{recipe}_job` over all of them)."""

    name: str
    stages: tuple[str, ...]
    description: str


@dataclass(frozen=True)
class PollRequest:
    """A run a poller asks for: the registration whose partition runs, a run key and tags."""

    record: dict[str, Any]
    run_key: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Poller:
    """Outside work the recipe waits on (open OpenAI batches, ...), polled by a sensor that requests runs of `job`."""

    sensor: str
    description: str
    job: str  # a JobSpec's name
    # (store, the recipe's resources by name, logger) -> (runs to request, what was found)
    poll: Callable[[Any, Mapping[str, Any], Any], tuple[list[PollRequest], str]]
    interval_s: int = 60
