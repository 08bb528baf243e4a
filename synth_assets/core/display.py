"""Numbers and text as the UI shows them: rounded (never `0.007308305000009341`), one-line table cells."""

from __future__ import annotations

import json
from typing import Any

CELL_WIDTH = 60


def rounded(value: Any) -> Any:
    """Floats to 4 significant digits below 1 (rates, small costs) and 2 decimals above; anything else as it is."""
    if not isinstance(value, float) or value != value:  # NaN stays NaN
        return value
    return round(value, 2) if abs(value) >= 1 else float(f"{value:.4g}")


def usd(value: float) -> str:
    """A dollar amount to the millionth, trailing zeros dropped: 0.007308, 12.5, 0."""
    return f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def cell(value: Any, width: int = CELL_WIDTH) -> str:
    """A markdown table cell: one line, pipes escaped, cut at `width` characters."""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= width else text[: width - 1] + "…"
