"""Stratified train/test split of judge examples, and how long a synthesis takes at a rate limit."""

from __future__ import annotations

import math
import random
from collections.abc import Iterable

from synth_assets.recipes.translation_judge.parse import JudgeExample


def stratified_split(
    examples: Iterable[JudgeExample], *, test_ratio: float = 0.1, seed: int = 0
) -> tuple[list[JudgeExample], list[JudgeExample]]:
    """(train, test), stratified by class and deterministic for a seed. Per class, round(n*ratio)
    examples go to test, at least 1 when the class has >= 2 examples and test_ratio > 0, and never
    all of them. Both lists keep the input order."""
    if not (0.0 <= test_ratio < 1.0) or math.isnan(test_ratio):
        raise ValueError(f"test_ratio must be in [0, 1), got {test_ratio}")
    items = list(examples)
    by_class: dict[str, list[int]] = {}
    for i, ex in enumerate(items):
        by_class.setdefault(ex.label, []).append(i)
    test_idx: set[int] = set()
    for label in sorted(by_class):
        idx = by_class[label]
        n = len(idx)
        n_test = int(math.floor(n * test_ratio + 0.5))
        if test_ratio > 0 and n >= 2:
            n_test = max(1, n_test)
        n_test = min(n_test, n - 1) if n >= 1 else 0
        if n_test <= 0:
            continue
        test_idx.update(random.Random(f"{seed}:{label}").sample(idx, n_test))
    train = [ex for i, ex in enumerate(items) if i not in test_idx]
    test = [ex for i, ex in enumerate(items) if i in test_idx]
    return train, test


def format_duration(seconds: float) -> str:
    """'53h 27m', '12m 5s', '42s'; days are written as hours."""
    total = int(round(seconds))
    hours, rem = divmod(total, 3600)
    minutes, secs = divmod(rem, 60)
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def expected_duration(rows: int, rpm: int) -> tuple[float, str]:
    """(seconds, human text) to send `rows` requests at `rpm` requests per minute."""
    if rpm <= 0:
        raise ValueError(f"rpm must be > 0, got {rpm}")
    if rows < 0:
        raise ValueError(f"rows must be >= 0, got {rows}")
    seconds = rows / rpm * 60.0
    return seconds, format_duration(seconds)
