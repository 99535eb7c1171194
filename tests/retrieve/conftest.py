"""The retrieval tests use the session's shared real index of the seeds (tests/conftest.py: seed_index)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def index_settings(seed_index):
    """The shared seed index, with the optional second stage off so results do not depend on the cache."""
    return seed_index.with_overrides(rerank=False)


@pytest.fixture(scope="session")
def retriever(index_settings):
    from qa.retrieve.hybrid import Retriever

    return Retriever.load(index_settings)
