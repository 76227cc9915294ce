"""The library's own exceptions. Shells (CLI, UI) turn them into messages."""


class QAError(Exception):
    """Base class: `str(error)` is a complete, user-facing Chinese message."""

    exit_code = 1


class BadQuestion(QAError):
    """Empty, whitespace-only or over-long question."""

    exit_code = 2


class UnknownLabel(QAError):
    """A clause label (or document id) that the index does not hold."""

    exit_code = 3


class EmptyCorpus(QAError):
    """Nothing readable to index."""

    exit_code = 4


class IndexUnavailable(QAError):
    """The index is missing, corrupt or built with other settings."""

    exit_code = 5


class IndexBusy(QAError):
    """Another ingest holds the index's lock for longer than we wait."""

    exit_code = 7


class IndexWriteFailed(QAError):
    """A new build could not be written (disk full, no permission); the live index is unchanged."""

    exit_code = 8


class ConfigError(QAError):
    """A setting has a value the assistant cannot use."""

    exit_code = 6


class UnreadableFile(QAError):
    """One source file could not be read; ingest skips it and goes on."""

    def __init__(self, path, reason: str):
        self.path = str(path)
        self.reason = reason
        super().__init__(f"无法读取文件 {self.path}：{reason}（已跳过，其余文件照常索引）")


class BackendUnavailable(QAError):
    """An answer or embedding endpoint failed (down, timed out, refused the key)."""
