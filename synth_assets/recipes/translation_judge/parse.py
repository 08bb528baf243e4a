"""Parsing a judge drop: Amazon Bedrock batch-inference output (`*.jsonl.out`), one JSON object per
line with `recordId`, `modelInput` (the request sent to the judge) and `modelOutput` (its response).

The judge prompt carries the example in tagged sections::

    <model>mt-large-v2</model>
    <source>The meeting was moved to Thursday.</source>
    <translation>Die Besprechung wurde auf Donnerstag verschoben.</translation>

and the judge answers with reasoning plus a 1-5 score and/or a verdict label::

    <reasoning>Accurate and fluent.</reasoning>
    <score>5</score>                      or     Verdict: good

Every broken line goes to quarantine with its 1-based line number and a reason; the rest become
`JudgeExample`s.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from synth_assets.recipes.translation_judge.labels import LabelMap, _norm_verdict, resolve_label_map

SOURCE_TAGS = ("source", "source_text", "original")
TRANSLATION_TAGS = ("translation", "translated_text", "hypothesis")
MODEL_TAGS = ("model", "translation_model", "mt_model", "system")
REASONING_TAGS = ("reasoning", "analysis", "explanation", "rationale")
SCORE_TAGS = ("score", "rating")
VERDICT_TAGS = ("verdict", "label", "class", "judgement", "judgment")

RAW_LIMIT = 20_000  # characters of a quarantined line kept in its record
TRAINING_FIELDS = ["record_id", "source", "translation", "model", "label", "score", "reasoning", "synthetic"]  # a published row


@dataclass
class JudgeExample:
    record_id: str
    source: str
    translation: str
    model: str | None
    label: str
    score: int | None
    reasoning: str
    synthetic: bool = False
    line: int | None = None


@dataclass
class ProcessResult:
    examples: list[JudgeExample] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)  # {file, line, reason, raw}
    classes: list[str] = field(default_factory=list)  # every class of the label map, in order

    @property
    def counts(self) -> dict[str, int]:
        """Examples per class; every class of the label map is present (0 when none)."""
        counts = {c: 0 for c in self.classes}
        for ex in self.examples:
            counts[ex.label] = counts.get(ex.label, 0) + 1
        return counts


def _tag_pattern(names: Iterable[str]) -> re.Pattern[str]:
    alt = "|".join(re.escape(n) for n in names)
    # innermost pair: the content may not contain another opening tag of the same name, so an
    # instruction that mentions "<source>" before the real section does not swallow it.
    return re.compile(
        rf"<\s*(?P<tag>{alt})(?:\s[^<>]*)?>(?P<body>(?:(?!<\s*(?P=tag)[\s>]).)*?)<\s*/\s*(?P=tag)\s*>",
        re.IGNORECASE | re.DOTALL,
    )


_PATTERNS: dict[tuple[str, ...], re.Pattern[str]] = {}


def _tags(text: str, names: tuple[str, ...]) -> list[str]:
    pattern = _PATTERNS.get(names)
    if pattern is None:
        pattern = _PATTERNS[names] = _tag_pattern(names)
    return [m.group("body").strip() for m in pattern.finditer(text)]


def _tag(text: str, names: tuple[str, ...], *, last: bool = False) -> str | None:
    """Content of the first (or last) complete, non-empty `<name>...</name>` section."""
    found = [t for t in _tags(text, names) if t]
    if not found:
        return None
    return found[-1] if last else found[0]


def _content_text(content: Any) -> str:
    """Text of a message `content`: a plain string or a list of blocks ({"type": "text", "text"} or {"text"})."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        content = [content]
    if isinstance(content, list):
        parts = []
        for block in content:
            if isinstance(block, str):
                parts.append(block)
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                if block.get("type", "text") == "text":
                    parts.append(block["text"])
        return "\n".join(parts)
    return ""


def input_text(model_input: Any) -> str:
    """The prompt text of a judge request: system + user message texts (Anthropic/Converse/OpenAI
    `messages`), or a legacy `prompt`/`inputText` string."""
    if isinstance(model_input, str):
        return model_input
    if not isinstance(model_input, dict):
        return ""
    parts: list[str] = []
    system = model_input.get("system")
    if system:
        parts.append(_content_text(system))
    for message in model_input.get("messages") or []:
        if isinstance(message, dict) and message.get("role", "user") in ("user", "system"):
            parts.append(_content_text(message.get("content")))
    for key in ("prompt", "inputText"):
        if isinstance(model_input.get(key), str):
            parts.append(model_input[key])
    return "\n".join(p for p in parts if p)


def output_text(model_output: Any) -> str:
    """The answer text of a judge response: Anthropic `content`, legacy `completion`, Converse/Nova
    `output.message.content`, OpenAI `choices`, Llama `generation`, Titan `results`."""
    if isinstance(model_output, str):
        return model_output
    if not isinstance(model_output, dict):
        return ""
    if "content" in model_output:
        return _content_text(model_output["content"])
    if isinstance(model_output.get("completion"), str):
        return model_output["completion"]
    if isinstance(model_output.get("generation"), str):
        return model_output["generation"]
    message = (model_output.get("output") or {}).get("message") if isinstance(model_output.get("output"), dict) else None
    if isinstance(message, dict):
        return _content_text(message.get("content"))
    choices = model_output.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], dict):
        msg = choices[0].get("message") or {}
        return _content_text(msg.get("content")) if isinstance(msg, dict) else str(choices[0].get("text") or "")
    results = model_output.get("results")
    if isinstance(results, list) and results and isinstance(results[0], dict):
        return str(results[0].get("outputText") or "")
    return ""


_SCORE_LINE = re.compile(
    r"^[\s>*_#`-]*(?:final\s+)?(?:score|rating)[\s*_`]*[:=][\s*_`]*(?P<value>[^\n]*)$", re.IGNORECASE | re.MULTILINE
)
_VERDICT_LINE = re.compile(
    r"^[\s>*_#`-]*(?:final\s+)?(?:verdict|label|class(?:ification)?|judge?ment)[\s*_`]*[:=][\s*_`]*(?P<value>[^\n]*)$",
    re.IGNORECASE | re.MULTILINE,
)


class _Unparseable(ValueError):
    """A line that cannot become an example; the message is the quarantine reason."""


def _parse_score(value: str) -> int:
    v = value.strip().strip("*_`\"' ")
    m = re.match(r"^(-?\d+(?:\.\d+)?)\s*(?:/\s*\d+|out of \d+)?(?=$|[\s.,;)])", v, re.IGNORECASE)
    if not m or float(m.group(1)) != int(float(m.group(1))):
        raise _Unparseable(f"unparseable score {v[:40]!r}")
    return int(float(m.group(1)))


def _verdict_candidates(value: str) -> list[str]:
    v = value.strip().strip("*_`\"'[]() ")
    phrase = re.split(r"[.,;:!?()\u2014\u2013]|\s-\s|\*\*", v, maxsplit=1)[0].strip().strip("*_`\"' ")
    first = phrase.split()[0] if phrase.split() else ""
    return [c for c in dict.fromkeys((phrase, first)) if c]


def _judgement(text: str, labels: LabelMap) -> tuple[str, int | None, str]:
    """(class, score, reasoning) from a judge answer, or raise _Unparseable."""
    score_raw = _tag(text, SCORE_TAGS, last=True)
    if score_raw is None:
        lines = [m.group("value") for m in _SCORE_LINE.finditer(text) if m.group("value").strip()]
        score_raw = lines[-1] if lines else None
    verdict_raw = _tag(text, VERDICT_TAGS, last=True)
    if verdict_raw is None:
        lines = [m.group("value") for m in _VERDICT_LINE.finditer(text) if m.group("value").strip()]
        verdict_raw = lines[-1] if lines else None
    if score_raw is None and verdict_raw is None:
        raise _Unparseable("no score or verdict in modelOutput")

    score: int | None = None
    score_class: str | None = None
    if score_raw is not None:
        score = _parse_score(score_raw)
        if score not in labels.scores:
            raise _Unparseable(f"score {score} not in label map {sorted(labels.scores)}")
        score_class = labels.scores[score]

    verdict_class: str | None = None
    if verdict_raw is not None:
        candidates = _verdict_candidates(verdict_raw)
        for cand in candidates:
            if _norm_verdict(cand) in labels.verdicts:
                verdict_class = labels.verdicts[_norm_verdict(cand)]
                break
        else:
            raise _Unparseable(f"unknown label '{candidates[0] if candidates else verdict_raw.strip()}'")

    if score_class and verdict_class and score_class != verdict_class:
        raise _Unparseable(f"score {score} ({score_class}) disagrees with verdict '{verdict_class}'")
    label = score_class or verdict_class
    assert label is not None

    reasoning = _tag(text, REASONING_TAGS, last=True)
    if reasoning is None:
        rest = _tag_pattern(SCORE_TAGS + VERDICT_TAGS).sub("", text)
        rest = _SCORE_LINE.sub("", _VERDICT_LINE.sub("", rest))
        reasoning = re.sub(r"^\s*(?:reasoning|analysis|explanation)\s*:\s*", "", rest.strip(), flags=re.IGNORECASE)
    return label, score, reasoning.strip()


def _parse_line(obj: dict[str, Any], labels: LabelMap, line_no: int) -> JudgeExample:
    record_id = obj.get("recordId")
    if record_id is None or (isinstance(record_id, str) and not record_id.strip()):
        raise _Unparseable("missing recordId")
    if not isinstance(record_id, (str, int)):
        raise _Unparseable(f"recordId is not a string: {record_id!r}"[:120])
    if obj.get("modelInput") in (None, {}, ""):
        raise _Unparseable("missing modelInput")
    if obj.get("modelOutput") in (None, {}, ""):
        error = obj.get("error")
        if error:
            message = error.get("errorMessage") or error.get("message") or error if isinstance(error, dict) else error
            code = error.get("errorCode") if isinstance(error, dict) else None
            raise _Unparseable(f"judge error{f' {code}' if code is not None else ''}: {message}"[:300])
        raise _Unparseable("missing modelOutput")

    prompt = input_text(obj["modelInput"])
    source = _tag(prompt, SOURCE_TAGS)
    if source is None:
        raise _Unparseable("no <source> section in modelInput")
    translation = _tag(prompt, TRANSLATION_TAGS)
    if translation is None:
        raise _Unparseable("no <translation> section in modelInput")
    model = _tag(prompt, MODEL_TAGS)

    answer = output_text(obj["modelOutput"])
    if not answer.strip():
        raise _Unparseable("empty modelOutput text")
    try:
        label, score, reasoning = _judgement(answer, labels)
    except _Unparseable as exc:
        stop = obj["modelOutput"].get("stop_reason") if isinstance(obj["modelOutput"], dict) else None
        if stop in ("max_tokens", "length") and str(exc).startswith("no score"):
            raise _Unparseable(f"{exc} (stop_reason {stop}: answer truncated)") from None
        raise
    return JudgeExample(
        record_id=str(record_id),
        source=source,
        translation=translation,
        model=model,
        label=label,
        score=score,
        reasoning=reasoning,
        synthetic=False,
        line=line_no,
    )


def parse_drop(lines: Iterable[str], *, file: str, label_map: Mapping[Any, str] | None = None) -> ProcessResult:
    """Parse one Bedrock batch-output file. Broken lines go to quarantine ({file, line, reason, raw},
    line 1-based); blank lines are skipped. Raises ValueError when the file holds no line at all
    ("... is empty") or when no line has the Bedrock shape ("unknown format")."""
    labels = resolve_label_map(label_map)
    result = ProcessResult(classes=list(labels.classes))
    seen: dict[str, int] = {}
    non_blank = 0
    bedrock_shaped = 0
    for line_no, raw in enumerate(lines, start=1):
        text = raw.rstrip("\r\n")
        if not text.strip():
            continue
        non_blank += 1

        def quarantine(reason: str) -> None:
            result.quarantine.append({"file": file, "line": line_no, "reason": reason, "raw": text[:RAW_LIMIT]})

        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            quarantine(f"invalid JSON: {exc.msg} (column {exc.colno})")
            continue
        if not isinstance(obj, dict):
            quarantine(f"not a JSON object ({type(obj).__name__})")
            continue
        if "recordId" in obj:
            bedrock_shaped += 1
        try:
            example = _parse_line(obj, labels, line_no)
        except _Unparseable as exc:
            quarantine(str(exc))
            continue
        if example.record_id in seen:
            quarantine(f"duplicate recordId '{example.record_id}' (first on line {seen[example.record_id]})")
            continue
        seen[example.record_id] = line_no
        result.examples.append(example)
    if non_blank == 0:
        raise ValueError(f"{file} is empty")
    if bedrock_shaped == 0:
        raise ValueError(
            f"{file}: unknown format - no line has a recordId; expected Amazon Bedrock batch-inference "
            f"output (one JSON object per line with recordId, modelInput, modelOutput)"
        )
    return result


def read_drop(path: str | Path, *, label_map: Mapping[Any, str] | None = None) -> ProcessResult:
    """`parse_drop` on a local file, quarantine entries naming it by file name."""
    path = Path(path)
    with path.open(encoding="utf-8", errors="replace") as fh:
        return parse_drop(fh, file=path.name, label_map=label_map)


def to_training_record(ex: JudgeExample) -> dict[str, Any]:
    """The published training row (no line number)."""
    data = asdict(ex)
    return {k: data[k] for k in TRAINING_FIELDS}
