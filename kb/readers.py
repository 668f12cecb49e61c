"""Reading an uploaded draft (DOCX, PDF, plain text, HTML) into plain text for the legal-basis checker.

`read_document(data, filename)` takes the bytes of an upload and returns its text; `read_path(path)`
does the same for a file. Every problem a user can cause — an empty file, a file too large, binary
garbage, a broken or scanned PDF, an old .doc — raises `ReadError` with a one-line Vietnamese message;
nothing else escapes. The format is recognised by the content (magic bytes), the name only breaks ties.
"""
from __future__ import annotations

import io
import logging
import re
import zipfile
from pathlib import Path

from kb.errors import KBError
from kb.text import nfc

MAX_BYTES = 20 * 1024 * 1024        # an upload larger than this is refused before it is parsed
MAX_PDF_PAGES = 500
MAX_TEXT_CHARS = 5_000_000           # text extracted beyond this is refused (a zip bomb, a huge PDF)
FORMATS = ("docx", "pdf", "text", "html")


class ReadError(KBError):
    """An uploaded file cannot be read as a document; the message says why, for the user."""


def read_path(path: str | Path, max_bytes: int = MAX_BYTES) -> str:
    """The text of the file at `path` (see read_document)."""
    path = Path(path)
    if not path.is_file():
        raise ReadError(f"Không tìm thấy tệp: {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise ReadError(_too_large(size, max_bytes))
    return read_document(path.read_bytes(), path.name, max_bytes=max_bytes)


def read_document(data: bytes, filename: str = "", max_bytes: int = MAX_BYTES) -> str:
    """The plain text of an uploaded DOCX, PDF, HTML or plain-text file, NFC-normalised."""
    if not isinstance(data, (bytes, bytearray)):
        raise ReadError("Nội dung tải lên không phải là tệp.")
    if len(data) > max_bytes:
        raise ReadError(_too_large(len(data), max_bytes))
    if not data.strip():
        raise ReadError("Tệp rỗng: không có nội dung để kiểm tra.")
    kind = detect_format(data, filename)
    if kind == "docx":
        text = _read_docx(data)
    elif kind == "pdf":
        text = _read_pdf(data)
    elif kind == "html":
        text = _read_html(data)
    else:
        text = _read_text(data, filename)
    text = nfc(text)
    if len(text) > MAX_TEXT_CHARS:
        raise ReadError(f"Văn bản quá dài ({len(text):,} ký tự); giới hạn là {MAX_TEXT_CHARS:,} ký tự.")
    if not text.strip():
        raise ReadError("Không đọc được chữ nào trong tệp.")
    return text


def detect_format(data: bytes, filename: str = "") -> str:
    """'docx', 'pdf', 'html' or 'text'; ReadError for formats that are recognisably something else."""
    name = filename.lower()
    head = data[:8]
    if head.startswith(b"%PDF"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "docx"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise ReadError("Tệp Word cũ (.doc) chưa được hỗ trợ: hãy lưu lại dưới dạng .docx hoặc .pdf rồi tải lên.")
    if head.startswith(b"{\\rtf"):
        raise ReadError("Tệp RTF chưa được hỗ trợ: hãy lưu lại dưới dạng .docx hoặc .pdf rồi tải lên.")
    if name.endswith((".pdf", ".docx")):
        raise ReadError(f"Tệp {filename} không phải là tệp {name.rsplit('.', 1)[1].upper()} hợp lệ.")
    sniff = data[:2048].lstrip().lower()
    if sniff.startswith((b"<!doctype html", b"<html")) or name.endswith((".html", ".htm")):
        return "html"
    return "text"


def _too_large(size: int, limit: int) -> str:
    return f"Tệp quá lớn ({size / 1048576:.1f} MB); giới hạn là {limit / 1048576:.0f} MB."


def _read_text(data: bytes, filename: str) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ReadError("Tệp văn bản UTF-16 bị hỏng.") from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("cp1258")  # Vietnamese Windows code page, still met in old files
        except UnicodeDecodeError:
            raise ReadError(_not_text(filename)) from None
        if _looks_binary(text) or not _looks_vietnamese_cp1258(data):
            raise ReadError(_not_text(filename))
        return text
    if _looks_binary(text):
        raise ReadError(_not_text(filename))
    return text


def _not_text(filename: str) -> str:
    what = f"Tệp {filename}" if filename else "Tệp"
    return f"{what} không phải là văn bản (DOCX, PDF hoặc văn bản thuần UTF-8) nên không đọc được."


def _looks_binary(text: str) -> bool:
    sample = text[:20000]
    if not sample:
        return False
    bad = sum(1 for ch in sample if (ord(ch) < 32 and ch not in "\n\r\t\f") or 0xFFF0 <= ord(ch) or ch == "\ufffd")
    return "\x00" in sample or bad / len(sample) > 0.01


def _looks_vietnamese_cp1258(data: bytes) -> bool:
    """cp1258 decodes almost any bytes; accept it only for mostly-ASCII text with few high bytes."""
    sample = data[:20000]
    high = sum(1 for b in sample if b >= 0x80)
    return high / max(1, len(sample)) < 0.3 and sum(1 for b in sample if 32 <= b < 127 or b in (9, 10, 13)) > len(sample) * 0.6


def _read_html(data: bytes) -> str:
    from bs4 import BeautifulSoup

    text = _read_text(data, "")
    soup = BeautifulSoup(text, "lxml")
    for tag in soup(["script", "style"]):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    blocks = soup.find_all(["p", "div", "li", "tr", "h1", "h2", "h3", "h4", "td"])
    for block in blocks:
        block.insert_after("\n")
    return re.sub(r"\n\s*\n+", "\n", soup.get_text())


def _read_docx(data: bytes) -> str:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            if "word/document.xml" not in names:
                raise ReadError("Tệp nén này không phải là tệp Word (.docx).")
            info = archive.getinfo("word/document.xml")
            if info.file_size > 20 * MAX_BYTES:
                raise ReadError("Tệp Word có nội dung quá lớn để đọc.")
    except zipfile.BadZipFile:
        raise ReadError("Tệp Word (.docx) bị hỏng, không mở được.") from None
    try:
        import docx  # python-docx
        from docx.oxml.ns import qn

        document = docx.Document(io.BytesIO(data))
    except ReadError:
        raise
    except Exception as exc:  # python-docx raises many kinds on a malformed package
        raise ReadError(f"Tệp Word (.docx) bị hỏng, không đọc được ({type(exc).__name__}).") from None
    lines: list[str] = []
    body = document.element.body
    for child in body.iterchildren():
        if child.tag == qn("w:p"):
            lines.append(_paragraph_text(child, qn))
        elif child.tag == qn("w:tbl"):
            for row in child.iter(qn("w:tr")):
                cells = []
                for cell in row.iter(qn("w:tc")):
                    cells.append(" ".join(_paragraph_text(p, qn) for p in cell.iter(qn("w:p"))).strip())
                lines.append(" | ".join(c for c in cells if c))
    return "\n".join(lines)


def _paragraph_text(p, qn) -> str:
    parts = []
    for node in p.iter():
        if node.tag == qn("w:t"):
            parts.append(node.text or "")
        elif node.tag in (qn("w:br"), qn("w:cr")):
            parts.append("\n")
        elif node.tag == qn("w:tab"):
            parts.append("\t")
    return "".join(parts)


def _read_pdf(data: bytes) -> str:
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)  # pypdf logs its repairs of damaged files; the user gets ReadError instead
    try:
        return _read_pdf_quietly(data)
    finally:
        logger.setLevel(level)


def _read_pdf_quietly(data: bytes) -> str:
    try:
        from pypdf import PdfReader

        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                if not reader.decrypt(""):
                    raise ReadError("Tệp PDF được đặt mật khẩu nên không đọc được.")
            except ReadError:
                raise
            except Exception:
                raise ReadError("Tệp PDF được mã hóa nên không đọc được.") from None
        pages = reader.pages
        if len(pages) > MAX_PDF_PAGES:
            raise ReadError(f"Tệp PDF có {len(pages)} trang; giới hạn là {MAX_PDF_PAGES} trang.")
        texts = []
        total = 0
        for page in pages:
            text = page.extract_text() or ""
            total += len(text)
            if total > MAX_TEXT_CHARS:
                raise ReadError(f"Văn bản quá dài; giới hạn là {MAX_TEXT_CHARS:,} ký tự.")
            texts.append(text)
    except ReadError:
        raise
    except Exception as exc:  # pypdf raises PdfReadError and many others on a damaged file
        raise ReadError(f"Tệp PDF bị hỏng, không đọc được ({type(exc).__name__}).") from None
    text = "\n".join(texts)
    if not text.strip():
        raise ReadError("Tệp PDF không có lớp chữ (bản chụp/scan): hãy tải lên bản DOCX hoặc PDF có chữ.")
    return text
