"""Chinese policy question answering with clause-level citations, offline by default.

The public API: build `Settings`, hand them to an `Assistant`, ask questions.

    from qa import Assistant, Settings
    answer = Assistant(Settings.load()).ask("如何打造世界级盐湖产业基地？")

`Assistant` is loaded on first access: importing `qa` (and `qa --help`) does
not load jieba, numpy or llama-index.
"""
from qa.errors import BadQuestion, ConfigError, EmptyCorpus, IndexUnavailable, QAError, UnknownLabel, UnreadableFile
from qa.settings import Settings
from qa.text.labels import normalise_label
from qa.types import Answer, Citation, Clause, Document, Hit

__all__ = [
    "Answer", "Assistant", "BadQuestion", "Citation", "Clause", "ConfigError", "Conversation", "Document",
    "EmptyCorpus", "Hit", "IndexUnavailable", "QAError", "Settings", "UnknownLabel", "UnreadableFile",
    "normalise_label",
]


def __getattr__(name: str):
    if name == "Assistant":
        from qa.assistant import Assistant

        return Assistant
    if name == "Conversation":
        from qa.query.conversation import Conversation

        return Conversation
    raise AttributeError(f"module 'qa' has no attribute {name!r}")
