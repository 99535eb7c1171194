"""OCR for scanned PDF pages and images: rapidocr-onnxruntime (PP-OCRv4 models inside the wheel,
no download at run time), installed by the `ocr` extra. Without it, scans are refused with a
clear "扫描件需要OCR" message."""

from __future__ import annotations

import importlib.util
import io
import re
import threading
from functools import lru_cache
from typing import Any

from qa.ingest.formats import ReadResult
from qa.ingest.formats.layout import Page, PLine, normalize_header, reflow
from qa.ingest.reader import UnreadableFile

_lock = threading.Lock()
NEED_OCR = (
    "扫描件需要OCR：这是扫描图片，没有文字层，请安装 OCR 组件后重试：pip install \"policy-qa[ocr]\"（rapidocr-onnxruntime）"
    " / a scanned image needs OCR: install the ocr extra"
)


def ocr_available() -> bool:
    return importlib.util.find_spec("rapidocr_onnxruntime") is not None


@lru_cache(maxsize=1)
def _engine() -> Any:
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR()


def ocr_page_image(image: Any, scale: float = 1.0) -> Page:
    """OCR one page image (PIL) into positioned lines (coordinates × scale)."""
    import numpy as np

    arr = np.asarray(image.convert("RGB"))
    with _lock:  # one OCR at a time: the models are shared and the machine is small
        result, _ = _engine()(arr)
    boxes = []
    for box, text, score in result or []:
        if not text.strip() or float(score) < 0.5:
            continue
        xs = [p[0] for p in box]
        ys = [p[1] for p in box]
        boxes.append(PLine(fix_text(text.strip()), min(xs) * scale, max(xs) * scale, min(ys) * scale, max(ys) * scale,
                           (max(ys) - min(ys)) * scale))
    # OCR boxes are pieces of lines: merge boxes on the same line, left to right
    boxes.sort(key=lambda b: ((b.top + b.bottom) / 2, b.x0))
    lines: list[PLine] = []
    for b in boxes:
        if lines:
            last = lines[-1]
            mid = (b.top + b.bottom) / 2
            if last.top <= mid <= last.bottom and b.x0 >= last.x0:
                lines[-1] = PLine(last.text + b.text, last.x0, max(last.x1, b.x1), min(last.top, b.top),
                                  max(last.bottom, b.bottom), max(last.size, b.size))
                continue
        lines.append(b)
    return Page(image.width * scale, image.height * scale, lines)


_NUMBER = re.compile(r"([\u4e00-\u9fff]{1,12})\s*[〔\[［(（【{]\s*((?:19|20)\d{2})\s*[〕\]］)）】}]\s*(\d{1,4})\s*号")


def fix_text(text: str) -> str:
    """Common OCR slips in what the parser keys on: the brackets of a 发文字号 (〔2023】 → 〔2023〕)."""
    return _NUMBER.sub(lambda m: f"{m[1]}〔{m[2]}〕{m[3]}号", text)


def read_image(data: bytes) -> ReadResult:
    if not ocr_available():
        raise UnreadableFile(NEED_OCR)
    from PIL import Image, UnidentifiedImageError

    try:
        images = []
        with Image.open(io.BytesIO(data)) as im:
            for frame in range(getattr(im, "n_frames", 1)):  # multi-page TIFF
                im.seek(frame)
                images.append(im.convert("RGB"))
    except (UnidentifiedImageError, OSError) as err:
        raise UnreadableFile(f"图片已损坏或格式不支持 / damaged or unsupported image: {err}") from None
    pages = [ocr_page_image(im) for im in images]
    lines = reflow(pages)
    if not any(ln.text.strip() for ln in lines):
        raise UnreadableFile("图片中没有识别出文字 / OCR found no text in the image")
    text = "\n".join(normalize_header([ln.text for ln in lines]))
    return ReadResult(text=text, format="image-ocr", warnings=["文字由 OCR 识别，请核对 / text read by OCR, please check"])
