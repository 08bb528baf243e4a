"""The built-in evaluator: a linear probe over local sentence embeddings, for datasets with a label field.

Every text of a row's input fields (the catalog's `fields`, the label left out; nested lists such as
`choices.text[*]` give one text per element) is embedded with the project's encoder (the one curation
and the similarity validator use, offline all-MiniLM-L6-v2 by default); a row's features are those
embeddings side by side, in a fixed field order. A logistic regression (scikit-learn) is trained on
the training rows and scored on the validation rows: one 1/0 per validation row, whose mean is the
accuracy. Embeddings are memoised per process: the validation split and the original rows are
embedded once for a whole sweep.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from synth_assets.core.catalog import CatalogEntry
from synth_assets.core.fields import get, parse, text_fields
from synth_assets.llm.embeddings import Encoder

_MEMO: dict[tuple[str, str], np.ndarray] = {}  # (encoder id, text) -> vector


class ProbeError(ValueError):
    """The dataset cannot be probed (no label field, no text input)."""


def _texts(entry: CatalogEntry, row: dict[str, Any]) -> dict[str, str]:
    label = parse(entry.label_field)
    return text_fields(row, entry.fields or None, label)


def _embed(encoder, texts: list[str]) -> np.ndarray:
    todo = list(dict.fromkeys(t for t in texts if (encoder.id, t) not in _MEMO))
    if todo:
        for text, vector in zip(todo, encoder.encode(todo)):
            _MEMO[(encoder.id, text)] = vector
    return np.stack([_MEMO[(encoder.id, t)] for t in texts]) if texts else np.zeros((0, 0), dtype=np.float32)


def features(encoder, entry: CatalogEntry, rows: Sequence[dict[str, Any]], slots: list[str]) -> np.ndarray:
    """One row per record: the embeddings of its texts at `slots`, side by side (zeros where a record has none)."""
    texts = [_texts(entry, row) for row in rows]
    embedded = _embed(encoder, [t[s] for t in texts for s in slots if s in t])
    dim = embedded.shape[1] if len(embedded) else 0
    vectors = iter(embedded)
    out = np.zeros((len(rows), dim * len(slots)), dtype=np.float32)
    for i, t in enumerate(texts):
        for j, slot in enumerate(slots):
            if slot in t:
                out[i, j * dim:(j + 1) * dim] = next(vectors)
    return out


def labels(entry: CatalogEntry, rows: Sequence[dict[str, Any]]) -> list[str]:
    return [str(get(row, entry.label_field)) for row in rows]


def probe_correct(entry: CatalogEntry, train: Sequence[dict[str, Any]], validation: Sequence[dict[str, Any]],
                  embedding_model: str) -> list[int]:
    """1 or 0 per validation row: did the probe trained on `train` predict its label."""
    from sklearn.linear_model import LogisticRegression

    if not entry.label_field:
        raise ProbeError(f"dataset {entry.name} has no label_field: the probe needs labelled rows (catalog {entry.name}.yaml)")
    if not train or not validation:
        raise ProbeError(f"the probe needs training and validation rows ({len(train)} train, {len(validation)} validation)")
    slots = list(dict.fromkeys(s for row in [*train, *validation] for s in _texts(entry, row)))
    if not slots:
        raise ProbeError(f"dataset {entry.name} has no text input fields to embed")
    encoder = Encoder(embedding_model)
    x_train, x_val = features(encoder, entry, train, slots), features(encoder, entry, validation, slots)
    y_train, y_val = labels(entry, train), labels(entry, validation)
    if len(set(y_train)) == 1:  # a single class: the probe can only predict it
        predicted = [y_train[0]] * len(y_val)
    else:
        model = LogisticRegression(max_iter=2000, C=1.0)
        predicted = list(model.fit(x_train, y_train).predict(x_val))
    return [int(p == y) for p, y in zip(predicted, y_val)]
