"""The run tags synth sets and reads: their names, the fingerprint tag's value, the stages a regenerate rebuilds.

The CLI, the sensors and the test drivers set them when they launch a run; the stage assets add those a run
launched from the UI lacks (`lib/run_tags.py`). The queue's concurrency limit counts runs by `synth/fingerprint`
(deploy/dagster.yaml), whose value is always the short fingerprint (12 characters: Kubernetes labels allow 63).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from synth_assets.core.fingerprint import short

BATCH_TAG = "synth/batch"  # every batch using the run's experiments
FINGERPRINT_TAG = "synth/fingerprint"  # the short fingerprints of the run's experiments
SOURCE_TAG = "synth/source"  # the config file a sensor launched the run for
BACKFILL_TAG = "synth/backfill"  # the id of a `synth backfill`
NO_CACHE_TAG = "synth/no_cache"  # "true": bypass the LLM request cache (synth regenerate)
REGENERATE_TAG = "synth/regenerate"  # stage names rebuilt copy-on-write instead of reused (synth regenerate)
PROGRESS_TAG = "synth/progress"  # "bar": rich progress bars instead of log lines (a person watches a terminal)
HOST_TAG, PID_TAG = "synth/host", "synth/pid"  # where an in-process run lives, so a dead one can be marked failed
OPENAI_BATCHES_TAG = "synth/batchapi_batches"  # the OpenAI Batch API batches a download run fetches


def registration_tags(batch_id: str, fingerprint: str) -> dict[str, str]:
    """The tags of a run launched for one registration of one batch."""
    return {BATCH_TAG: batch_id, FINGERPRINT_TAG: short(fingerprint)}


def regenerate_tags(stages: Iterable[str]) -> dict[str, str]:
    """A `synth regenerate` run: these stages rebuilt copy-on-write, no cached LLM answer."""
    return {NO_CACHE_TAG: "true", REGENERATE_TAG: ",".join(stages)}


def rebuilt_stages(tags: Mapping[str, str]) -> tuple[str, ...]:
    """The stages a run rebuilds (`synth regenerate`) instead of reusing them."""
    return tuple(s for s in tags.get(REGENERATE_TAG, "").split(",") if s)
