"""Decontamination: find rows that copy text of evaluation splits or benchmarks.

A hashed index of the reference texts holds (a) every word n-gram (default 8) and (b) every
normalised sentence of at least `min_sentence_words` words: an exact sentence match catches short
texts that have no n-gram at all. Texts are normalised like `quality.text.normalize` (lower case,
punctuation dropped, apostrophes removed) and hashed to 64 bits, vectorised with pyarrow + numpy:
no Python loop runs per word or per n-gram.
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

_PRIME = np.uint64(1099511628211)
_SENTENCE_BREAK = r"[.!?]+(\s+|$)|\n+"


@dataclass(frozen=True)
class Reference:
    """One reference text and where it comes from, e.g. `copa_test.jsonl:12:premise`."""

    text: str
    source: str


@dataclass(frozen=True)
class Hit:
    """A checked text that overlaps a reference: `kind` "sentence" (an exact normalised sentence)
    or "ngram" (`ngrams` shared n-grams); `reference` names the first matching reference."""

    row: int
    field: str
    kind: Literal["sentence", "ngram"]
    reference: str
    matched: str
    ngrams: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _tokens(texts: pa.Array) -> pa.ListArray:
    lowered = pc.utf8_lower(texts)
    lowered = pc.replace_substring_regex(lowered, pattern=r"['’]", replacement="")
    lowered = pc.replace_substring_regex(lowered, pattern=r"[^\p{L}\p{N}\s]|_", replacement=" ")
    return pc.utf8_split_whitespace(lowered)


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

    def __init__(self, references: Sequence[Reference], *, n: int = 8, min_sentence_words: int = 2):
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

    def check_texts(self, texts: Sequence[str]) -> dict[int, tuple[str, int, int]]:
        """text index -> (kind, reference index, shared n-grams) for every text that overlaps."""
        arr = pa.array(texts, pa.large_string())
        out: dict[int, tuple[str, int, int]] = {}
        owners, hashes = _ngrams(arr, self.n)
        found, refs = self._ngrams.lookup(hashes)
        hit_owners = owners[found]
        counts = np.bincount(hit_owners, minlength=len(texts)) if len(hit_owners) else np.zeros(len(texts), dtype=np.int64)
        order = np.argsort(hit_owners, kind="stable")
        firsts, first_pos = np.unique(hit_owners[order], return_index=True)
        for owner, pos in zip(firsts.tolist(), first_pos.tolist()):
            out[owner] = ("ngram", int(refs[order[pos]]), int(counts[owner]))
        owners, hashes = _sentences(arr, self.min_sentence_words)
        found, refs = self._sentences.lookup(hashes)
        for owner, ref in zip(owners[found].tolist(), refs.tolist()):
            if owner not in out or out[owner][0] != "sentence":
                out[owner] = ("sentence", int(ref), int(counts[owner]))
        return out

    def check(self, rows: Sequence[dict[str, Any]], fields: Sequence[str]) -> list[Hit]:
        """Every (row, field) whose text overlaps a reference, ordered by row then field."""
        hits = []
        for field in fields:
            texts = [row.get(field) if isinstance(row.get(field), str) else "" for row in rows]
            for index, (kind, ref, count) in self.check_texts(texts).items():
                reference = self.references[ref]
                hits.append(Hit(index, field, kind, reference.source, reference.text[:200], count))  # type: ignore[arg-type]
        order = {f: i for i, f in enumerate(fields)}
        return sorted(hits, key=lambda h: (h.row, order[h.field]))


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
