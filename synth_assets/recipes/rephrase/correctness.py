"""Rephrase: what an experiment's acceptance says about correctness, next to `rewrite_rate`.

- estimated_correct_rate (with its interval): rewrite_rate × the experiment's validators' precision on
  labelled pairs (`quality.validator_precision`, measured once per validator set and cached in the store);
  None where they cannot be measured inline (an LLM judge, the free-text judge, no validators).
- reviewed_n / reviewed_precision / reviewed_low / reviewed_high: labels people gave this experiment's
  current rewrites (`synth review`), matched by content hash.
"""

from __future__ import annotations

from typing import Any

from synth_assets.core.config import Experiment
from synth_assets.quality.validator_precision import cached_measure, estimated_correct
from synth_assets.recipes.base import StageRun
from synth_assets.recipes.rephrase.judging import resolved_validators
from synth_assets.quality.reviews import figures_for
from synth_assets.recipes.rephrase.reviewing import slots_of_rows


def validator_precision(store: Any, exp: Experiment) -> dict[str, Any]:
    v = exp.config.validation
    if v is None or v.validators is None:
        return {"why": "no validators to measure (validation.validators)"}
    return cached_measure(store, resolved_validators(exp))


def correctness_figures(run: StageRun, rows: list[dict[str, Any]], published: list[dict[str, Any]],
                        rewrite_rate: float) -> dict[str, Any]:
    """estimated_correct_* and validator_precision_* for the experiment, then its reviewed figures."""
    figures = estimated_correct(rewrite_rate, validator_precision(run.store, run.job))
    if run.lineage is not None:
        slots = slots_of_rows(run.record["fingerprint"], run.dataset, rows, published)
        figures.update(figures_for(run.lineage, run.record["fingerprint"], slots))
    return figures
