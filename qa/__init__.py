"""政策问答: question answering over Chinese policy documents with verified citations.

Pipeline: ingest → chunk → embed/index → retrieve → answer → app, with evaluate beside it.
"""

__version__ = "0.1.0"
