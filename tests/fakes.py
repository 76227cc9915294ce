"""Stand-ins for heavy components, for tests that are not about them."""
from __future__ import annotations

import zlib

import numpy as np


class FakeEmbedder:
    """Deterministic embeddings for tests that are not about embedding quality:
    hashed character bigrams, L2-normalised. Similar texts get similar vectors,
    so retrieval still behaves sensibly, at no model cost."""

    name = "fake/char-bigrams-64"
    dim = 64

    def __init__(self, settings=None):
        pass

    def _vector(self, text: str) -> np.ndarray:
        vector = np.zeros(self.dim, dtype=np.float32)
        for pair in zip(text, text[1:]):
            vector[zlib.crc32("".join(pair).encode("utf-8")) % self.dim] += 1.0
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm else vector

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return np.stack([self._vector(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)
