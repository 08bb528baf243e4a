"""`vocabulary`: every word a rewrite adds is a real English word.

Words are looked up in `wordfreq` (its English frequency list ships inside the PyPI package: no download);
a word counts as real when its Zipf frequency (log10 of occurrences per billion words) is at least
`min_zipf`. Words copied from the original always pass (names, rare terms), compared case-insensitively.
Catches what a small rewriter invents: "forgaved", "mismapped", "shortsuit".
"""

from __future__ import annotations

from synth_assets.quality import text
from synth_assets.quality.validators.base import Candidate, Verdict
from synth_assets.quality.validators.specs import VocabularySpec

NO_NEW_WORDS = 8.0  # the score of a rewrite that adds no word: above any word's Zipf frequency


class VocabularyValidator:
    """score = the lowest Zipf frequency among the added words (8.0 when none is added)."""

    def __init__(self, spec: VocabularySpec | None = None):
        from wordfreq import zipf_frequency  # its word list loads on first use

        self.spec = spec or VocabularySpec()
        self.name = self.spec.name or "vocabulary"
        self._zipf = zipf_frequency

    def added_words(self, original: str, rewrite: str) -> list[str]:
        """Lower-cased words of the rewrite that are not in the original (digits and the clitic "n't" left out)."""
        known = {w.lower() for w in text.words(original)}
        return list(dict.fromkeys(w.lower() for w in text.words(rewrite)
                                  if w.lower() not in known and w != "n't" and not any(ch.isdigit() for ch in w)))

    def frequency(self, word: str) -> float:
        """Zipf frequency; a hyphenated or apostrophe word as its rarest part ("hard-to-handle", "woman's")."""
        parts = [p for p in word.replace("'", "-").split("-") if p]
        whole = self._zipf(word, "en")
        return max(whole, min((self._zipf(p, "en") for p in parts), default=0.0)) if len(parts) > 1 else whole

    def validate(self, candidates: list[Candidate]) -> list[Verdict]:
        out = []
        for c in candidates:
            scored = sorted((self.frequency(w), w) for w in self.added_words(c.original, c.rewrite))
            unknown = [w for f, w in scored if f < self.spec.min_zipf]
            score = scored[0][0] if scored else NO_NEW_WORDS
            reason = (f"not a known word: {', '.join(repr(w) for w in unknown[:3])}" if unknown
                      else f"every added word is known (rarest Zipf {score:.1f})" if scored else "adds no word")
            out.append(Verdict(self.name, not unknown, round(score, 3), reason))
        return out
