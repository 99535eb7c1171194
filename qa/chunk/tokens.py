"""Token counting with tiktoken's cl100k, from the offline package: see qa.text."""

from qa.text import count_tokens, token_encoder as encoder  # noqa: F401  (the chunker's names)
