"""Synthetic English prompts at any size, with planted duplicates, for the dedup benchmarks.

Text: a word-bigram Markov chain trained on the SuperGLUE passages, premises and questions in
`datasets/superglue` (real English vocabulary and word order, some non-ASCII), 8-40 words per
prompt, generated vectorised with numpy. Planted on top (fractions of the total):

- `exact_variants`: an earlier prompt with whitespace changed (double space, tab, trailing newline)
  or, for half of them, case changed (a duplicate only with `casefold`);
- `near_duplicates`: an earlier prompt with 1-3 words replaced, dropped or swapped; `pairs` lists
  (original row, copy row).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SUPERGLUE = REPO / "datasets" / "superglue"


@dataclass
class Corpus:
    prompts: list[str]
    near_pairs: list[tuple[int, int]]  # (original row, edited copy row)
    exact_pairs: list[tuple[int, int]]


def _sentences() -> list[list[str]]:
    fields = {"BOOLQ": ("question", "passage"), "CB": ("premise", "hypothesis"), "Copa": ("premise", "choice1", "choice2")}
    out = []
    for folder, names in fields.items():
        for path in sorted((SUPERGLUE / folder).glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                out += [str(row[n]).split() for n in names if row.get(n)]
    return out


def _chain(sentences: list[list[str]]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(vocabulary, start word ids, CSR offsets, next-word ids) of the bigram chain."""
    vocab = sorted({w for s in sentences for w in s})
    index = {w: i for i, w in enumerate(vocab)}
    src = np.fromiter((index[a] for s in sentences for a in s[:-1]), dtype=np.int64)
    dst = np.fromiter((index[b] for s in sentences for b in s[1:]), dtype=np.int64)
    order = np.argsort(src, kind="stable")
    offsets = np.searchsorted(src[order], np.arange(len(vocab) + 1))
    starts = np.array([index[s[0]] for s in sentences if s], dtype=np.int64)
    return np.array(vocab, dtype=object), starts, offsets, dst[order]


def generate(n: int, seed: int = 0, exact_variants: float = 0.08, near_duplicates: float = 0.08) -> Corpus:
    rng = np.random.default_rng(seed)
    vocab, starts, offsets, targets = _chain(_sentences())
    counts = np.diff(offsets)
    steps = 40
    ids = np.empty((n, steps), dtype=np.int64)
    ids[:, 0] = starts[rng.integers(0, len(starts), n)]
    for t in range(1, steps):
        state = ids[:, t - 1]
        dead = counts[state] == 0  # a sentence-final word with no successor: start a new sentence
        state_next = targets[offsets[state] + (rng.random(n) * np.maximum(counts[state], 1)).astype(np.int64).clip(0, None)]
        ids[:, t] = np.where(dead, starts[rng.integers(0, len(starts), n)], state_next)
    lengths = rng.integers(8, steps + 1, n)
    prompts = [" ".join(vocab[row[:k]]) for row, k in zip(ids, lengths)]
    n_exact, n_near = int(n * exact_variants), int(n * near_duplicates)
    copies = rng.permutation(np.arange(n // 10, n))[: n_exact + n_near]  # rows overwritten by a copy of an earlier row
    exact_pairs, near_pairs = [], []
    for number, row in enumerate(copies.tolist()):
        original = int(rng.integers(0, n // 10))  # never itself overwritten
        text = prompts[original]
        if number < n_exact:
            kind = number % 4
            prompts[row] = (text.replace(" ", "  ", 1), text + "\n", text.replace(" ", "\t", 1), text.upper())[kind]
            exact_pairs.append((original, row))
        else:
            words = text.split()
            for _ in range(int(rng.integers(1, 4))):
                pos = int(rng.integers(0, len(words)))
                op = int(rng.integers(0, 3))
                if op == 0:
                    words[pos] = str(vocab[int(rng.integers(0, len(vocab)))])
                elif op == 1 and len(words) > 4:
                    del words[pos]
                elif pos + 1 < len(words):
                    words[pos], words[pos + 1] = words[pos + 1], words[pos]
            prompts[row] = " ".join(words)
            near_pairs.append((original, row))
    return Corpus(prompts, near_pairs, exact_pairs)
