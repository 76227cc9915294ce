"""Chinese policy question answering with clause-level citations, offline by default.

The public API: build `Settings`, hand them to an `Assistant`, ask questions.

    from qa import Assistant, Settings
    answer = Assistant(Settings.load()).ask("如何打造世界级盐湖产业基地？")
"""
from .assistant import Assistant, normalise_label
from .errors import BadQuestion, ConfigError, EmptyCorpus, IndexUnavailable, QAError, UnknownLabel, UnreadableFile
from .settings import Settings
from .types import Answer, Citation, Clause, Document, Hit

__all__ = [
    "Answer", "Assistant", "BadQuestion", "Citation", "Clause", "ConfigError", "Document", "EmptyCorpus", "Hit",
    "IndexUnavailable", "QAError", "Settings", "UnknownLabel", "UnreadableFile", "normalise_label",
]
