"""A persistent, chunked cache of sentence embeddings keyed by (model id, sha256 of the text).

Cache layout: ``{cache_dir}/{model_id}/{chunk}.npy`` (float32, L2-normalised rows) and
``{chunk}.keys`` (one text sha256 per line, written last: a chunk without its keys file is
unfinished and ignored). Every chunk is written atomically as soon as it is embedded, so:
- a rerun, another eps or another collection never embeds a text twice (hits are counted);
- an interrupted run resumes from its last finished chunk.
"""

from __future__ import annotations

import hashlib
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from synth_assets.llm.embeddings import Encoder
from synth_assets.recipes.curation.progress import progress_bar


def text_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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
