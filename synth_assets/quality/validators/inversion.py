"""`inversion`: the rewrite says the opposite of the original.

Counts the polarity flips between original and rewrite: a word of the original replaced by its antonym
(a curated list, `data/antonyms.txt`, matched on simple inflections: hated -> hate, closest -> close), a word
replaced by its negative-prefixed form (able -> unable, organized -> disorganized, like -> dislike) and the
change in the number of negation markers ("not", "never", "n't", "refused" ...). An odd number of flips
inverts the meaning ("The offender did not violate parole"; "The man loved his new haircut"); an even number
cancels out ("The shop was closed." -> "The store was not open.").
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from synth_assets.quality import text
from synth_assets.quality.validators.base import Candidate, Verdict
from synth_assets.quality.validators.specs import InversionSpec

ANTONYMS_FILE = Path(__file__).resolve().parent / "data" / "antonyms.txt"
NEGATIVE_PREFIXES = ("un", "in", "im", "il", "ir", "dis", "non", "mis")
NEGATORS = text.NEGATIONS | {"refuse", "refused", "refuses", "fail", "failed", "fails", "impossible", "incapable", "unwilling"}


@lru_cache(maxsize=1)
def antonyms() -> dict[str, frozenset[str]]:
    """base form -> its antonyms (both directions)."""
    pairs: dict[str, set[str]] = {}
    for line in ANTONYMS_FILE.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            a, b = line.split()
            pairs.setdefault(a, set()).add(b)
            pairs.setdefault(b, set()).add(a)
    return {k: frozenset(v) for k, v in pairs.items()}


def stems(word: str) -> set[str]:
    """The word and its candidate base forms under regular inflection."""
    w = word.lower().removesuffix("'s")
    out = {w}
    for suffix, repl in (("ies", "y"), ("ied", "y"), ("iest", "y"), ("ier", "y"), ("est", ""), ("est", "e"), ("er", ""),
                         ("er", "e"), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"), ("es", ""), ("s", ""), ("d", "")):
        if w.endswith(suffix) and len(w) - len(suffix) >= 2:
            base = w[: -len(suffix)] + repl
            out.add(base)
            if len(base) >= 3 and base[-1] == base[-2] and suffix in ("ed", "ing", "er", "est"):
                out.add(base[:-1])  # stopped -> stop, hottest -> hot
    return out


def _prefixed(a: set[str], b: set[str]) -> bool:
    return any(x == p + y or y == p + x for x in a for y in b for p in NEGATIVE_PREFIXES)


class InversionValidator:
    """score = the number of polarity flips found (accepted when even, e.g. 0)."""

    def __init__(self, spec: InversionSpec | None = None):
        self.spec = spec or InversionSpec()
        self.name = self.spec.name or "inversion"

    def flips(self, original: str, rewrite: str) -> list[str]:
        """Each flip as a short description: "antonym: 'loved' -> 'hated'", "negation added: 'not'"."""
        before = [w.lower() for w in text.words(original)]
        after = [w.lower() for w in text.words(rewrite)]
        removed = [w for w in dict.fromkeys(before) if w not in after]
        added = [w for w in dict.fromkeys(after) if w not in before]
        found = []
        used: set[str] = set()  # the words of each antonym flip, old and new: a negator among them is not counted again
        if self.spec.antonyms:
            table = antonyms()
            for new in added:
                new_stems = stems(new)
                opposite = set().union(*(table.get(s, ()) for s in new_stems))
                for old in removed:
                    if old in used:
                        continue
                    old_stems = stems(old)
                    if opposite & old_stems or _prefixed(new_stems, old_stems):
                        found.append(f"antonym: {old!r} -> {new!r}")
                        used.update((old, new))
                        break
        if self.spec.negation:
            diff = sum(w in NEGATORS and w not in used for w in after) - sum(w in NEGATORS and w not in used for w in before)
            found += [f"negation {'added' if diff > 0 else 'dropped'}"] * abs(diff)
        return found

    def validate(self, candidates: list[Candidate]) -> list[Verdict]:
        out = []
        for c in candidates:
            flips = self.flips(c.original, c.rewrite)
            inverted = len(flips) % 2 == 1
            reason = (f"meaning inverted: {'; '.join(flips)}" if inverted
                      else f"polarity kept ({'; '.join(flips)} cancel out)" if flips else "no antonym or negation change")
            out.append(Verdict(self.name, not inverted, float(len(flips)), reason))
        return out
