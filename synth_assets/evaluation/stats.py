"""Accuracy with a bootstrap 95 % interval, and the paired bootstrap of a difference over the same rows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

SEED = 0  # the resampling is seeded: the same predictions always give the same interval


@dataclass(frozen=True)
class Estimate:
    value: float
    low: float | None  # None: the evaluator gave no interval
    high: float | None
    n: int

    def to_dict(self) -> dict[str, float | int]:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n}


def _indices(n: int, resamples: int) -> np.ndarray:
    return np.random.default_rng(SEED).integers(0, n, size=(resamples, n))


def _interval(samples: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(samples, [2.5, 97.5])
    return float(low), float(high)


def bootstrap_mean(correct: list[float], resamples: int = 1000) -> Estimate:
    """The mean of per-row scores (1 correct / 0 wrong) with its percentile bootstrap 95 % interval."""
    scores = np.asarray(correct, dtype=float)
    if not len(scores):
        raise ValueError("no rows to score")
    means = scores[_indices(len(scores), resamples)].mean(axis=1)
    return Estimate(float(scores.mean()), *_interval(means), len(scores))


def paired_difference(correct: list[float], baseline: list[float], resamples: int = 1000) -> Estimate:
    """mean(correct) - mean(baseline) over the same rows, the rows resampled together (paired bootstrap)."""
    a, b = np.asarray(correct, dtype=float), np.asarray(baseline, dtype=float)
    if len(a) != len(b) or not len(a):
        raise ValueError(f"a paired difference needs the same rows on both sides ({len(a)} vs {len(b)})")
    diffs = a - b
    means = diffs[_indices(len(diffs), resamples)].mean(axis=1)
    return Estimate(float(diffs.mean()), *_interval(means), len(diffs))
