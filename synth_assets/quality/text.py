"""Text features shared by the rule validator, the metrics and decontamination.

Words are runs of letters/digits with inner apostrophes or hyphens; "couldn't" yields the words
"could" and "n't" so that negation can be counted separately from the verb.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter

_WORD_RE = re.compile(r"\d+(?:[.,]\d+)*(?:st|nd|rd|th|s)?\b|[^\W_]+(?:[-'’][^\W_]+)*")
_PUNCT_RE = re.compile(r"[^\w\s]|_")
_SPACE_RE = re.compile(r"\s+")
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+")
_CLOSERS = "\"'”’»)]} "
TERMINAL = (".", "!", "?", "…")
_VOWELS = set("aeiou")

NEGATIONS = frozenset({
    "not", "no", "never", "n't", "none", "nobody", "nothing", "neither", "nor", "without", "nowhere", "cannot",
    "unable", "dont", "doesnt", "didnt", "cant", "wont", "isnt", "arent", "wasnt", "werent", "couldnt", "shouldnt",
    "wouldnt", "havent", "hasnt", "hadnt",
})

_UNITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_ORDINAL_UNITS = ["zeroth", "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
                  "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
                  "seventeenth", "eighteenth", "nineteenth"]
_ORDINAL_TENS = ["", "", "twentieth", "thirtieth", "fortieth", "fiftieth", "sixtieth", "seventieth", "eightieth",
                 "ninetieth"]
NUMBER_WORDS: dict[str, float] = {
    **{w: float(i) for i, w in enumerate(_UNITS)}, **{w: float(i) for i, w in enumerate(_ORDINAL_UNITS)},
    **{w: float(10 * i) for i, w in enumerate(_TENS) if w}, **{w: float(10 * i) for i, w in enumerate(_ORDINAL_TENS) if w},
    "hundred": 100.0, "hundredth": 100.0, "thousand": 1e3, "thousandth": 1e3, "million": 1e6, "billion": 1e9,
    "dozen": 12.0, "half": 0.5, "quarter": 0.25, "twice": 2.0, "thrice": 3.0, "single": 1.0,
    "both": 2.0, "double": 2.0, "triple": 3.0, "pair": 2.0,
}
FUNCTION_WORDS = frozenset("""
a an the of to in on at for with by from into onto over under up down out off about as than then and or but so if
is are was were be been being am has have had do does did will would can could should shall may might must
i you he she it we they me him her us them my your his its our their this that these those there here who whom
what which when where why how some any all each every very just also only
""".split())
_MULTIPLIERS = {"hundred": 100.0, "thousand": 1e3, "million": 1e6, "billion": 1e9}
_DIGITS_RE = re.compile(r"^\d[\d,]*(?:\.\d+)?(?:st|nd|rd|th|s)?$")


def normalize(text: str) -> str:
    """Lower case, NFKC, punctuation dropped, whitespace collapsed: the form copies are compared in."""
    text = unicodedata.normalize("NFKC", text).lower().replace("’", "'").replace("'", "")
    return _SPACE_RE.sub(" ", _PUNCT_RE.sub(" ", text)).strip()


def words(text: str) -> list[str]:
    """The words of `text` as written (case kept), negation clitics split: "couldn't" -> could, n't."""
    out: list[str] = []
    for word in _WORD_RE.findall(unicodedata.normalize("NFKC", text).replace("’", "'")):
        lower = word.lower()
        if lower.endswith("n't") and len(word) > 3:
            stem = word[:-3] if lower not in ("can't", "won't") else {"can't": "can", "won't": "will"}[lower]
            out += [stem, "n't"]
        else:
            out.append(word)
    return out


def negations(text: str) -> Counter[str]:
    """Negation markers in `text` with their counts."""
    return Counter(w for w in (x.lower() for x in words(text)) if w in NEGATIONS)


def numbers(text: str) -> Counter[float]:
    """Numbers in `text`, digits and words alike: "forty-two" and "42" and "42nd" are all 42."""
    found: Counter[float] = Counter()
    pending: float | None = None  # a number-word phrase being read ("two hundred", "forty two")
    for raw in words(text):
        word = raw.lower()
        parts = word.split("-")
        if _DIGITS_RE.match(word):
            found[float(re.sub(r"[^\d.]", "", word.rstrip("stndrh")) or 0)] += 1
            continue
        if all(p in NUMBER_WORDS for p in parts):
            value = sum(NUMBER_WORDS[p] for p in parts)
            if pending is not None and word in _MULTIPLIERS:
                pending *= _MULTIPLIERS[word]
            elif pending is not None and pending >= 20 and pending % 10 == 0 and value < 10:
                pending += value
            else:
                if pending is not None:
                    found[pending] += 1
                pending = value
            continue
        if pending is not None:
            found[pending] += 1
            pending = None
    if pending is not None:
        found[pending] += 1
    return found


def names(text: str) -> list[str]:
    """Capitalised words that do not start a sentence (proper nouns, as far as case tells), in order."""
    out: list[str] = []
    for sentence in _SENTENCE_END_RE.split(text.strip()):
        for i, word in enumerate(words(sentence)):
            if i > 0 and word[:1].isupper() and word != "I":
                out.append(word)
    return out


def ends_mid_sentence(text: str) -> bool:
    """True when `text` does not end with terminal punctuation (closing quotes and brackets ignored)."""
    return not text.rstrip(_CLOSERS).endswith(TERMINAL)


def content_words(text: str) -> list[str]:
    """Lower-cased words without function words ("the", "was", "his" ...) or possessive 's, in order."""
    return [w.removesuffix("'s") for w in (x.lower() for x in words(text)) if w not in FUNCTION_WORDS]


def word_forms(word: str) -> set[str]:
    """Accepted forms of a required word: itself, plural -s/-es, -ed/-d, -ing, with
    simple spelling rules (bake→baking, puppy→puppies, hop→hopping/hopped)."""
    w = word.lower()
    forms = {w, w + "s", w + "es", w + "ed", w + "ing"}
    if w.endswith("e"):
        forms |= {w + "d", w[:-1] + "ing"}
    if len(w) >= 2 and w.endswith("y") and w[-2] not in _VOWELS:
        forms |= {w[:-1] + "ies", w[:-1] + "ied"}
    if len(w) >= 3 and w[-1] not in _VOWELS | set("wxy") and w[-2] in _VOWELS and w[-3] not in _VOWELS:
        forms |= {w + w[-1] + "ed", w + w[-1] + "ing"}
    return forms


def contains_word(text: str, word: str) -> bool:
    """Case-insensitive whole-word match of ``word`` or one of its :func:`word_forms`."""
    alternatives = "|".join(sorted((re.escape(f) for f in word_forms(word)), key=len, reverse=True))
    pattern = rf"(?<![A-Za-z])(?:{alternatives})(?![A-Za-z])"
    return re.search(pattern, text, re.IGNORECASE) is not None
