"""Chunking by article, with heading paths and locators."""

from qa.chunk.chunker import CHUNKER_VERSION

__all__ = ["CHUNKER_VERSION"]
