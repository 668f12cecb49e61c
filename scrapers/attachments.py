"""Text of attached files, so that PDF-only and Word-only documents (common for local resolutions)
become searchable. Pure: bytes in, text out; downloading is the sources' job (through the fetcher).

- PDF with `pypdf`, in a child process killed after `readers.pdf_timeout` seconds, at most
  `readers.pdf_max_pages` pages (kb.readers.pdf_pages: a hostile file on a source site must not hang
  `kb refresh`). A PDF without a text layer (a scan) gives no text and is flagged `scanned`.
  OCR is optional (config `refresh.ocr`): when `pdftoppm` (poppler-utils) and `tesseract` with the
  Vietnamese model (`tesseract-ocr-vie`) are installed, scanned pages are read with them.
- DOCX with `python-docx`, after kb.readers' checks of the package (no zip bomb, no XML entity
  declarations): paragraphs and tables in document order.
- Legacy DOC (Word 97-2003, common on provincial gazettes): read with `antiword` when installed,
  otherwise the attachment is kept without text and a note says why.
- HTML and plain text files are read directly.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from kb.articles import split_articles
from kb.readers import Limits, open_docx, pdf_pages
from kb.text import nfc
from scrapers.base import FileRef, html_to_text

SCANNED_LETTERS_PER_PAGE = 20  # fewer letters than this per page on average: a scan


@dataclass
class Extracted:
    text: str = ""
    format: str = ""  # pdf, docx, doc, html, txt, unknown
    scanned: bool = False
    pages: int | None = None
    note: str | None = None  # why there is no text, or how it was obtained (OCR)


def detect_format(content: bytes, name: str = "", content_type: str | None = None) -> str:
    head = content[:8]
    lower = (name or "").lower()
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "docx" if b"word/" in content[:200000] or lower.endswith(".docx") else "zip"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "doc"
    ctype = (content_type or "").lower()
    if lower.endswith((".htm", ".html")) or "html" in ctype or content.lstrip()[:1] == b"<":
        return "html"
    if lower.endswith(".txt") or ctype.startswith("text/plain"):
        return "txt"
    return "unknown"


def extract_text(
    content: bytes, name: str = "", content_type: str | None = None, ocr: bool = False, limits: Limits | None = None
) -> Extracted:
    """The text of one file. Never raises on a bad file: the note says what went wrong.
    `limits` (kb.readers.Limits.from_config(config)): defaults when not given."""
    kind = detect_format(content, name, content_type)
    limits = limits or Limits()
    try:
        if kind == "pdf":
            return _pdf(content, ocr, limits)
        if kind == "docx":
            return Extracted(_docx(content, limits), "docx")
        if kind == "doc":
            return _doc(content)
        if kind == "html":
            return Extracted(html_to_text(content.decode("utf-8", errors="replace")), "html")
        if kind == "txt":
            return Extracted(nfc(content.decode("utf-8", errors="replace")).strip(), "txt")
    except Exception as exc:  # a corrupt or encrypted file must not stop the refresh
        return Extracted("", kind, note=f"unreadable {kind.upper()} file: {type(exc).__name__}: {str(exc)[:120]}")
    return Extracted("", kind, note=f"unsupported file format ({kind})")


def preferred(files: list[FileRef]) -> list[FileRef]:
    """Files in the order worth reading: the main text (DOCX, then DOC) before PDFs, appendices last."""

    def rank(ref: FileRef):
        name = ref.name.lower()
        fmt = 0 if name.endswith(".docx") else 1 if name.endswith(".doc") else 2 if name.endswith(".pdf") else 3
        kind = {"main": 0, "original": 1, "other": 2, "appendix": 3}.get(ref.kind, 2)
        return (kind == 3, fmt, kind)

    return sorted((f for f in files if f.url), key=rank)


# --- formats ---------------------------------------------------------------------------------------
def _pdf(content: bytes, ocr: bool, limits: Limits) -> Extracted:
    pages = pdf_pages(content, limits)
    text = _tidy("\n".join(pages))
    count = len(pages)
    letters = sum(ch.isalpha() for ch in text)
    if count and letters >= SCANNED_LETTERS_PER_PAGE * count:
        return Extracted(text, "pdf", pages=count)
    result = Extracted("", "pdf", scanned=True, pages=count, note="scanned PDF without a text layer")
    if ocr:
        ocr_text, why = _ocr(content)
        if ocr_text:
            result.text, result.note = ocr_text, "text read by OCR (Tesseract, vie)"
        else:
            result.note += f"; {why}"
    return result


def _docx(content: bytes, limits: Limits) -> str:
    document = open_docx(content, limits)
    lines: list[str] = []
    for block in document.iter_inner_content():
        if hasattr(block, "rows"):
            for row in block.rows:
                cells: list[str] = []
                for cell in row.cells:
                    value = " ".join(cell.text.split())
                    if value and (not cells or cells[-1] != value):  # merged cells repeat their text
                        cells.append(value)
                if cells:
                    lines.append(" | ".join(cells))
        else:
            lines.append(block.text)
    return _tidy("\n".join(lines))


def _doc(content: bytes) -> Extracted:
    antiword = shutil.which("antiword")
    if not antiword:
        return Extracted("", "doc", note="Word 97-2003 (.doc) file: install antiword to read its text")
    with tempfile.NamedTemporaryFile(suffix=".doc") as tmp:
        tmp.write(content)
        tmp.flush()
        done = subprocess.run([antiword, "-m", "UTF-8.txt", tmp.name], capture_output=True, timeout=120)
    if done.returncode != 0:
        return Extracted("", "doc", note=f"antiword failed: {done.stderr.decode(errors='replace')[:120]}")
    return Extracted(_tidy(done.stdout.decode("utf-8", errors="replace")), "doc")


def _ocr(content: bytes) -> tuple[str, str]:
    pdftoppm, tesseract = shutil.which("pdftoppm"), shutil.which("tesseract")
    if not (pdftoppm and tesseract):
        return "", "OCR needs pdftoppm (poppler-utils) and tesseract (tesseract-ocr-vie)"
    with tempfile.TemporaryDirectory() as folder:
        pdf = Path(folder) / "in.pdf"
        pdf.write_bytes(content)
        subprocess.run(
            [pdftoppm, "-r", "200", "-png", str(pdf), str(Path(folder) / "page")],
            capture_output=True,
            timeout=600,
            check=False,
        )
        texts = []
        for image in sorted(Path(folder).glob("page*.png")):
            done = subprocess.run([tesseract, str(image), "stdout", "-l", "vie"], capture_output=True, timeout=600)
            if done.returncode != 0:
                return "", f"tesseract failed: {done.stderr.decode(errors='replace')[:120]}"
            texts.append(done.stdout.decode("utf-8", errors="replace"))
    return _tidy("\n".join(texts)), ""


def _tidy(text: str) -> str:
    """NFC, whitespace collapsed inside lines, no empty lines."""
    lines = (" ".join(line.split()) for line in nfc(text).split("\n"))
    return "\n".join(line for line in lines if line)


def apply(doc, ref: FileRef, got: Extracted, source: str) -> bool:
    """Record what one attachment gave: flag it scanned, take its text as the document's text
    (split into articles), or note why it gave none. True when the document got its text."""
    for att in doc.attachments:
        if att.name == ref.name:
            att.scanned = got.scanned
    if got.text:
        doc.text = got.text
        doc.articles = split_articles(got.text)
        return True
    if got.note:
        doc.extra.setdefault(source, {}).setdefault("file_notes", {})[ref.name] = got.note
    return False
