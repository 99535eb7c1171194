"""Ingestion: read corpus files, split them into documents, chunk documents by article."""

from qa.ingest.pipeline import IngestResult, ingest_paths, ingest_text
from qa.ingest.reader import FileReport

__all__ = ["FileReport", "IngestResult", "ingest_paths", "ingest_text"]
