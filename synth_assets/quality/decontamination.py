"""Decontamination: find rows that copy text of evaluation splits or benchmarks.

A hashed index of the reference texts holds (a) every word n-gram (default `DEFAULT_NGRAM`) and (b)
every normalised sentence of at least `min_sentence_words` words: an exact sentence match catches
short texts that have no n-gram at all. Texts are normalised like `quality.text.normalize` (lower
case, punctuation dropped, apostrophes removed) and hashed to 64 bits, vectorised with pyarrow +
numpy: no Python loop runs per word or per n-gram.

Checked against their originals, a text's matches split into those its original already had
(overlap in the source data, e.g. a stock phrase shared by a train and a test question) and those
the rewrite introduced (`Hit.introduced`): only the latter are contamination made by synthesis.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from synth_assets.core.jsonl import numbered_rows

# chosen on evidence (benchmarks/decontamination.py): the smallest n at which no chance overlap (a stock phrase
# such as BoolQ's "is there going to be a season 2 of", 9 words) remains between the shipped datasets' original
# train and evaluation rows on their rewritten fields; 13 (GPT-3's) finds fewer planted near copies
DEFAULT_NGRAM = 10
_PRIME = np.uint64(1099511628211)
_OWNER_MIX = np.uint64(0x9E3779B97F4A7C15)
_SENTENCE_BREAK = r"[.!?]+(\s+|$)|\n+"


@dataclass(frozen=True)
class Reference:
    """One reference text and where it comes from, e.g. `copa_test.jsonl:12:premise`."""

    text: str
    source: str


@dataclass(frozen=True)
class Hit:
    """A checked text that overlaps a reference: `kind` "sentence" (an exact normalised sentence)
    or "ngram" (`ngrams` shared n-grams); `reference` names the first matching reference.
    `introduced`: how many of the matching n-grams and sentences its original did not have (all of
    them when no original was given); 0 means the overlap was already in the source data, and then
    `reference` is one the original matched too, else one of the introduced matches."""

    row: int
    field: str
    kind: Literal["sentence", "ngram"]
    reference: str
    matched: str
    ngrams: int
    introduced: int

    @property
    def origin(self) -> Literal["introduced", "source"]:
        return "introduced" if self.introduced else "source"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "origin": self.origin}


def _tokens(texts: pa.Array) -> pa.ListArray:
    lowered = pc.utf8_lower(texts)
    lowered = pc.replace_substring_regex(lowered, pattern=r"['’]", replacement="")
    lowered = pc.utf8_trim_whitespace(pc.replace_substring_regex(lowered, pattern=r"[^\p{L}\p{N}\s]|_", replacement=" "))
    # a text of no word gets no token (split would give it one empty token, and a trailing "?" another)
    return pc.utf8_split_whitespace(pc.if_else(pc.equal(lowered, ""), pa.scalar(None, lowered.type), lowered))


def _token_hashes(flat: pa.Array) -> np.ndarray:
    """A stable 64-bit hash per token: each distinct token is hashed once (blake2b)."""
    if len(flat) == 0:
        return np.zeros(0, dtype=np.uint64)
    encoded = pc.dictionary_encode(flat).combine_chunks() if isinstance(flat, pa.ChunkedArray) else pc.dictionary_encode(flat)
    vocab = np.fromiter(
        (int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little") for t in encoded.dictionary.to_pylist()),
        dtype=np.uint64, count=len(encoded.dictionary))
    return vocab[encoded.indices.to_numpy(zero_copy_only=False)]


def _ngrams(texts: pa.Array, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(text index, hash) of every word n-gram."""
    tokens = _tokens(texts)
    offsets = tokens.offsets.to_numpy().astype(np.int64)
    hashes = _token_hashes(tokens.flatten())
    lengths = np.diff(offsets)
    owner = np.repeat(np.arange(len(texts), dtype=np.int64), lengths)
    starts = np.nonzero(np.arange(len(hashes)) + n <= np.repeat(offsets[1:], lengths))[0]
    h = np.zeros(len(starts), dtype=np.uint64)
    with np.errstate(over="ignore"):
        for k in range(n):
            h = h * _PRIME + hashes[starts + k]
    return owner[starts], h


def _sentences(texts: pa.Array, min_words: int) -> tuple[np.ndarray, np.ndarray]:
    """(text index, hash) of every normalised sentence of at least `min_words` words."""
    pieces = pc.split_pattern_regex(texts, pattern=_SENTENCE_BREAK)
    owner_of_piece = np.repeat(np.arange(len(texts), dtype=np.int64), np.diff(pieces.offsets.to_numpy()))
    tokens = _tokens(pieces.flatten())
    offsets = tokens.offsets.to_numpy().astype(np.int64)
    lengths = np.diff(offsets)
    hashes = _token_hashes(tokens.flatten())
    keep = lengths >= max(min_words, 1)
    if not keep.any():
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.uint64)
    # hash = sum(token_i * P^(len-1-i)): a per-sentence polynomial hash summed with reduceat
    sentence_of_token = np.repeat(np.arange(len(lengths)), lengths)
    from_end = offsets[1:][sentence_of_token] - 1 - np.arange(len(hashes))
    powers = np.ones(int(lengths.max()) + 1, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for i in range(1, len(powers)):
            powers[i] = powers[i - 1] * _PRIME
        terms = hashes * powers[from_end]
        nonempty = lengths > 0  # reduceat segments must not be empty: sum every non-empty sentence, then keep
        sums = np.add.reduceat(terms, offsets[:-1][nonempty])[keep[nonempty]]
        sums = sums + np.uint64(0x9E3779B97F4A7C15) * lengths[keep].astype(np.uint64)  # unlike any n-gram hash
    return owner_of_piece[keep], sums


class _HashSet:
    """Sorted unique hashes with the reference that first had each."""

    def __init__(self, owners: np.ndarray, hashes: np.ndarray):
        self.hashes, first = np.unique(hashes, return_index=True)
        self.owners = owners[first]

    def lookup(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(mask of hashes found, reference index of each found one)."""
        if len(self.hashes) == 0 or len(hashes) == 0:
            return np.zeros(len(hashes), dtype=bool), np.zeros(0, dtype=np.int64)
        pos = np.minimum(np.searchsorted(self.hashes, hashes), len(self.hashes) - 1)
        found = self.hashes[pos] == hashes
        return found, self.owners[pos[found]]


class DecontaminationIndex:
    """Build once from reference texts; `check` rows against it."""

    def __init__(self, references: Sequence[Reference], *, n: int = DEFAULT_NGRAM, min_sentence_words: int = 2):
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        self.references = list(references)
        self.n, self.min_sentence_words = n, min_sentence_words
        texts = pa.array([r.text for r in self.references], pa.large_string())
        self._ngrams = _HashSet(*_ngrams(texts, n))
        self._sentences = _HashSet(*_sentences(texts, min_sentence_words))

    @property
    def sizes(self) -> dict[str, int]:
        return {"references": len(self.references), "ngrams": len(self._ngrams.hashes), "sentences": len(self._sentences.hashes)}

    def check_texts(self, texts: Sequence[str], originals: Sequence[str] | None = None) -> dict[int, tuple[str, int, int, int]]:
        """text index -> (kind, reference index, shared n-grams, introduced matches) for every text that overlaps;
        `originals` (one per text): what each text was rewritten from, whose own matches are not introduced."""
        arr = pa.array(texts, pa.large_string())
        before = pa.array(originals, pa.large_string()) if originals is not None else None
        kinds, owners, refs, new = [], [], [], []
        for kind, features, table in (("ngram", lambda a: _ngrams(a, self.n), self._ngrams),
                                      ("sentence", lambda a: _sentences(a, self.min_sentence_words), self._sentences)):
            text_of, hashes = features(arr)
            found, ref = table.lookup(hashes)
            text_of, hashes = text_of[found], hashes[found]
            kinds.append(np.full(len(text_of), kind == "sentence"))
            owners.append(text_of)
            refs.append(ref)
            new.append(~np.isin(_keyed(text_of, hashes), _keyed(*features(before))) if before is not None
                       else np.ones(len(text_of), dtype=bool))
        sentence, owner, ref, introduced = (np.concatenate(a) for a in (kinds, owners, refs, new))
        if not len(owner):
            return {}
        ngram_counts = np.bincount(owner[~sentence], minlength=len(texts))
        introduced_counts = np.bincount(owner[introduced], minlength=len(texts))
        # the reference shown per text: an introduced match before a source one, a sentence before an n-gram, then the first
        priority = (~introduced).astype(np.int8) * 2 + (~sentence).astype(np.int8)
        order = np.lexsort((np.arange(len(owner)), priority, owner))
        firsts, first_pos = np.unique(owner[order], return_index=True)
        shown = order[first_pos]
        return {int(o): ("sentence" if sentence[s] else "ngram", int(ref[s]), int(ngram_counts[o]), int(introduced_counts[o]))
                for o, s in zip(firsts.tolist(), shown.tolist())}

    def check(self, rows: Sequence[dict[str, Any]], fields: Sequence[str],
              originals: Sequence[dict[str, Any]] | None = None) -> list[Hit]:
        """Every (row, field) whose text overlaps a reference, ordered by row then field; with `originals` (the
        records the rows were rewritten from, one per row) each hit counts the matches its original lacked."""
        hits = []
        for field in fields:
            texts = [_text(row, field) for row in rows]
            before = [_text(row, field) for row in originals] if originals is not None else None
            for index, (kind, ref, count, introduced) in self.check_texts(texts, before).items():
                reference = self.references[ref]
                hits.append(Hit(index, field, kind, reference.source, reference.text[:200], count, introduced))  # type: ignore[arg-type]
        order = {f: i for i, f in enumerate(fields)}
        return sorted(hits, key=lambda h: (h.row, order[h.field]))


def _text(row: dict[str, Any], field: str) -> str:
    value = row.get(field)
    return value if isinstance(value, str) else ""


def _keyed(owners: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """One 64-bit key per (text index, hash): the same n-gram in two texts gives two keys."""
    with np.errstate(over="ignore"):
        return hashes ^ ((owners.astype(np.uint64) + np.uint64(1)) * _OWNER_MIX)


def references_from_rows(rows: Iterable[dict[str, Any]], source: str, fields: Sequence[str] | None = None) -> list[Reference]:
    """One reference per string field (or per named field) of each row, sourced `{source}:{row index}:{field}`."""
    return _references(enumerate(rows), source, fields)


def references_from_jsonl(path: str | Path, fields: Sequence[str] | None = None) -> list[Reference]:
    """References from a JSONL file (an evaluation split or a benchmark), sourced `{file name}:{line}:{field}`;
    a bad line raises `ConfigError` naming file and line."""
    return _references(numbered_rows(path), Path(path).name, fields)


def _references(numbered: Iterable[tuple[int, dict[str, Any]]], source: str, fields: Sequence[str] | None) -> list[Reference]:
    out = []
    for number, row in numbered:
        for key in fields if fields is not None else list(row):
            value = row.get(key)
            if isinstance(value, str) and value.strip():
                out.append(Reference(value, f"{source}:{number}:{key}"))
    return out
