"""An experiment's records: the dataset rows its config selects, and a row without its provenance.

A dataset recipe keeps each row's provenance under `META` in its stage outputs (`{"row": index in the split, ...}`)
and drops it from the files it publishes; evaluation selects the same rows to score the original data.
"""

from __future__ import annotations

import random
from typing import Any

from synth_assets.core.config import Experiment

META = "_synth"  # per-row provenance kept in stage outputs, dropped from published training files


def select_records(exp: Experiment) -> list[dict[str, Any]]:
    """The split's records, limited for pilot runs: the first `limit`, or a seeded sample."""
    ds = exp.config.dataset
    rows = exp.entry.rows(ds.split)
    indices = list(range(len(rows)))
    if ds.limit is not None and ds.limit < len(rows):
        indices = sorted(random.Random(ds.seed).sample(indices, ds.limit)) if ds.sample == "random" else indices[: ds.limit]
    return [{**rows[i], META: {"row": i}} for i in indices]


def training_row(row: dict[str, Any]) -> dict[str, Any]:
    """A published record: the dataset's own schema, nothing else."""
    return {k: v for k, v in row.items() if k != META}
