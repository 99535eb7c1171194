"""Knowledge kept as data, not code: language patterns (intents, slots) and corpus knowledge
(places, everyday → official terms, filler words). `load(name)` reads one TOML file of this
folder, or the same-named file in the folder named by QA_DATA_DIR when a corpus brings its own."""

from __future__ import annotations

import os
import re
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


@lru_cache(maxsize=None)
def load(name: str) -> dict[str, Any]:
    """The parsed TOML file `name` (e.g. "intents.toml"); a corpus folder's copy wins."""
    override = os.environ.get("QA_DATA_DIR")
    for folder in ([Path(override)] if override else []) + [HERE]:
        path = folder / name
        if path.is_file():
            with path.open("rb") as fh:
                return tomllib.load(fh)
    raise FileNotFoundError(f"data file {name} not found in {HERE}" + (f" or {override}" if override else ""))


@lru_cache(maxsize=None)
def patterns(name: str, table: str, **fill: str) -> dict[str, re.Pattern[str]]:
    """The string entries of one table of a data file, compiled (slots.toml [term] → `ends`, `after`, …);
    `{key}` in a pattern is replaced by fill[key] (a list of names kept in another data file)."""
    out = {}
    for key, value in load(name)[table].items():
        if isinstance(value, str):
            for k, v in fill.items():
                value = value.replace("{" + k + "}", v)
            out[key] = re.compile(value)
    return out
