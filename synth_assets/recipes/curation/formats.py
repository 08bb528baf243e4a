"""Unified output formats.

SFT         {all_prompt_id, source_prompt_id, prompt, answer, metadata}
CoT         {all_prompt_id, source_prompt_id, prompt, thinking, answer, metadata}
preference  {all_prompt_id, source_prompt_id, prompt, chosen, rejected, metadata}

`metadata` = {"source": name, "original": <the source row>, ...notes}. A prompt (and a response)
that is a conversation stays a list of messages.

HelpSteer3 `overall_preference` (-3..3), the dataset's own definition: negative = response1 is
better, positive = response2 is better. So -3/-2/-1 -> chosen response1, rejected response2;
0 -> a tie (chosen and rejected empty, metadata.preference = "tie"); 1/2/3 -> chosen response2,
rejected response1. NOTE: an older internal note had the sign the other way round; it was wrong
(see the HelpSteer3 dataset card) and this module follows the dataset.

Arena style: winner model_a -> response1 chosen; model_b -> response2 chosen; tie / tie (bothbad)
-> empty chosen/rejected. OpenR1-Math style (several traces + correctness flags): a pair (first
correct trace, first incorrect trace) when both exist, else empty and metadata.preference =
"undecidable" with the reason (all correct / all incorrect).

CoT: a mapped `thinking` field is the reasoning; else `<think>...</think>` in the answer (or the
chosen OpenR1 trace) is split off; when reasoning and answer cannot be separated everything goes
to `thinking`, `answer` is empty and metadata.cot_split = "unseparated".
"""

from __future__ import annotations

import json
import re
from typing import Any

ARENA_WINS = {"model_a": "response1", "model_b": "response2", "a": "response1", "b": "response2"}
ARENA_TIES = {"tie", "tie (bothbad)", "both_bad", "bothbad", "tie_bothbad"}
_THINK = re.compile(r"^\s*<think>(.*?)</think>\s*(.*)$", re.S)


def parse_score(value: Any) -> int | None:
    """A HelpSteer3 overall_preference as an int in -3..3, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip()
        if not re.fullmatch(r"[-+]?\d+(\.0+)?", value):
            return None
        value = float(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value if isinstance(value, int) and -3 <= value <= 3 else None


def helpsteer3_pair(score: int, response1: Any, response2: Any) -> tuple[Any, Any, str]:
    """(chosen, rejected, preference) for a HelpSteer3 overall_preference score."""
    if score < 0:
        return response1, response2, "response1"
    if score > 0:
        return response2, response1, "response2"
    return "", "", "tie"


def _flags(value: Any) -> list[bool] | None:
    if not isinstance(value, list):
        return None
    out = []
    for v in value:
        if isinstance(v, bool):
            out.append(v)
        elif isinstance(v, str) and v.strip().lower() in ("true", "false"):
            out.append(v.strip().lower() == "true")
        elif v is None:
            out.append(False)
        else:
            return None
    return out


def style_problem(style: str, fields: dict[str, Any]) -> str | None:
    """Why a row cannot be read under its source's style (a malformed row), or None."""
    if style == "helpsteer3" and parse_score(fields.get("scores")) is None:
        return f"overall preference score {fields.get('scores')!r} is not an integer in -3..3"
    if style == "arena":
        winner = str(fields.get("winner", "")).strip().lower()
        if winner not in ARENA_WINS and winner not in ARENA_TIES:
            return f"winner {fields.get('winner')!r} is not model_a, model_b, tie or tie (bothbad)"
    if style == "openr1":
        traces, flags = fields.get("traces"), _flags(fields.get("correct"))
        if not isinstance(traces, list) or flags is None or len(traces) != len(flags):
            return "traces and correctness flags must be lists of the same length"
    return None


def split_thinking(text: str) -> tuple[str, str] | None:
    match = _THINK.match(text or "")
    return (match.group(1).strip(), match.group(2).strip()) if match else None


def _text(value: Any) -> Any:
    return "" if value is None else value if isinstance(value, (str, list)) else str(value)


def preference(style: str, f: dict[str, Any]) -> tuple[Any, Any, dict[str, Any]]:
    """(chosen, rejected, notes)."""
    if style == "helpsteer3":
        score = parse_score(f.get("scores"))
        chosen, rejected, winner = helpsteer3_pair(score, _text(f.get("response1")), _text(f.get("response2")))
        return chosen, rejected, {"preference": "tie" if winner == "tie" else "pair", "winner": winner, "overall_preference": score}
    if style == "arena":
        winner = str(f.get("winner", "")).strip().lower()
        if winner in ARENA_TIES:
            return "", "", {"preference": "tie", "winner": winner}
        better = ARENA_WINS[winner]
        worse = "response2" if better == "response1" else "response1"
        return _text(f.get(better)), _text(f.get(worse)), {"preference": "pair", "winner": better}
    if style == "openr1":
        traces, flags = f.get("traces") or [], _flags(f.get("correct")) or []
        good = [t for t, ok in zip(traces, flags) if ok]
        bad = [t for t, ok in zip(traces, flags) if not ok]
        if good and bad:
            return _text(good[0]), _text(bad[0]), {"preference": "pair", "correct_traces": len(good), "incorrect_traces": len(bad)}
        reason = "no traces" if not traces else "all traces correct" if good else "all traces incorrect"
        return "", "", {"preference": "undecidable", "reason": reason, "correct_traces": len(good), "incorrect_traces": len(bad)}
    chosen, rejected = f.get("chosen"), f.get("rejected")
    if chosen not in (None, "") and rejected not in (None, ""):
        return _text(chosen), _text(rejected), {"preference": "pair"}
    return "", "", {"preference": "undecidable", "reason": "source has no chosen/rejected"}


def best_answer(style: str, f: dict[str, Any]) -> Any:
    """The response an SFT row should learn: the answer field, else the preferred response / a correct trace."""
    if f.get("answer") not in (None, ""):
        return _text(f["answer"])
    if style in ("helpsteer3", "arena", "openr1") or f.get("chosen"):
        chosen, _, notes = preference(style, f)
        if chosen not in (None, ""):
            return chosen
        if style == "openr1" and f.get("traces"):
            return _text(f["traces"][0])
    return _text(f.get("solution"))


def cot(style: str, f: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    if f.get("thinking") not in (None, ""):
        return str(f["thinking"]), str(_text(f.get("answer"))), {"cot_split": "fields"}
    if style == "openr1" and f.get("traces"):
        flags = _flags(f.get("correct")) or []
        correct = [t for t, ok in zip(f["traces"], flags) if ok]
        text = str(correct[0] if correct else f["traces"][0])
    else:
        text = best_answer(style, f)
        text = text if isinstance(text, str) else json.dumps(text, ensure_ascii=False)
    parts = split_thinking(text)
    if parts is not None:
        return parts[0], parts[1], {"cot_split": "think_tags"}
    return text, "", {"cot_split": "unseparated", "note": "the source does not separate reasoning from the answer: all of it is in thinking"}


def style_of(row: dict[str, Any], styles: dict[str, str]) -> str:
    return styles.get(row["source"], "plain")


def format_row(row: dict[str, Any], fmt: str, style: str) -> dict[str, Any]:
    f = row.get("_fields") or {}
    meta: dict[str, Any] = {"source": row["source"], "original": json.loads(row["metadata"])}
    out: dict[str, Any] = {"all_prompt_id": row["all_prompt_id"], "source_prompt_id": row["source_prompt_id"], "prompt": row["prompt"]}
    if fmt == "sft":
        out["answer"] = best_answer(style, f)
    elif fmt == "cot":
        thinking, answer, notes = cot(style, f)
        out["thinking"], out["answer"] = thinking, answer
        meta.update(notes)
    elif fmt == "preference":
        chosen, rejected, notes = preference(style, f)
        out["chosen"], out["rejected"] = chosen, rejected
        meta.update(notes)
    else:
        raise ValueError(f"unknown format {fmt!r}")
    out["metadata"] = meta
    return out


def format_rows(rows: list[dict[str, Any]], fmt: str, styles: dict[str, str]) -> list[dict[str, Any]]:
    return [format_row(r, fmt, style_of(r, styles)) for r in rows]


REQUIRED = {
    "sft": ["all_prompt_id", "source_prompt_id", "prompt", "answer", "metadata"],
    "cot": ["all_prompt_id", "source_prompt_id", "prompt", "thinking", "answer", "metadata"],
    "preference": ["all_prompt_id", "source_prompt_id", "prompt", "chosen", "rejected", "metadata"],
}
