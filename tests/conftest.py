"""Shared fixtures: the real seeds, parsed once per test session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from support import ROOT

SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def corpus():
    """The real corpus, ingested once."""
    from qa.ingest import ingest_paths

    return ingest_paths([SEEDS])


# One embedding cache for the whole test session (and across local runs): every test that
# builds an index of the seeds embeds the corpus at most once; CI starts cold, once.
EMBED_CACHE = ROOT / ".cache" / "test-embeddings"
os.environ.setdefault("QA_TEST_EMBED_CACHE", str(EMBED_CACHE))


@pytest.fixture(scope="session")
def seed_index(tmp_path_factory):
    """Settings pointing at a real index of all of seeds/, built once per session."""
    from qa.config import load_settings
    from qa.index.builder import IndexBuilder

    index_dir = tmp_path_factory.mktemp("seed-index") / "index"
    settings = load_settings(index_dir=index_dir, cache_dir=EMBED_CACHE, seeds_dir=SEEDS)
    IndexBuilder(settings).run([SEEDS], progress=False)
    return settings


@pytest.fixture(scope="session")
def assistant(seed_index):
    """The real answer pipeline over the real seed index (offline extractive mode)."""
    from qa.answer.pipeline import Assistant

    return Assistant(seed_index.with_overrides(llm_base_url=""))
