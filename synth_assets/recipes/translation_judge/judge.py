"""Translation judge: turn LLM-as-a-judge batch outputs into a balanced, split training set.

Input is a drop of Amazon Bedrock batch-inference output files (`*.jsonl.out`): one JSON object per
line with `recordId`, `modelInput` (the request sent to the judge) and `modelOutput` (its response).
The judge prompt carries the example in tagged sections::

    <model>mt-large-v2</model>
    <source>The meeting was moved to Thursday.</source>
    <translation>Die Besprechung wurde auf Donnerstag verschoben.</translation>

and the judge answers with reasoning plus a 1-5 score and/or a verdict label::

    <reasoning>Accurate and fluent.</reasoning>
    <score>5</score>                      or     Verdict: good

Scores and verdicts are mapped to classes by a configurable label map (default: 1-2 bad,
3 acceptable, 4-5 good; verdicts are the class names, matched case-insensitively).

Steps, all plain Python (the Dagster assets and S3 access live elsewhere):

* `parse_drop` - parse one file; every broken line goes to quarantine with its 1-based line number
  and a reason, the rest become `JudgeExample`s.
* `minority_deficits` - how many examples each under-represented class is short of `min_samples`.
* `synthesis_requests` / `parse_synthetic` - k-shot chat requests (few-shot examples drawn from
  the target class only) asking an LLM for new examples of that class, and the parser of its answers.
* `stratified_split` - deterministic, class-stratified train/test split.
* `expected_duration` - how long a batch of `rows` requests takes at `rpm` requests per minute.
* `to_training_record` - the published row.
* `make_sample_drop` - a synthetic drop in the same format, for tests and the example in
  `examples/translation_judge/`.
"""

from __future__ import annotations

import json
import math
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

DEFAULT_LABEL_MAP: dict[Any, str] = {1: "bad", 2: "bad", 3: "acceptable", 4: "good", 5: "good"}

SOURCE_TAGS = ("source", "source_text", "original")
TRANSLATION_TAGS = ("translation", "translated_text", "hypothesis")
MODEL_TAGS = ("model", "translation_model", "mt_model", "system")
REASONING_TAGS = ("reasoning", "analysis", "explanation", "rationale")
SCORE_TAGS = ("score", "rating")
VERDICT_TAGS = ("verdict", "label", "class", "judgement", "judgment")

RAW_LIMIT = 20_000  # characters of a quarantined line kept in its record


# ---------------------------------------------------------------------------------------------
# data types


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


# ---------------------------------------------------------------------------------------------
# label map


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


# ---------------------------------------------------------------------------------------------
# tag and text helpers


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


# ---------------------------------------------------------------------------------------------
# parsing a drop


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


# ---------------------------------------------------------------------------------------------
# balancing: deficits, synthesis requests, synthetic answers


def minority_deficits(counts: Mapping[str, int], min_samples: int = 100) -> dict[str, int]:
    """Class -> how many examples to synthesize so that it reaches `min_samples` (classes already
    at or above it are left out)."""
    if min_samples < 0:
        raise ValueError(f"min_samples must be >= 0, got {min_samples}")
    return {label: min_samples - n for label, n in counts.items() if n < min_samples}


SYNTHESIS_SYSTEM = (
    "You write evaluation data for a machine-translation quality judge. "
    "You follow the requested output format exactly and write nothing else."
)


def _format_example(ex: JudgeExample) -> str:
    score = ex.score if ex.score is not None else ""
    return (
        f"<source>{ex.source}</source>\n"
        f"<translation>{ex.translation}</translation>\n"
        f"<model>{ex.model or 'unknown'}</model>\n"
        f"<reasoning>{ex.reasoning}</reasoning>\n"
        f"<score>{score}</score>"
    )


def _score_phrase(scores: list[int]) -> str:
    if not scores:
        return ""
    if len(scores) == 1:
        return str(scores[0])
    return ", ".join(str(s) for s in scores[:-1]) + f" or {scores[-1]}"


def synthesis_prompt(label: str, shots: list[JudgeExample], *, scores: list[int], models: list[str]) -> str:
    allowed = _score_phrase(scores)
    lines = [f'You will write one new example of a machine translation that a careful judge rates as "{label}".']
    if shots:
        lines.append(
            f'Here are {len(shots)} real examples of the "{label}" class, each with the source text, the machine '
            "translation, the translation system that produced it, the judge's reasoning and the judge's score:"
        )
        for i, ex in enumerate(shots, start=1):
            lines.append(f'<example index="{i}">\n{_format_example(ex)}\n</example>')
    else:
        lines.append(f'No examples of the "{label}" class are available.')
    lines.append(
        "Write a NEW example of the same class: a different source text (same source and target languages "
        f'as the examples, similar length and domain), a translation whose quality truly deserves "{label}", '
        f"the judge's reasoning, and a score of {allowed}. Do not copy or lightly edit the examples."
    )
    if models:
        lines.append(f"Attribute the translation to one of these translation systems: {', '.join(models)}.")
    lines.append(
        "Answer with exactly these five tags, in this order, and nothing else:\n"
        "<source>the source text</source>\n"
        "<translation>the machine translation</translation>\n"
        "<model>the translation system</model>\n"
        "<reasoning>the judge's reasoning, one to three sentences</reasoning>\n"
        f"<score>{allowed}</score>"
    )
    return "\n\n".join(lines)


def synthesis_requests(
    examples: Iterable[JudgeExample],
    *,
    label: str,
    count: int,
    k_shot: int = 3,
    seed: int = 0,
    model: str | None = None,
    temperature: float = 0.8,
    max_tokens: int = 256,
    label_map: Mapping[Any, str] | None = None,
) -> list[dict[str, Any]]:
    """`count` chat requests (plain dicts: messages, model, temperature, max_tokens, seed - the
    keyword arguments of the LLM layer's ChatRequest) asking for new examples of `label`. Each draws
    its `k_shot` few-shot examples from that class only, deterministically from seed*100003+i."""
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    if k_shot < 0:
        raise ValueError(f"k_shot must be >= 0, got {k_shot}")
    labels = resolve_label_map(label_map)
    if label not in labels.classes:
        raise ValueError(f"unknown class {label!r}; classes: {labels.classes}")
    # that class only, one copy per (source, translation), scored examples preferred as shots
    pool = list({(ex.source, ex.translation): ex for ex in reversed(list(examples)) if ex.label == label}.values())[::-1]
    models = sorted({ex.model for ex in pool if ex.model})
    pool = [ex for ex in pool if ex.score is not None] or pool
    scores = labels.scores_of(label)
    requests = []
    for i in range(count):
        request_seed = seed * 100003 + i
        rng = random.Random(request_seed)
        shots = rng.sample(pool, min(k_shot, len(pool)))
        if scores:  # a verdict-only shot is shown with its class's middle score
            shots = [ex if ex.score is not None else replace(ex, score=scores[len(scores) // 2]) for ex in shots]
        prompt = synthesis_prompt(label, shots, scores=scores, models=models)
        requests.append(
            {
                "messages": [{"role": "system", "content": SYNTHESIS_SYSTEM}, {"role": "user", "content": prompt}],
                "model": model,
                "temperature": temperature,
                "max_tokens": max_tokens,
                "seed": request_seed,
            }
        )
    return requests


_PLACEHOLDERS = {"...", "…", "the source text", "the machine translation", "the translation system", "n"}


def parse_synthetic(
    text: str, *, label: str, index: int, label_map: Mapping[Any, str] | None = None
) -> JudgeExample | None:
    """A synthetic example from an LLM answer in the synthesis format, or None when a section is
    missing/empty/a placeholder, the score does not parse, or it maps to another class than `label`."""
    if not text or not text.strip():
        return None
    labels = resolve_label_map(label_map)
    fields = {}
    for name, tags in (
        ("source", SOURCE_TAGS[:1]),
        ("translation", TRANSLATION_TAGS[:1]),
        ("model", MODEL_TAGS[:1]),
        ("reasoning", REASONING_TAGS[:1]),
        ("score", SCORE_TAGS[:1]),
    ):
        value = _tag(text, tags)
        if value is None or value.lower() in _PLACEHOLDERS:
            return None
        fields[name] = value
    try:
        score = _parse_score(fields["score"])
    except _Unparseable:
        return None
    if labels.scores.get(score) != label:
        return None
    if fields["source"] == fields["translation"] and label != labels.classes[0]:
        return None  # an untranslated copy is not a credible non-bad example
    return JudgeExample(
        record_id=f"synthetic-{label}-{index}",
        source=fields["source"],
        translation=fields["translation"],
        model=fields["model"],
        label=label,
        score=score,
        reasoning=fields["reasoning"],
        synthetic=True,
        line=None,
    )


# ---------------------------------------------------------------------------------------------
# split, duration, published rows


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


def to_training_record(ex: JudgeExample) -> dict[str, Any]:
    """The published training row (no line number)."""
    data = asdict(ex)
    return {k: data[k] for k in ("record_id", "source", "translation", "model", "label", "score", "reasoning", "synthetic")}


# ---------------------------------------------------------------------------------------------
# sample drop generator (tests and examples/translation_judge)

SAMPLE_MODELS = ("mt-large-v2", "mt-small-v1", "mt-legacy")

# (English source, good German translation, acceptable translation, bad translation) - hand-written
SAMPLE_SENTENCES: tuple[tuple[str, str, str, str], ...] = (
    (
        "The meeting has been moved to Thursday afternoon.",
        "Die Besprechung wurde auf Donnerstagnachmittag verschoben.",
        "Das Treffen wurde zu Donnerstag Nachmittag bewegt.",
        "Die Besprechung hat Donnerstag gegessen.",
    ),
    (
        "Please keep your receipt in case you need to return the item.",
        "Bitte bewahren Sie Ihren Kassenbon auf, falls Sie den Artikel zurückgeben müssen.",
        "Bitte behalten Sie Ihre Quittung, wenn Sie den Artikel zurückgeben brauchen.",
        "Bitte Ihren Rezept halten Fall Artikel.",
    ),
    (
        "The train to Munich is delayed by about twenty minutes.",
        "Der Zug nach München hat etwa zwanzig Minuten Verspätung.",
        "Der Zug nach München ist um ungefähr zwanzig Minuten verzögert.",
        "Der Zug nach Berlin fährt pünktlich.",
    ),
    (
        "Our support team is available around the clock.",
        "Unser Support-Team ist rund um die Uhr erreichbar.",
        "Unser Unterstützungsteam ist um die Uhr herum verfügbar.",
        "Unser Team ist die Uhr.",
    ),
    (
        "She forgot her umbrella, so she got soaked on the way home.",
        "Sie hatte ihren Regenschirm vergessen und wurde auf dem Heimweg klatschnass.",
        "Sie vergaß ihren Regenschirm, also sie wurde nass auf dem Weg nach Hause.",
        "She forgot her umbrella, so she got soaked on the way home.",
    ),
    (
        "Update the app to the latest version before logging in.",
        "Aktualisieren Sie die App vor der Anmeldung auf die neueste Version.",
        "Updaten Sie die App zu der letzten Version bevor Einloggen.",
        "Löschen Sie die App nach der Anmeldung.",
    ),
    (
        "The museum is closed on public holidays.",
        "Das Museum ist an Feiertagen geschlossen.",
        "Das Museum ist an öffentlichen Feiertagen zu.",
        "Das Museum ist an Feiertagen geöffnet.",
    ),
    (
        "Add the flour slowly and stir until the dough is smooth.",
        "Das Mehl langsam hinzufügen und rühren, bis der Teig glatt ist.",
        "Fügen Sie das Mehl langsam hinzu und rühren bis der Teig ist glatt.",
        "Blume langsam addieren und Teig rühren glatt.",
    ),
    (
        "Your order will be shipped within two business days.",
        "Ihre Bestellung wird innerhalb von zwei Werktagen versandt.",
        "Ihre Bestellung wird in zwei Geschäftstagen geschifft.",
        "Ihre Bestellung wurde storniert.",
    ),
    (
        "He has been learning Japanese for three years.",
        "Er lernt seit drei Jahren Japanisch.",
        "Er hat Japanisch für drei Jahre gelernt.",
        "Er lernte drei Japaner.",
    ),
    (
        "Children under six travel free of charge.",
        "Kinder unter sechs Jahren fahren kostenlos.",
        "Kinder unter sechs reisen frei von Gebühr.",
        "Kinder über sechzig zahlen doppelt.",
    ),
    (
        "The report must be submitted by the end of the month.",
        "Der Bericht muss bis Ende des Monats eingereicht werden.",
        "Der Bericht muss bei dem Ende des Monats abgegeben sein.",
        "Der Bericht ist das Ende.",
    ),
)

SAMPLE_REASONING = {
    "good": (
        "The translation conveys the full meaning of the source and reads naturally in German.",
        "Accurate, fluent and idiomatic; terminology and register match the source.",
        "No omissions or additions; word order and word choice are natural.",
    ),
    "acceptable": (
        "The meaning is preserved, but the phrasing is literal and slightly unidiomatic.",
        "Understandable and mostly accurate, with awkward word order and a questionable word choice.",
        "Minor grammatical errors; a native speaker would phrase it differently, but nothing is lost.",
    ),
    "bad": (
        "The translation changes the meaning of the source.",
        "Key information is missing and the sentence is ungrammatical.",
        "The output is not a usable translation of the source text.",
    ),
}

SAMPLE_SCORES = {"good": (4, 5), "acceptable": (3,), "bad": (1, 2)}
SAMPLE_DISTRIBUTION = {"good": 40, "acceptable": 15, "bad": 5}
CORRUPTIONS = ("bad_json", "missing_model_output", "unknown_label")


def judge_prompt(source: str, translation: str, model: str, *, source_lang: str = "English", target_lang: str = "German") -> str:
    """The judge prompt layout the parser expects (tagged sections after the instructions)."""
    return (
        f"You are an expert {source_lang}-{target_lang} translator judging machine translation quality.\n"
        "Read the source text and its machine translation below, explain your assessment, then rate the "
        "translation from 1 (unusable) to 5 (perfect).\n\n"
        f"<model>{model}</model>\n"
        f"<source>{source}</source>\n"
        f"<translation>{translation}</translation>\n\n"
        "Answer in the form <reasoning>your reasoning</reasoning><score>1-5</score>."
    )


def _allocate(n: int, distribution: Mapping[str, float]) -> list[str]:
    """Exactly n labels in the given proportions (largest remainder)."""
    total = float(sum(distribution.values()))
    if total <= 0:
        raise ValueError("distribution must have a positive total")
    shares = {k: n * v / total for k, v in distribution.items()}
    counts = {k: int(math.floor(s)) for k, s in shares.items()}
    for k in sorted(shares, key=lambda k: (counts[k] - shares[k], list(shares).index(k)))[: n - sum(counts.values())]:
        counts[k] += 1
    return [k for k, c in counts.items() for _ in range(c)]


def make_sample_drop(
    n: int,
    *,
    corrupt_lines: Iterable[int] = (),
    seed: int = 0,
    distribution: Mapping[str, float] | None = None,
    models: tuple[str, ...] = SAMPLE_MODELS,
) -> list[str]:
    """`n` lines of Bedrock batch output for a translation judge (Anthropic messages format), valid
    lines split across classes in `distribution` proportions (default 40/15/5 good/acceptable/bad).
    Line numbers in `corrupt_lines` (1-based) are corrupted, cycling through: bad JSON, missing
    modelOutput, unknown label ('mediocre'). Deterministic for a seed; lines without newlines."""
    corrupt = sorted(set(corrupt_lines))
    if any(not 1 <= c <= n for c in corrupt):
        raise ValueError(f"corrupt_lines must be within 1..{n}, got {corrupt}")
    rng = random.Random(seed)
    labels = _allocate(n - len(corrupt), distribution or SAMPLE_DISTRIBUTION)
    rng.shuffle(labels)
    kinds = {line: CORRUPTIONS[i % len(CORRUPTIONS)] for i, line in enumerate(corrupt)}
    label_iter = iter(labels)
    out = []
    for line_no in range(1, n + 1):
        kind = kinds.get(line_no)
        label = "acceptable" if kind else next(label_iter)
        src, good, acceptable, bad = SAMPLE_SENTENCES[rng.randrange(len(SAMPLE_SENTENCES))]
        translation = {"good": good, "acceptable": acceptable, "bad": bad}.get(label, good)
        model = models[rng.randrange(len(models))]
        score = rng.choice(SAMPLE_SCORES.get(label, (3,)))
        reasoning = rng.choice(SAMPLE_REASONING.get(label, SAMPLE_REASONING["acceptable"]))
        prompt = judge_prompt(src, translation, model)
        content: Any = [{"type": "text", "text": prompt}] if line_no % 4 else prompt  # some plain-string contents
        if kind == "unknown_label":
            answer = f"{reasoning}\nVerdict: mediocre"
        elif line_no % 5 == 0:
            answer = f"{reasoning}\nVerdict: {label.capitalize()}"  # verdict-only answers
        else:
            answer = f"<reasoning>{reasoning}</reasoning>\n<score>{score}</score>"
        record = {
            "recordId": f"rec-{seed:04d}-{line_no:06d}",
            "modelInput": {
                "anthropic_version": "bedrock-2023-05-31",
                "max_tokens": 512,
                "messages": [{"role": "user", "content": content}],
            },
            "modelOutput": {
                "id": f"msg_{seed:04d}{line_no:06d}",
                "type": "message",
                "role": "assistant",
                "model": "judge-model",
                "content": [{"type": "text", "text": answer}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": {"input_tokens": 120 + len(prompt) // 4, "output_tokens": 20 + len(answer) // 4},
            },
        }
        if kind == "missing_model_output":
            del record["modelOutput"]
        line = json.dumps(record, ensure_ascii=False)
        if kind == "bad_json":
            line = line[: len(line) // 2]  # truncated mid-object
        out.append(line)
    return out
