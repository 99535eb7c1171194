"""Merge the blind gold files and freeze a test split (run once; the split is committed).

The blind questions (eval/blind/raw/*.jsonl) were written by helper sessions that read only
seeds/ — never the code, eval/gold.jsonl or the system's answers. This script splits them
half/half, stratified by writer and question type, by a hash of the id (so the split does not
depend on file order), into eval/blind/tune.jsonl (tune on it freely) and eval/blind/test.jsonl
(look at it only as aggregate numbers: `qa eval --gold eval/blind/test.jsonl`).

    python eval/split_blind.py
    python eval/split_blind.py --raw eval/blind/fresh/raw --out eval/blind/fresh   # the second blind set
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "eval" / "blind" / "raw"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--raw", type=Path, default=RAW, help="folder of the helpers' *.jsonl files")
    ap.add_argument("--out", type=Path, default=ROOT / "eval" / "blind", help="where tune.jsonl and test.jsonl go")
    args = ap.parse_args()
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for path in sorted(args.raw.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                item = json.loads(line)
                groups[(path.stem, item["type"])].append(item)
    tune: list[dict] = []
    test: list[dict] = []
    flip = 0
    for key in sorted(groups):
        items = sorted(groups[key], key=lambda it: hashlib.sha256(it["id"].encode()).hexdigest())
        for n, item in enumerate(items):
            # odd-sized groups alternate which split gets the extra item
            (test if (n + flip) % 2 == 0 else tune).append(item)
        flip += len(items) % 2
    for name, items in (("tune", tune), ("test", test)):
        items.sort(key=lambda it: it["id"])
        out = args.out / f"{name}.jsonl"
        out.write_text("".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items), encoding="utf-8")
        print(f"{out}: {len(items)} questions")


if __name__ == "__main__":
    main()
