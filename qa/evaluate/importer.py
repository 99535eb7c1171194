"""Gold sets as evaluators write them: JSONL, CSV or XLSX with only a question and a reference answer.

`import_gold(path)` reads any of the three (a UTF-8 BOM is accepted; CSV also in GBK), with column
names in Chinese or English (问题 / question, 参考答案 / answer, 要点 / key_points …), and returns the
items plus plain-Chinese notes saying what the file lacks and what that disables:

- no evidence → no retrieval recall (R@k, MRR) for those questions;
- no key points → the key-point score uses figures taken from the reference answer (20%, 100万元 …),
  and questions without any figure are judged by people only;
- no type → every question counts as a fact question (none is expected to be declined);
- no persona → no breakdown by persona.

Problems that make the file unusable raise `GoldImportError` with a Chinese message naming the row.
The strict format of eval/gold.jsonl (`qa.evaluate.gold.load_gold`, `qa eval --check`) is unchanged;
a full eval/gold.jsonl line imports to the same item.
"""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from qa.evaluate.gold import PERSONAS, TYPES, GoldItem

SUFFIXES = (".jsonl", ".json", ".csv", ".xlsx")
MAX_ROWS = 100_000

# canonical field → accepted column names (compared lower-case, without spaces, underscores, brackets)
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "编号", "序号", "题号", "问题编号"),
    "question": ("question", "问题", "提问", "题目", "问"),
    "answer": ("answer", "reference", "参考答案", "答案", "标准答案", "参考回答", "reference_answer"),
    "key_points": ("key_points", "keypoints", "要点", "关键点", "得分点", "答案要点"),
    "evidence": ("evidence", "证据", "原文", "依据", "证据原文"),
    "type": ("type", "类型", "题型", "问题类型"),
    "persona": ("persona", "人群", "角色", "用户类型", "提问人"),
    "validity": ("validity", "有效性"),
    "source": ("source", "来源"),
    "sources": ("sources",),
}
TYPE_NAMES = {
    "事实": "fact", "数字": "numeric", "数额": "amount", "金额": "amount", "列举": "list", "清单": "list",
    "是非": "yesno", "是否": "yesno", "多文件": "multi", "文件": "by-doc", "拒答": "unanswerable",
    "无法回答": "unanswerable", "不可回答": "unanswerable", "期限": "deadline", "部门": "department",
    "条件": "condition", "比较": "comparison", "综合": "broad", "部分": "partial", "有效性": "validity",
}
PERSONA_NAMES = {"市民": "citizen", "群众": "citizen", "居民": "citizen", "企业": "enterprise",
                 "评测": "evaluator", "评测员": "evaluator"}  # fmt: skip
UNSPECIFIED = "未注明"
_SPLIT = re.compile(r"[；;\n]+")
# figures a correct answer must state: 20%, 100万元, 8‰, 3个工作日, 500元 …
_FIGURE = re.compile(
    r"\d+(?:\.\d+)?\s*(?:%|‰|万元|亿元|元|万|亿|个工作日|工作日|个月|日|天|年|周岁|岁|平方米|亩|人|家|次|倍)"
)


class GoldImportError(ValueError):
    """The file cannot be used; the message (Chinese) says why and where."""


@dataclass
class GoldImport:
    items: list[GoldItem]
    notes: list[str] = field(default_factory=list)  # what is missing and what that disables
    columns: dict[str, str] = field(default_factory=dict)  # canonical field → column found
    auto_key_points: set[str] = field(default_factory=set)  # ids whose key points came from the answer
    fmt: str = ""

    def summary(self) -> str:
        unans = sum(not it.answerable for it in self.items)
        head = f"已载入 {len(self.items)} 个问题（{self.fmt}）"
        return head + (f"，其中 {unans} 个应拒答" if unans else "")


def _norm_header(h: Any) -> str:
    s = str(h or "").strip().lstrip("\ufeff").lower()
    s = re.sub(r"[\s_\-（）()\[\]【】/]+", "", s)
    return s


_LOOKUP = {_norm_header(a): k for k, names in ALIASES.items() for a in names}


def figures_of(text: str) -> list[str]:
    """Figures in a reference answer, as key points (de-duplicated, in order)."""
    return list(dict.fromkeys(m.group(0).replace(" ", "") for m in _FIGURE.finditer(text or "")))[:6]


def _split_list(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("[") and text.endswith("]"):
        try:
            parsed = json.loads(text)
            if isinstance(parsed, list):
                return [str(v).strip() for v in parsed if str(v).strip()]
        except ValueError:
            pass
    return [p.strip() for p in _SPLIT.split(text) if p.strip()]


# ---------------------------------------------------------------- readers: rows of {header: value}


def _decode(raw: bytes, name: str) -> str:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise GoldImportError(f"{name}：无法识别文件编码，请另存为 UTF-8 编码后再上传")


def _read_jsonl(raw: bytes, name: str) -> list[dict[str, Any]]:
    text = _decode(raw, name).strip()
    if text.startswith("["):  # a JSON array is accepted too
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise GoldImportError(f"{name}：不是有效的 JSON（{exc}）") from None
        rows = data
    else:
        rows = []
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rows.append(json.loads(line))
            except ValueError as exc:
                raise GoldImportError(f"{name} 第 {n} 行：不是有效的 JSON（{getattr(exc, 'msg', exc)}）") from None
    for n, row in enumerate(rows, 1):
        if not isinstance(row, dict):
            raise GoldImportError(f"{name} 第 {n} 条：应为 JSON 对象（{{\"question\": …, \"answer\": …}}）")
    return rows


def _read_csv(raw: bytes, name: str) -> list[dict[str, Any]]:
    text = _decode(raw, name)
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    table = [row for row in reader]
    return _rows_from_table(table, name)


def _rows_from_table(table: list[list[Any]], name: str) -> list[dict[str, Any]]:
    table = [r for r in table if any(str(c or "").strip() for c in r)]
    if not table:
        raise GoldImportError(f"{name}：文件是空的")
    header = [str(h or "").strip().lstrip("\ufeff") for h in table[0]]
    return [{header[i]: (row[i] if i < len(row) else "") for i in range(len(header)) if header[i]} for row in table[1:]]


_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
_REL = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def _col_index(ref: str) -> int:
    n = 0
    for ch in re.match(r"[A-Z]+", ref).group(0):  # type: ignore[union-attr]
        n = n * 26 + ord(ch) - 64
    return n - 1


def _read_xlsx(raw: bytes, name: str) -> list[dict[str, Any]]:
    """The first worksheet of an .xlsx (Office Open XML), with the standard library only."""
    try:
        z = zipfile.ZipFile(io.BytesIO(raw))
        names = set(z.namelist())
        shared: list[str] = []
        if "xl/sharedStrings.xml" in names:
            root = ElementTree.fromstring(z.read("xl/sharedStrings.xml"))
            for si in root.findall("m:si", _NS):
                shared.append("".join(t.text or "" for t in si.iter(f"{{{_NS['m']}}}t")))
        sheet = "xl/worksheets/sheet1.xml"
        if "xl/workbook.xml" in names and "xl/_rels/workbook.xml.rels" in names:  # the first sheet in tab order
            wb = ElementTree.fromstring(z.read("xl/workbook.xml"))
            first = wb.find("m:sheets/m:sheet", _NS)
            rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
            if first is not None:
                rid = first.get(_REL)
                for rel in rels:
                    if rel.get("Id") == rid:
                        target = rel.get("Target", "").lstrip("/")
                        sheet = target if target.startswith("xl/") else "xl/" + target
        root = ElementTree.fromstring(z.read(sheet))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError, OSError) as exc:
        raise GoldImportError(f"{name}：不是有效的 Excel（.xlsx）文件（{type(exc).__name__}）；旧的 .xls 请另存为 .xlsx 或 CSV") from None
    table: list[list[Any]] = []
    for row in root.iter(f"{{{_NS['m']}}}row"):
        cells: dict[int, str] = {}
        for c in row.findall("m:c", _NS):
            ref, kind = c.get("r", ""), c.get("t", "")
            if kind == "inlineStr":
                value = "".join(t.text or "" for t in c.iter(f"{{{_NS['m']}}}t"))
            else:
                v = c.find("m:v", _NS)
                value = v.text if v is not None and v.text is not None else ""
                if kind == "s" and value:
                    value = shared[int(value)] if int(value) < len(shared) else ""
            idx = _col_index(ref) if ref else len(cells)
            cells[idx] = value
        if cells:
            table.append([cells.get(i, "") for i in range(max(cells) + 1)])
        if len(table) > MAX_ROWS + 1:
            break
    return _rows_from_table(table, name)


# ---------------------------------------------------------------- rows → items


def _canonical(rows: list[dict[str, Any]], name: str) -> tuple[list[dict[str, Any]], dict[str, str], list[str]]:
    headers: list[str] = []
    for r in rows:
        headers.extend(h for h in r if h not in headers)
    columns: dict[str, str] = {}
    ignored: list[str] = []
    for h in headers:
        key = _LOOKUP.get(_norm_header(h))
        if key and key not in columns:
            columns[key] = h
        elif not key:
            ignored.append(str(h))
    out = [{key: r.get(col) for key, col in columns.items()} for r in rows]
    return out, columns, ignored


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def import_rows(rows: list[dict[str, Any]], name: str = "评测集", fmt: str = "") -> GoldImport:
    if len(rows) > MAX_ROWS:
        raise GoldImportError(f"{name}：问题过多（{len(rows)} 行，上限 {MAX_ROWS}）")
    canon, columns, ignored = _canonical(rows, name)
    if "question" not in columns:
        found = "、".join(str(h) for r in rows[:1] for h in r) or "（无）"
        raise GoldImportError(f"{name}：找不到“问题”列（可写作 问题 / question）。文件中的列：{found[:200]}")
    items: list[GoldItem] = []
    auto: set[str] = set()
    ids: set[str] = set()
    no_answer = 0
    for n, row in enumerate(canon, 1):
        raw_q = row.get("question")
        # as written (a JSONL question is taken verbatim, as by the strict loader); only blank is empty
        question = raw_q if isinstance(raw_q, str) and raw_q.strip() else _text(raw_q)
        if not question:
            if not any(_text(v) for v in row.values()):
                continue
            raise GoldImportError(f"{name} 第 {n} 条：问题为空")
        qid = _text(row.get("id")) or f"Q{n:03d}"
        if qid in ids:
            raise GoldImportError(f"{name} 第 {n} 条：编号 {qid} 重复")
        ids.add(qid)
        answer = _text(row.get("answer"))
        no_answer += not answer
        qtype = _text(row.get("type")) or "fact"
        qtype = TYPE_NAMES.get(qtype, qtype)
        if qtype not in TYPES:
            raise GoldImportError(f"{name} 第 {n} 条（{qid}）：未知的类型“{qtype[:20]}”，可用：{'、'.join(TYPES)}")
        persona = _text(row.get("persona")) or UNSPECIFIED
        persona = PERSONA_NAMES.get(persona, persona)
        if persona not in PERSONAS and persona != UNSPECIFIED:
            raise GoldImportError(f"{name} 第 {n} 条（{qid}）：未知的人群“{persona[:20]}”，可用：市民 citizen、企业 enterprise、评测 evaluator")
        kps = _split_list(row.get("key_points"))
        evidence = _split_list(row.get("evidence"))
        if not kps and qtype != "unanswerable" and answer and "key_points" not in columns:
            kps = figures_of(answer)
            if kps:
                auto.add(qid)
        source = row.get("source")
        if isinstance(source, str) and source.strip().startswith("{"):
            try:
                source = json.loads(source)
            except ValueError:
                source = None
        validity = row.get("validity")
        if isinstance(validity, str):
            try:
                validity = json.loads(validity) if validity.strip() else None
            except ValueError:
                raise GoldImportError(f"{name} 第 {n} 条（{qid}）：有效性（validity）不是 JSON 对象") from None
        if validity is not None and not (isinstance(validity, dict) and isinstance(validity.get("in_force_on"), dict)):
            raise GoldImportError(f"{name} 第 {n} 条（{qid}）：有效性（validity）应为 {{\"doc_number\", \"effective\", \"expiry\", \"in_force_on\"}}")
        sources = row.get("sources") if isinstance(row.get("sources"), list) else []
        items.append(GoldItem(id=qid, persona=persona, type=qtype, question=question, answer=answer, key_points=kps,
                              evidence=evidence, source=source if isinstance(source, dict) else None,
                              sources=sources, validity=validity))  # fmt: skip
    if not items:
        raise GoldImportError(f"{name}：没有问题")
    return GoldImport(items=items, notes=_notes(items, columns, ignored, auto, no_answer), columns=columns,
                      auto_key_points=auto, fmt=fmt)  # fmt: skip


def _notes(items: list[GoldItem], columns: dict[str, str], ignored: list[str], auto: set[str], no_answer: int) -> list[str]:
    notes: list[str] = []
    answerable = [it for it in items if it.answerable]
    if no_answer:
        notes.append(f"{no_answer} 个问题没有参考答案：这些问题只能人工评价。")
    no_ev = sum(not it.evidence for it in answerable)
    if "evidence" not in columns:
        notes.append("没有“证据”列（evidence，文件原文片段）：不计算检索召回率（R@k、MRR）。")
    elif no_ev:
        notes.append(f"{no_ev} 个问题没有证据原文：这些问题不计入检索召回率。")
    if "key_points" not in columns:
        without = sum(1 for it in answerable if it.id not in auto)
        msg = "没有“要点”列（key_points，用；分隔）："
        msg += f"已从参考答案中提取数字作为要点（{len(auto)} 个问题）" if auto else "不计算要点覆盖率"
        if auto and without:
            msg += f"，其余 {without} 个问题不计算要点覆盖率"
        notes.append(msg + "；要点覆盖率与人工评价的一致性仅供参考。")
    if "type" not in columns:
        notes.append("没有“类型”列（type）：全部按事实题计，不评估拒答，也没有按类型的细分。")
    if "persona" not in columns:
        notes.append("没有“人群”列（persona）：没有按人群的细分。")
    if "validity" not in columns:
        notes.append("没有“有效性”列（validity）：不计算有效性准确率。")
    if ignored:
        notes.append("未识别的列（已忽略）：" + "、".join(ignored[:10]))
    return notes


def import_gold(path: str | Path, name: str | None = None) -> GoldImport:
    """Read a gold set from a .jsonl/.json, .csv or .xlsx file (see the module doc)."""
    path = Path(path)
    name = name or path.name
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise GoldImportError(f"{name}：不支持的文件类型“{suffix or '无扩展名'}”，请上传 .jsonl、.csv 或 .xlsx 文件")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise GoldImportError(f"找不到文件：{name}") from None
    except OSError as exc:
        raise GoldImportError(f"无法读取文件 {name}：{exc.strerror}") from None
    if not raw.strip():
        raise GoldImportError(f"{name}：文件是空的")
    if suffix in (".jsonl", ".json"):
        rows, fmt = _read_jsonl(raw, name), "JSONL"
    elif suffix == ".csv":
        rows, fmt = _read_csv(raw, name), "CSV"
    else:
        rows, fmt = _read_xlsx(raw, name), "Excel"
    return import_rows(rows, name, fmt)


def write_xlsx(path: str | Path, table: list[list[Any]]) -> Path:
    """A minimal one-sheet .xlsx (inline strings): for exports and tests, no third-party package."""
    from xml.sax.saxutils import escape

    def col(i: int) -> str:
        s = ""
        i += 1
        while i:
            i, r = divmod(i - 1, 26)
            s = chr(65 + r) + s
        return s

    rows_xml = []
    for r, row in enumerate(table, 1):
        cells = "".join(
            f'<c r="{col(c)}{r}" t="inlineStr"><is><t xml:space="preserve">{escape(str(v))}</t></is></c>'
            for c, v in enumerate(row)
        )
        rows_xml.append(f'<row r="{r}">{cells}</row>')
    sheet = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
             + "".join(rows_xml) + "</sheetData></worksheet>")  # fmt: skip
    files = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>',
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="gold" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": sheet,
    }
    path = Path(path)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for n, content in files.items():
            z.writestr(n, content)
    return path
