"""Read corpus files into text, whatever their encoding, and say why when we can't."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

TEXT_SUFFIXES = {".txt", ".md", ".text", ""}


@dataclass
class FileReport:
    """What ingestion made of one input file."""

    path: str
    ok: bool
    encoding: str | None = None
    documents: int = 0
    chunks: int = 0
    message: str = ""  # why it was skipped, or a warning (e.g. repaired truncated UTF-8)
    warnings: list[str] = field(default_factory=list)
    format: str = "text"  # which reader read it: text | docx | doc | pdf | pdf-ocr | html | ofd | image-ocr
    meta: dict[str, str] = field(default_factory=dict)  # title / number / issuer / date the format carried


class UnreadableFile(Exception):
    """Raised with a clear, bilingual reason; the caller reports and skips the file."""


def decode_bytes(data: bytes) -> tuple[str, str, list[str]]:
    """Decode UTF-8 (with or without BOM), else GB18030 (a superset of GBK/GB2312).

    Returns (text, encoding, warnings). Raises UnreadableFile for binary or empty input.
    """
    if not data.strip():
        raise UnreadableFile("空文件 / empty file")
    sample = data[:65536]
    if b"\x00" in sample:
        raise UnreadableFile("二进制文件（含 NUL 字节），已跳过 / binary file (contains NUL bytes), skipped")
    controls = sum(1 for b in sample if b < 9 or 13 < b < 32)
    if controls > len(sample) * 0.02:
        raise UnreadableFile("二进制文件（控制字符过多），已跳过 / binary file (too many control bytes), skipped")
    try:
        return data.decode("utf-8-sig"), "utf-8", []
    except UnicodeDecodeError as err:
        # A file cut in the middle of a multi-byte character: keep everything before it.
        if err.start >= len(data) - 3:
            return data[: err.start].decode("utf-8-sig"), "utf-8", [
                "UTF-8 在文件末尾被截断，已丢弃最后不完整的字符 / truncated UTF-8 at end of file; dropped the partial character"
            ]
        utf8_error = err
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        raise UnreadableFile(
            f"无法识别的编码（既不是 UTF-8 也不是 GBK/GB18030）/ unknown encoding (not UTF-8 or GBK/GB18030): {utf8_error}"
        ) from None
    # GB18030 decodes almost any byte string; insist the result looks like Chinese text.
    cjk = sum(1 for ch in text[:20000] if "\u4e00" <= ch <= "\u9fff")
    if cjk < min(len(text), 20000) * 0.05:
        raise UnreadableFile("无法识别的编码 / unknown encoding: not UTF-8, and not Chinese text in GBK/GB18030")
    return text, "gb18030", []


def read_limited(path: Path, max_bytes: int) -> bytes:
    """The bytes of one file of at most `max_bytes`; raises UnreadableFile with the reason."""
    try:
        size = path.stat().st_size
    except OSError as err:
        raise UnreadableFile(f"无法读取 / cannot read: {err.strerror}") from None
    if size > max_bytes:
        raise UnreadableFile(
            f"文件过大（{size / 1e6:.1f} MB，上限 {max_bytes / 1e6:.0f} MB），已跳过 / "
            f"file too large ({size / 1e6:.1f} MB > {max_bytes / 1e6:.0f} MB limit, set QA_MAX_FILE_MB), skipped"
        )
    try:
        data = path.read_bytes()
    except OSError as err:
        raise UnreadableFile(f"无法读取 / cannot read: {err.strerror}") from None
    return data


def expand_paths(paths: list[Path]) -> list[Path]:
    """Files given directly, plus the text files below given directories, in a stable order."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            out.extend(sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")))
        else:
            out.append(p)
    return out
