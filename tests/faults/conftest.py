"""Fixtures of the fault suite: the small corpus of the index-build tests."""
from tests.small_corpus import corpus, settings  # noqa: F401  (fixtures)
