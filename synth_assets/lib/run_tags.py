"""Tagging a running run with the experiments it works on: `synth/batch` and `synth/fingerprint` (`core.run_tags`).

The CLI and the sensors set them when they launch a run; runs launched from the UI (asset backfills,
`__ASSET_JOB`) get them from the stage assets themselves, once the run's partitions are resolved:
the short fingerprints of its partitions and every batch that uses them (lineage `batches_using`).
The queue's concurrency limit counts runs by `synth/fingerprint` (deploy/dagster.yaml); a run tagged
while it runs is counted from then on.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from synth_assets.core.fingerprint import short
from synth_assets.core.lineage import Lineage
from synth_assets.core.run_tags import BATCH_TAG, FINGERPRINT_TAG


MAX_TAG_VALUE = 1000  # a run over many partitions lists them all up to here, then says how many are left out


def joined(values: list[str]) -> str:
    """`a,b,c`; past MAX_TAG_VALUE characters the rest is counted: `a,b,… (+7)`."""
    text = ",".join(values)
    if len(text) <= MAX_TAG_VALUE:
        return text
    kept: list[str] = []
    for value in values:
        if len(",".join([*kept, value])) > MAX_TAG_VALUE - 12:
            break
        kept.append(value)
    return ",".join(kept) + f",… (+{len(values) - len(kept)})"


def experiment_tags(records: Iterable[dict[str, Any]], lineage: Lineage) -> dict[str, str]:
    """The batch and fingerprint tags of a run over these registrations (batches in the order they took them up)."""
    fingerprints: list[str] = []
    batches: list[str] = []
    for record in records:
        fingerprints.append(short(record["fingerprint"]))
        using = [b["batch_id"] for b in lineage.batches_using(record["fingerprint"])] or [record["origin_batch"]]
        batches += [b for b in using if b not in batches]
    return {BATCH_TAG: joined(batches), FINGERPRINT_TAG: joined(sorted(set(fingerprints)))}


def tag_run(context: Any, records: list[dict[str, Any]], lineage: Lineage) -> dict[str, str]:
    """Add the tags the run does not have yet (a CLI run's own `synth/batch` is kept); return what was added."""
    present = context.run.tags
    missing = {k: v for k, v in experiment_tags(records, lineage).items() if k not in present}
    if missing:
        context.instance.add_run_tags(context.run.run_id, missing)
        context.log.info("run tagged " + ", ".join(f"{k}={v}" for k, v in missing.items()))
    return missing
