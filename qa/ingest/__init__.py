"""Ingestion: read corpus files, split them into documents, chunk documents by article."""

from __future__ import annotations

from typing import Any

__all__ = ["FileReport", "IngestResult", "ingest_paths", "ingest_text"]


def __getattr__(name: str) -> Any:
    # Lazy: qa.chunk uses qa.ingest's line patterns, and the pipeline here uses qa.chunk.
    if name in ("IngestResult", "ingest_paths", "ingest_text"):
        from qa.ingest import pipeline

        return getattr(pipeline, name)
    if name == "FileReport":
        from qa.ingest.reader import FileReport

        return FileReport
    raise AttributeError(name)
