"""Exact dedup through DuckDB gives exactly the keep-mask of the former hand-written hash set."""

from __future__ import annotations

import random
import unicodedata

import pyarrow as pa
import pytest

from synth_assets.recipes.curation.exact import exact_dedup, normalize_text


def reference(keys: list[str], casefold: bool = False) -> list[bool]:
    """The former implementation, kept as the oracle: NFKC, str.split() whitespace, casefold, hash set."""
    seen, keep = set(), []
    for key in keys:
        norm = " ".join(unicodedata.normalize("NFKC", key).split())
        norm = norm.casefold() if casefold else norm
        keep.append(norm not in seen)
        seen.add(norm)
    return keep


TRICKY = [
    "What is AI?", "What is  AI?", " What is AI?", "What is AI? ", "What\tis\nAI?", "What\x1cis\x1fAI?",
    "What\x0bis\x0cAI?\r", "what is ai?", "WHAT IS AI?", "What\u00a0is\u2003AI?", "What\u3000is\u2028AI?",
    "What\x85is AI?", "ﬁne", "fine", "ＦＩＮＥ", "FINE", "café", "cafe\u0301", "CAFÉ", "straße", "STRASSE",
    "strasse", "ΣΊΣΥΦΟΣ", "σίσυφος", "σίσυφοσ", "\u212a", "k", "K", "", " ", "\t\n", "a\x00b", "a\x00 b",
    "İstanbul", "i̇stanbul", "x  ", "x", "ﬀ", "ff", "\u1680a", "a", "a\u200bb", "ab",
]


@pytest.mark.parametrize("casefold", [False, True])
def test_tricky_inputs_equal_the_former_implementation(casefold):
    keys = TRICKY + TRICKY[::-1]
    assert exact_dedup(keys, casefold).tolist() == reference(keys, casefold)


@pytest.mark.parametrize("casefold", [False, True])
def test_random_texts_equal_the_former_implementation(casefold):
    rnd = random.Random(7)
    alphabet = list("ab AB  ") + ["\t", "\n", "\x1c", "\x1f", "\u00a0", "\u2003", "ß", "ﬁ", "é", "e\u0301", "Σ", "ς", "\u212a", "\x00"]
    keys = ["".join(rnd.choices(alphabet, k=rnd.randint(0, 6))) for _ in range(20_000)]
    got = exact_dedup(keys, casefold)
    assert got.tolist() == reference(keys, casefold)
    assert 100 < int(got.sum()) < len(keys) - 100  # both kinds of rows are present


def test_first_occurrence_kept_in_order_and_arrow_input():
    keys = ["b", "a", "b ", "c", " a", "c", "d"]
    assert exact_dedup(keys).tolist() == [True, True, False, True, False, False, True]
    sliced = pa.array(["zz"] + keys)[1:]  # a sliced Arrow array (non-zero offset) gives the same answer
    assert exact_dedup(sliced).tolist() == exact_dedup(keys).tolist()
    assert exact_dedup([]).tolist() == [] and exact_dedup(["", ""]).tolist() == [True, False]


def test_normalize_text():
    assert [normalize_text(k, casefold=True) for k in ["a  b", "A b", "\tx\x1f", "ok", "ﬁ", "Straße"]] == ["a b", "a b", "x", "ok", "fi", "strasse"]


def test_lone_surrogates_do_not_break_dedup():
    keys = ["a\ud800", "a\ud800 ", "b", "a\udfff"]  # what json.loads gives for "\ud800"
    assert exact_dedup(keys).tolist() == [True, False, True, True]
