"""Building blocks for the "template + k-shot stories" recipe (bedtime stories for 3-year-olds).

Plain Python, no Dagster, no network and no LLM calls: the caller renders prompts with
:func:`build_story_prompts`, wraps them with :func:`story_messages`, sends them to a model,
and passes the generated texts back to :func:`validate_story` and :func:`story_record`.

Sample inputs (hand-made) live in ``synth_assets/catalog/stories/`` (see its README.md).
All input errors are :class:`StoriesInputError` (a ``ValueError``) and name the file, and
the line where one applies, as ``path:line: message``.
"""

from __future__ import annotations

import json
import math
import random
import re
import string
from pathlib import Path

from synth_assets.quality.text import contains_word, ends_mid_sentence

SAMPLE_DIR = Path(__file__).resolve().parents[2] / "catalog" / "stories"

WORD_PLACEHOLDERS = ("word1", "word2", "word3")
ALLOWED_PLACEHOLDERS = frozenset(WORD_PLACEHOLDERS + ("additional_condition", "max_words"))

_VOCAB_WORD_RE = re.compile(r"^[A-Za-z]+(?:['-][A-Za-z]+)*$")
_ROLE_RE = re.compile(r"^(user|assistant)[ \t]*:[ \t]?(.*)$", re.IGNORECASE)
_WORD_RE = re.compile(r"[A-Za-z0-9]+(?:['\u2019-][A-Za-z0-9]+)*")
_SENTENCE_SPLIT_RE = re.compile(r"[.!?]+")
_AI_BOILERPLATE_RE = re.compile(r"\bas an ai\b|\blanguage model\b", re.IGNORECASE)


class StoriesInputError(ValueError):
    """Bad recipe input (file content or argument)."""


# --------------------------------------------------------------------------- loaders


def load_vocabulary(path: str | Path) -> list[str]:
    """Read one word per line; blank lines and ``#`` comment lines are skipped.

    Words are single tokens of letters (inner ``'`` or ``-`` allowed), kept as written.
    A line with spaces or other characters, a case-insensitive duplicate, or a file with
    no words raises :class:`StoriesInputError` naming ``file:line``.
    """
    path = Path(path)
    words: list[str] = []
    seen: dict[str, int] = {}
    for lineno, raw in enumerate(_read_text(path).splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if not _VOCAB_WORD_RE.match(line):
            raise StoriesInputError(
                f"{path}:{lineno}: expected a single word (letters, inner ' or -), got {line!r}"
            )
        key = line.lower()
        if key in seen:
            raise StoriesInputError(
                f"{path}:{lineno}: duplicate word {line!r} (first on line {seen[key]})"
            )
        seen[key] = lineno
        words.append(line)
    if not words:
        raise StoriesInputError(f"{path}: vocabulary is empty (no words found)")
    return words


def load_features(path: str | Path) -> list[str]:
    """Read a JSON list of non-empty strings (the ``{additional_condition}`` choices)."""
    path = Path(path)
    try:
        data = json.loads(_read_text(path))
    except json.JSONDecodeError as exc:
        raise StoriesInputError(
            f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}"
        ) from None
    if not isinstance(data, list):
        raise StoriesInputError(
            f"{path}: expected a JSON list of strings, got {type(data).__name__}"
        )
    if not data:
        raise StoriesInputError(f"{path}: features list is empty")
    for i, item in enumerate(data):
        if not isinstance(item, str) or not item.strip():
            raise StoriesInputError(
                f"{path}: item [{i}] must be a non-empty string, got {item!r}"
            )
    return [item.strip() for item in data]


def load_template(path: str | Path) -> str:
    """Read a template file (trailing whitespace stripped) and check its placeholders."""
    path = Path(path)
    template = _read_text(path).strip()
    try:
        check_template(template)
    except StoriesInputError as exc:
        raise StoriesInputError(f"{path}: {exc}") from None
    return template


def parse_example_conversation(path: str | Path) -> list[dict]:
    """Parse a k-shot conversation file into ``[{"role", "content"}, ...]`` chat messages.

    Format: a turn starts with ``User:`` or ``Assistant:`` (case-insensitive) at the start
    of a line; its content is the rest of that line plus all following lines up to the next
    marker, with surrounding blank lines dropped (inner blank lines kept). Before the first
    marker only blank lines and ``#`` comments are allowed. Turns must alternate, start with
    User and end with Assistant; violations name ``file:line``.
    """
    path = Path(path)
    turns: list[tuple[str, int, list[str]]] = []  # (role, marker line, content lines)
    for lineno, raw in enumerate(_read_text(path).splitlines(), start=1):
        m = _ROLE_RE.match(raw)
        if m:
            role = m.group(1).lower()
            expected = "user" if not turns or turns[-1][0] == "assistant" else "assistant"
            if role != expected:
                raise StoriesInputError(
                    f"{path}:{lineno}: unbalanced turns: expected a {expected.capitalize()}: "
                    f"turn, got {role.capitalize()}:"
                )
            turns.append((role, lineno, [m.group(2)]))
        elif turns:
            turns[-1][2].append(raw)
        elif raw.strip() and not raw.lstrip().startswith("#"):
            raise StoriesInputError(
                f"{path}:{lineno}: content before the first 'User:'/'Assistant:' marker"
            )
    if not turns:
        raise StoriesInputError(f"{path}: no 'User:'/'Assistant:' turns found")
    messages = []
    for role, lineno, lines in turns:
        content = "\n".join(line.rstrip() for line in lines).strip()
        if not content:
            raise StoriesInputError(f"{path}:{lineno}: empty {role} turn")
        messages.append({"role": role, "content": content})
    if turns[-1][0] != "assistant":
        raise StoriesInputError(
            f"{path}:{turns[-1][1]}: unbalanced turns: last User: turn has no Assistant: reply"
        )
    return messages


# --------------------------------------------------------------------------- prompts


def check_template(template: str) -> set[str]:
    """Return the template's placeholder names; raise on unknown, positional or
    formatted placeholders, malformed braces, or a missing ``{word1..3}``."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise StoriesInputError(
            f"malformed template ({exc}); write literal braces as '{{{{' and '}}}}'"
        ) from None
    names: set[str] = set()
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in ALLOWED_PLACEHOLDERS:
            shown = "{" + field + "}" if field else "{} (positional)"
            raise StoriesInputError(
                f"unknown template placeholder {shown}; allowed: "
                + ", ".join("{" + n + "}" for n in sorted(ALLOWED_PLACEHOLDERS))
            )
        if spec or conversion:
            raise StoriesInputError(f"placeholder {{{field}}} must not use a format spec or conversion")
        names.add(field)
    missing = [n for n in WORD_PLACEHOLDERS if n not in names]
    if missing:
        raise StoriesInputError(
            "template is missing placeholder(s) " + ", ".join("{" + n + "}" for n in missing)
        )
    return names


def build_story_prompts(
    *,
    template: str,
    vocabulary: list[str],
    features: list[str],
    count: int,
    seed: int,
    max_words: int,
) -> list[dict]:
    """Render ``count`` prompts, deterministic for ``seed`` (``random.Random(seed)``).

    Each prompt draws three distinct words (case-insensitively distinct) and one feature.
    Returns ``[{"prompt_id": "p0000", "prompt", "selected_words", "additional_condition"}]``.
    """
    check_template(template)
    if isinstance(count, bool) or not isinstance(count, int) or count < 0:
        raise StoriesInputError(f"count must be an int >= 0, got {count!r}")
    if isinstance(max_words, bool) or not isinstance(max_words, int) or max_words < 1:
        raise StoriesInputError(f"max_words must be an int >= 1, got {max_words!r}")
    words = _unique_ci(w.strip() for w in vocabulary if w and w.strip())
    if len(words) < len(WORD_PLACEHOLDERS):
        raise StoriesInputError(
            f"vocabulary needs at least {len(WORD_PLACEHOLDERS)} distinct words, got {len(words)}"
        )
    conditions = [f.strip() for f in features if f and f.strip()]
    if not conditions:
        raise StoriesInputError("features must contain at least one non-empty condition")

    rng = random.Random(seed)
    prompts = []
    for i in range(count):
        selected = rng.sample(words, len(WORD_PLACEHOLDERS))
        condition = rng.choice(conditions)
        values = dict(zip(WORD_PLACEHOLDERS, selected))
        values.update(additional_condition=condition, max_words=max_words)
        prompts.append(
            {
                "prompt_id": f"p{i:04d}",
                "prompt": template.format(**values).strip(),
                "selected_words": selected,
                "additional_condition": condition,
            }
        )
    return prompts


def story_messages(prompt: str, k_shot: list[dict], system: str | None = None) -> list[dict]:
    """Chat messages: optional system message, then the k-shot messages, then the prompt."""
    messages: list[dict] = []
    if system:
        messages.append({"role": "system", "content": system})
    for i, msg in enumerate(k_shot):
        if msg.get("role") not in ("user", "assistant") or not isinstance(msg.get("content"), str):
            raise StoriesInputError(f"k_shot[{i}] must be a user/assistant message, got {msg!r}")
        messages.append({"role": msg["role"], "content": msg["content"]})
    messages.append({"role": "user", "content": prompt})
    return messages


# --------------------------------------------------------------------------- validation


def count_words(text: str) -> int:
    """Words are runs of letters/digits, with inner apostrophes or hyphens joined."""
    return len(_WORD_RE.findall(text))


def quality_score(content: str, *, selected_words: list[str], max_words: int) -> float:
    """Deterministic heuristic in [0, 1]: the mean of four components.

    1. coverage: fraction of ``selected_words`` present (1.0 if none required);
    2. length: 1.0 if ``ceil(max_words/4) <= words <= max_words``, else words/min_words
       when too short or max_words/words when too long;
    3. sentences: 1.0 for >= 2 sentences, 0.5 for one, 0.0 for none;
    4. clean: 1.0 unless leftover template braces or "as an AI"/"language model" appear.
    """
    words = count_words(content)
    coverage = (
        sum(contains_word(content, w) for w in selected_words) / len(selected_words)
        if selected_words
        else 1.0
    )
    min_words = max(1, math.ceil(max_words / 4))
    if words < min_words:
        length = words / min_words
    elif words > max_words:
        length = max_words / words
    else:
        length = 1.0
    sentences = sum(1 for part in _SENTENCE_SPLIT_RE.split(content) if _WORD_RE.search(part))
    sentence_score = 1.0 if sentences >= 2 else 0.5 if sentences == 1 else 0.0
    clean = 0.0 if ("{" in content or "}" in content or _AI_BOILERPLATE_RE.search(content)) else 1.0
    return round((coverage + length + sentence_score + clean) / 4, 4)


def validate_story(content: str, *, selected_words: list[str], max_words: int, truncated: bool = False) -> dict:
    """Rule checks (non-empty, word count <= max_words, required words present, ends with a finished
    sentence, not cut at max_tokens) plus :func:`quality_score`. ``passed`` reflects the rules only;
    ``reasons`` explains failures."""
    word_count = count_words(content)
    missing = [w for w in selected_words if not contains_word(content, w)]
    too_long = word_count > max_words
    reasons = []
    if word_count == 0:
        reasons.append("empty story")
    if too_long:
        reasons.append(f"too long: {word_count} words > {max_words}")
    if missing:
        reasons.append("missing required words: " + ", ".join(missing))
    if truncated:
        reasons.append("truncated: the completion hit max_tokens")
    elif word_count and ends_mid_sentence(content.rstrip()):
        reasons.append("ends mid-sentence")
    return {
        "passed": not reasons,
        "word_count": word_count,
        "missing_words": missing,
        "too_long": too_long,
        "quality_score": quality_score(content, selected_words=selected_words, max_words=max_words),
        "reasons": reasons,
    }


# --------------------------------------------------------------------------- records


def story_record(
    *,
    index: int,
    prompt: dict,
    content: str,
    generation_time: float,
    tokens_generated: int,
    k_shot_count: int,
) -> dict:
    """One output record for a generated story.

    ``prompt`` is a :func:`build_story_prompts` item; ``k_shot_count`` is the number of
    example exchanges (user/assistant pairs) sent with it, i.e. ``len(k_shot) // 2``.
    """
    if index < 0:
        raise StoriesInputError(f"index must be >= 0, got {index}")
    if generation_time < 0 or tokens_generated < 0:
        raise StoriesInputError("generation_time and tokens_generated must be >= 0")
    content = content.strip()
    return {
        "story_id": f"s{index:04d}",
        "prompt_id": prompt["prompt_id"],
        "content": content,
        "word_count": count_words(content),
        "generation_time": float(generation_time),
        "tokens_generated": int(tokens_generated),
        "tokens_per_second": tokens_generated / generation_time if generation_time > 0 else 0.0,
        "metadata": {
            "selected_words": list(prompt["selected_words"]),
            "additional_condition": prompt["additional_condition"],
            "k_shot_count": k_shot_count,
        },
    }


# --------------------------------------------------------------------------- helpers


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise StoriesInputError(f"{path}: cannot read file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise StoriesInputError(f"{path}: not valid UTF-8 ({exc.reason})") from None


def _unique_ci(words) -> list[str]:
    seen: set[str] = set()
    out = []
    for w in words:
        if w.lower() not in seen:
            seen.add(w.lower())
            out.append(w)
    return out
