"""Label maps: judge scores and verdicts -> classes (default: 1-2 bad, 3 acceptable, 4-5 good)."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_LABEL_MAP: dict[Any, str] = {1: "bad", 2: "bad", 3: "acceptable", 4: "good", 5: "good"}


@dataclass(frozen=True)
class LabelMap:
    scores: dict[int, str]
    verdicts: dict[str, str]  # lower-cased verdict -> class
    classes: list[str]

    def scores_of(self, label: str) -> list[int]:
        return sorted(s for s, c in self.scores.items() if c == label)


def _norm_verdict(text: str) -> str:
    return " ".join(text.lower().replace("_", " ").replace("-", " ").split())


def resolve_label_map(label_map: Mapping[Any, str] | LabelMap | None = None) -> LabelMap:
    """Normalize a label map.

    Keys are scores (ints, digit strings, or ranges like "1-2", handy in YAML) or verdict labels
    (any other string); values are classes. Every class name is also accepted as its own verdict.
    """
    if isinstance(label_map, LabelMap):
        return label_map
    raw = dict(DEFAULT_LABEL_MAP if label_map is None else label_map)
    if not raw:
        raise ValueError("label map is empty")
    scores: dict[int, str] = {}
    verdicts: dict[str, str] = {}
    classes: list[str] = []
    for key, cls in raw.items():
        if not isinstance(cls, str) or not cls.strip():
            raise ValueError(f"label map: class for {key!r} must be a non-empty string, got {cls!r}")
        cls = cls.strip()
        if cls not in classes:
            classes.append(cls)
        if isinstance(key, bool):
            raise ValueError(f"label map: invalid key {key!r}")
        if isinstance(key, int):
            scores[key] = cls
            continue
        key_s = str(key).strip()
        m = re.fullmatch(r"(-?\d+)\s*(?:-|\.\.)\s*(-?\d+)", key_s)
        if re.fullmatch(r"-?\d+", key_s):
            scores[int(key_s)] = cls
        elif m:
            lo, hi = int(m.group(1)), int(m.group(2))
            if lo > hi:
                raise ValueError(f"label map: empty score range {key_s!r}")
            for s in range(lo, hi + 1):
                scores[s] = cls
        elif key_s:
            verdicts[_norm_verdict(key_s)] = cls
        else:
            raise ValueError("label map: empty key")
    for cls in classes:
        verdicts.setdefault(_norm_verdict(cls), cls)
    # classes ordered by their lowest score (bad < acceptable < good), verdict-only classes last
    order = {c: min((s for s, k in scores.items() if k == c), default=math.inf) for c in classes}
    classes.sort(key=lambda c: order[c])
    return LabelMap(scores=scores, verdicts=verdicts, classes=classes)
