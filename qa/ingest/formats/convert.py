"""Old Word (.doc), WPS (.wps), RTF and ODT: converted to .docx by LibreOffice when it is installed."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from qa.ingest.reader import UnreadableFile

TIMEOUT = 120


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def convert_to_docx(data: bytes, suffix: str) -> bytes:
    exe = soffice()
    if exe is None:
        raise UnreadableFile(
            f"{suffix} 文件需要用 LibreOffice 转换：请安装 LibreOffice（Debian/Ubuntu：apt-get install libreoffice-writer-nogui），"
            f"或在 Word/WPS 中另存为 .docx 后上传 / {suffix} files are converted with LibreOffice (soffice), which is not installed: "
            "install it, or save the file as .docx"
        )
    with tempfile.TemporaryDirectory(prefix="qa-convert-") as tmp:
        src = Path(tmp) / f"input{suffix}"
        src.write_bytes(data)
        profile = Path(tmp) / "profile"  # a private profile: parallel conversions do not collide
        cmd = [exe, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
               "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(Path(tmp) / "out"), str(src)]
        try:
            proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            raise UnreadableFile(f"LibreOffice 转换超时（{TIMEOUT} 秒）/ LibreOffice conversion timed out") from None
        out = Path(tmp) / "out" / "input.docx"
        if not out.is_file():
            detail = (proc.stderr or proc.stdout or b"").decode("utf-8", "replace").strip()[:200]
            raise UnreadableFile(
                f"LibreOffice 无法转换该 {suffix} 文件（可能已损坏或加密）/ LibreOffice could not convert this {suffix} file "
                f"(damaged or encrypted?){': ' + detail if detail else ''}"
            )
        return out.read_bytes()
