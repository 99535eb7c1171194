"""Shared fixtures: the real seeds, parsed once per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def corpus():
    """The real corpus, ingested once."""
    from qa.ingest import ingest_paths

    return ingest_paths([SEEDS])
