"""Write examples/new-policies/: three policies that are not in seeds/ (and were never tuned on), as a
Word file, a PDF and a saved government web page, made from examples/new-policies/src/*.txt with
real tools (python-docx, reportlab, an HTML page with site furniture). Run from the repo root:

    python scripts/make_examples.py [OUT_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from formats_maker import from_text, write_docx, write_html, write_pdf  # noqa: E402

SRC = ROOT / "examples" / "new-policies" / "src"
MADE = {
    "elevator.txt": ("招远市既有住宅加装电梯财政补贴办法.docx", write_docx, {}),
    "loan.txt": ("兰山区创业担保贷款贴息实施细则.pdf", write_pdf, {}),
    "charging.txt": ("青岛市新能源汽车充电基础设施建设运营奖补办法.html", write_html,
                     {"site": "青岛市人民政府", "pub_date": "2023-06-15", "date": "2023-06-12"}),
}


def make(out: Path) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    made = []
    for src, (name, writer, kw) in MADE.items():
        doc = from_text((SRC / src).read_text(encoding="utf-8"))
        made.append(writer(doc, out / name, **kw))
    return made


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "examples" / "new-policies"
    for p in make(target):
        print(p)
