"""Exact dedup of normalised keys: Arrow for the text, DuckDB's hash aggregate for the grouping.

The key of a text is `normalize_text(text, casefold)`: NFKC, every run of what `str.split()` calls
whitespace (ASCII control separators \\x1c-\\x1f included) collapsed to one space, stripped, and
optionally casefolded. `exact_dedup` keeps the first occurrence of every key, in input order.

Most texts are already their own key (printable ASCII without double, leading or trailing
spaces); those are detected with vectorised Arrow/numpy checks and go to DuckDB unchanged. Only
the others are normalised, in Python, by `normalize_text` itself, so the keys are exactly the
ones the definition gives. DuckDB then runs `min(row) GROUP BY key` over the clean rows (lower-cased
with casefold) and the normalised ones, without rebuilding the text column.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

_ASCII_WHITESPACE = frozenset("\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f")  # what str.split() splits on, besides " "


def normalize_text(text: str, casefold: bool = False) -> str:
    """NFKC, whitespace runs collapsed to one space, stripped; optionally casefolded."""
    if not text.isascii():
        text = " ".join(unicodedata.normalize("NFKC", text).split())
    elif text[:1] == " " or text[-1:] == " " or "  " in text or not _ASCII_WHITESPACE.isdisjoint(text):
        text = " ".join(text.split())  # the fast path above skips this for already-clean ASCII text
    return text.casefold() if casefold else text


def _needs_normalising(texts: pa.StringArray) -> np.ndarray:
    """True where `normalize_text` may change the text: not printable ASCII (control characters,
    non-ASCII), a leading or trailing space, or two spaces in a row."""
    dirty = ~pc.ascii_is_printable(texts).to_numpy(zero_copy_only=False)
    dirty |= pc.starts_with(texts, " ").to_numpy(zero_copy_only=False)
    dirty |= pc.ends_with(texts, " ").to_numpy(zero_copy_only=False)
    offsets = np.frombuffer(texts.buffers()[1], dtype=np.int32)[texts.offset:texts.offset + len(texts) + 1]
    data = np.frombuffer(texts.buffers()[2], dtype=np.uint8)[offsets[0]:offsets[-1]]
    space = data == 32
    double = np.flatnonzero(space[:-1] & space[1:]) + offsets[0]  # byte positions; a pair never spans two rows
    dirty[np.searchsorted(offsets, double, side="right") - 1] = True  # (a row's last byte is never a space here)
    return dirty


def _fixed_keys(texts: pa.StringArray, casefold: bool) -> tuple[np.ndarray, pa.StringArray]:
    """(dirty rows, their `normalize_text` keys)."""
    rows = np.flatnonzero(_needs_normalising(texts))
    fixed = [normalize_text(t, casefold) for t in texts.take(rows).to_pylist()] if rows.size else []
    return rows, pa.array(fixed, pa.string())


def _first_rows(con: duckdb.DuckDBPyConnection, query: str, n: int) -> np.ndarray:
    keep = np.zeros(n, dtype=bool)
    keep[np.asarray(con.execute(query).fetchnumpy()["row"], dtype=np.int64)] = True
    return keep


def first_occurrences(keys: pa.Array) -> np.ndarray:
    """Keep-mask of the first row of every distinct key (DuckDB `min(row) GROUP BY key`)."""
    with duckdb.connect() as con:
        con.register("keyed", pa.table({"row": pa.array(np.arange(len(keys), dtype=np.int64)), "key": keys}))
        return _first_rows(con, "SELECT min(row) AS row FROM keyed GROUP BY key", len(keys))


def _dedup_text(texts: pa.StringArray, casefold: bool) -> np.ndarray:
    """Clean rows go to DuckDB as they are (lower-cased with casefold), dirty rows as their normalised
    keys: one `GROUP BY` over both, without rebuilding the text column."""
    rows, fixed = _fixed_keys(texts, casefold)
    n = len(texts)
    clean = np.ones(n, dtype=bool)
    clean[rows] = False
    with duckdb.connect() as con:
        con.register("texts", pa.table({"row": pa.array(np.arange(n, dtype=np.int64)), "key": texts, "clean": pa.array(clean)}))
        con.register("fixed", pa.table({"row": pa.array(rows.astype(np.int64)), "key": fixed}))
        key = "lower(key)" if casefold else "key"  # clean rows are printable ASCII: lower() == casefold()
        return _first_rows(con, f"SELECT min(row) AS row FROM (SELECT row, {key} AS key FROM texts WHERE clean "
                                "UNION ALL SELECT row, key FROM fixed) GROUP BY key", n)


def exact_dedup(keys: Sequence[str] | pa.Array, casefold: bool = False) -> np.ndarray:
    """Boolean keep-mask: True for the first occurrence of every normalised key, in input order."""
    if isinstance(keys, pa.ChunkedArray):
        keys = keys.combine_chunks()
    if not isinstance(keys, pa.Array):
        try:
            keys = pa.array(keys, pa.string())
        except (pa.ArrowException, UnicodeEncodeError):  # lone surrogates (JSON "\ud800") are no UTF-8: compare their bytes
            return first_occurrences(pa.array([normalize_text(k, casefold).encode("utf-8", "surrogatepass") for k in keys], pa.binary()))
    if len(keys) == 0:
        return np.zeros(0, dtype=bool)
    return _dedup_text(keys, casefold)
