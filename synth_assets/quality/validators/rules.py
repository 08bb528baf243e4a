"""`rules`: cheap deterministic checks that catch the meaning changes small models make most.

A candidate is rejected by the first failing check, in this order: identical to the original
(after normalisation), truncated, length ratio, negation, numbers, names, word order (the same
content words in another order, without a change of passive "by" or genitive "of": "the dog bit the man" -> "the man bit the
dog"; at least three content words, and not just a phrase moved to the front), required words, max words.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from synth_assets.quality import text
from synth_assets.quality.validators.base import Candidate, Verdict
from synth_assets.quality.validators.specs import RulesSpec


def _fmt(values: Any) -> str:
    return ", ".join(f"'{v}'" for v in values)


def _number(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


class RulesValidator:
    """Runs the checks of a `RulesSpec`; the score is the length ratio (rewrite words / original words)."""

    def __init__(self, spec: RulesSpec | None = None):
        self.spec = spec or RulesSpec()
        self.name = self.spec.name or "rules"

    def validate(self, candidates: list[Candidate]) -> list[Verdict]:
        return [self._one(c) for c in candidates]

    def _one(self, c: Candidate) -> Verdict:
        original_words, rewrite_words = text.words(c.original), text.words(c.rewrite)
        ratio = len(rewrite_words) / max(len(original_words), 1)
        reason = self.problem(c, ratio)
        return Verdict(self.name, reason is None, round(ratio, 4), reason or "passed all rules")

    def problem(self, c: Candidate, ratio: float) -> str | None:
        """The first failed check as a short, specific reason, or None."""
        s = self.spec
        if not text.normalize(c.rewrite):
            return "empty rewrite"
        if s.identical and text.normalize(c.original) == text.normalize(c.rewrite):
            return "identical to the original after normalisation"
        if s.truncation:
            if c.finish_reason == "length":
                return "truncated: finish_reason=length"
            if not text.ends_mid_sentence(c.original) and text.ends_mid_sentence(c.rewrite):
                return "truncated: ends mid-sentence"
        if s.length_ratio is not None and not s.length_ratio[0] <= ratio <= s.length_ratio[1]:
            return f"length ratio {ratio:.2f} outside [{s.length_ratio[0]}, {s.length_ratio[1]}]"
        if s.negation:
            found = self._difference(text.negations(c.original), text.negations(c.rewrite), "negation")
            if found:
                return found
        if s.numbers:
            before, after = text.numbers(c.original), text.numbers(c.rewrite)
            found = self._difference(Counter({_number(k): v for k, v in before.items()}),
                                     Counter({_number(k): v for k, v in after.items()}), "number")
            if found:
                return found
        if s.names:
            kept = {w.lower() for w in text.words(c.rewrite)}
            dropped = [n for n in dict.fromkeys(text.names(c.original)) if n.lower() not in kept]
            if dropped:
                return f"name dropped: {_fmt(dropped)}"
            known = {w.lower() for w in text.words(c.original)}
            added = [n for n in dict.fromkeys(text.names(c.rewrite)) if n.lower() not in known]
            if added:
                return f"name added: {_fmt(added)}"
        if s.word_order:
            found = self._reordered(c)
            if found:
                return found
        if s.required_words_field:
            missing = [w for w in self._required(c) if not text.contains_word(c.rewrite, w)]
            if missing:
                return f"required word missing: {_fmt(missing)}"
        if s.max_words is not None and len(text.words(c.rewrite)) > s.max_words:
            return f"too long: {len(text.words(c.rewrite))} words > max_words {s.max_words}"
        return None

    @staticmethod
    def _difference(before: Counter, after: Counter, what: str) -> str | None:
        """'negation dropped: 'not'' / 'number added: '3'' / 'number changed: '4' -> '3''; None when equal."""
        dropped, added = before - after, after - before
        if dropped and added and what == "number":
            return f"number changed: {_fmt(sorted(dropped))} -> {_fmt(sorted(added))}"
        if what == "negation" and sum(before.values()) == sum(after.values()):
            return None  # the same polarity through other words ("couldn't" -> "was unable to")
        if dropped:
            return f"{what} dropped: {_fmt(sorted(dropped))}"
        if added:
            return f"{what} added: {_fmt(sorted(added))}"
        return None

    @staticmethod
    def _reordered(c: Candidate) -> str | None:
        before, after = text.content_words(c.original), text.content_words(c.rewrite)
        if len(before) < 3 or before == after or Counter(before) != Counter(after):
            return None
        if any(after == before[k:] + before[:k] for k in range(1, len(before))):
            return None  # a phrase moved to the front or back: "the pond froze in winter" -> "in winter the pond froze"
        a, b = Counter(w.lower() for w in text.words(c.original)), Counter(w.lower() for w in text.words(c.rewrite))
        if a["by"] != b["by"] or a["of"] != b["of"]:
            return None  # passive or genitive: "the police held him" -> "he was held by the police"; "X of Y" -> "Y's X"
        moved = next(w for w, v in zip(before, after) if w != v)
        return f"roles may be swapped: same words in another order ('{moved}' moved)"

    def _required(self, c: Candidate) -> list[str]:
        field = self.spec.required_words_field
        if field not in c.row:
            raise KeyError(f"rules: required_words_field {field!r} is not a field of the row (fields: {sorted(c.row)})")
        value = c.row[field]
        return [w.strip() for w in (value.split(",") if isinstance(value, str) else value) if str(w).strip()]
