"""`similarity`: cosine similarity of sentence embeddings of original and rewrite within [min, max].

Below `min` the rewrite drifted away; above `max` it is a near-copy (not a rewrite). The model is
loaded once per process by the project's `Encoder` (synth_assets/llm/embeddings.py; offline all-MiniLM-L6-v2
by default).
"""

from __future__ import annotations

import numpy as np

from synth_assets.llm.embeddings import Encoder
from synth_assets.quality.validators.base import Candidate, Verdict
from synth_assets.quality.validators.specs import SimilaritySpec


class SimilarityValidator:
    """Embeds each distinct text once per call, in batches of `batch_size`; score = cosine similarity."""

    def __init__(self, spec: SimilaritySpec | None = None, *, batch_size: int = 64, device: str = "cpu"):
        self.spec = spec or SimilaritySpec()
        self.name = self.spec.name or "similarity"
        self.encoder = Encoder(self.spec.model, self.spec.backend, batch_size=batch_size, device=device)

    def similarities(self, pairs: list[tuple[str, str]]) -> np.ndarray:
        """Cosine similarity of each (a, b) pair."""
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        distinct = list(dict.fromkeys(t for pair in pairs for t in pair))
        vectors = self.encoder.encode(distinct)
        row = {t: i for i, t in enumerate(distinct)}
        a = vectors[[row[p[0]] for p in pairs]]
        b = vectors[[row[p[1]] for p in pairs]]
        return np.clip(np.einsum("ij,ij->i", a, b), -1.0, 1.0)

    def validate(self, candidates: list[Candidate]) -> list[Verdict]:
        sims = self.similarities([(c.original, c.rewrite) for c in candidates])
        lo, hi = self.spec.min, self.spec.max
        out = []
        for sim in (float(s) for s in sims):
            if sim < lo:
                reason = f"meaning drifted: similarity {sim:.2f} < min {lo}"
            elif sim > hi:
                reason = f"near-copy, not a rewrite: similarity {sim:.2f} > max {hi}"
            else:
                reason = f"similarity {sim:.2f} within [{lo}, {hi}]"
            out.append(Verdict(self.name, lo <= sim <= hi, round(sim, 4), reason))
        return out
