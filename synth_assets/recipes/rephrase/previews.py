"""The story of each rewrite, as the metadata preview of the rephrase recipe's stages (its `preview` hook).

Rows carry rewrite provenance in `_synth.fields[field]` (`original`, `candidates`, `outcomes`, `chosen`, as the
generated and validated stages keep it): each field of the first rows is shown as original, rewrite and verdict.
"""

from __future__ import annotations

from typing import Any

from synth_assets.core.display import cell
from synth_assets.core.records import META

def has_rewrites(rows: list[dict[str, Any]] | None) -> bool:
    return bool(rows) and isinstance(rows[0].get(META), dict) and isinstance(rows[0][META].get("fields"), dict)


def _rejections(outcome: dict[str, Any] | None) -> str:
    if not outcome:
        return "not judged"
    failed = [v for v in outcome.get("verdicts", []) if not v.get("accepted")]
    return "; ".join(f"{v['validator']}: {v['reason']}" for v in failed) or "rejected"


def verdict(info: dict[str, Any]) -> tuple[str, str]:
    """(the rewrite shown, the verdict) of one field of one row."""
    candidates = info.get("candidates") or []
    outcomes = info.get("outcomes")
    of = f" of {len(candidates)}" if len(candidates) > 1 else ""
    chosen = info.get("chosen")
    if chosen is not None:
        judged = outcomes[chosen] if outcomes else None
        score = f", score {judged['score']:.2f}" if judged and isinstance(judged.get("score"), (int, float)) else ""
        return candidates[chosen]["text"], f"accepted (candidate {chosen + 1}{of}{score})"
    usable = [k for k, c in enumerate(candidates) if c.get("text") is not None]
    if not usable:
        errors = [c.get("error") for c in candidates if c.get("error")]
        return "", f"no rewrite: {errors[0] if errors else 'no candidate'}"
    if outcomes is None:
        return candidates[usable[0]]["text"], "not validated yet"
    judged = [k for k, o in enumerate(outcomes) if o]
    k = judged[-1] if judged else usable[0]
    return candidates[k]["text"], f"rejected{f' (all {len(candidates)})' if of else ''}, original kept: {_rejections(outcomes[k])}"


def rewrite_preview(rows: list[dict[str, Any]], limit: int) -> str:
    """Original vs rewrite and the verdict, per field of the first rows."""
    lines = ["| row | field | original | rewrite | verdict |", "|---|---|---|---|---|"]
    for index, row in enumerate(rows[:limit]):
        for field, info in row[META]["fields"].items():
            text, said = verdict(info)
            lines.append(f"| {row[META].get('row', index)} | {field} | {cell(info.get('original', ''))} | {cell(text or '')} | "
                         f"{cell(said, 120)} |")
    return "\n".join(lines)


def preview(rows: list[dict[str, Any]], limit: int) -> str | None:
    """The story of each rewrite when the rows carry it."""
    return rewrite_preview(rows, limit) if has_rewrites(rows) else None
