"""Reading an uploaded draft (DOCX, PDF, plain text, HTML) into plain text for the legal-basis checker.

`read_document(data, filename)` takes the bytes of an upload and returns its text; `read_path(path)`
does the same for a file. Every problem a user can cause — an empty file, a file too large, binary
garbage, a broken or scanned PDF, an old .doc — raises `ReadError` with a one-line Vietnamese message;
nothing else escapes. The format is recognised by the content (magic bytes), the name only breaks ties.

Hostile files (docs/SECURITY.md) are refused with a ReadError too, within bounded time and memory:
- DOCX: the package is checked before python-docx sees it — at most MAX_ZIP_ENTRIES parts, whose declared
  sizes add up to at most `readers.max_unzipped_mb` (a zip bomb is refused before anything is unzipped);
  every part is then unzipped in 1 MB steps, never beyond its declared size (a part lying about its size
  cannot make one read allocate more), into a fresh uncompressed package that python-docx opens. An XML
  part with a DOCTYPE or ENTITY declaration (Word never writes one) is refused: no entity is expanded,
  no external entity fetched (python-docx's parser also has resolve_entities=False).
- PDF: pypdf runs in a child process (`python -m kb.readers pdf …`) killed after `readers.pdf_timeout`
  seconds, its address space limited to `readers.pdf_max_memory_mb`; more than `readers.pdf_max_pages`
  pages is refused.
- HTML: BeautifulSoup with lxml's HTML parser, which expands no entity declared in the file.
The limits come from `Limits.from_config(config)`; `Limits()` holds the declared defaults (kb.config.SETTINGS).
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

from kb.config import Config, defaults
from kb.errors import KBError
from kb.text import nfc

MAX_BYTES = 20 * 1024 * 1024  # an upload larger than this is refused before it is parsed
_READERS = defaults("readers")  # the declared defaults (kb.config.SETTINGS)
MAX_PDF_PAGES = _READERS["pdf_max_pages"]
MAX_TEXT_CHARS = 5_000_000  # text extracted beyond this is refused (a zip bomb, a huge PDF)
MAX_ZIP_ENTRIES = 5000  # parts of a DOCX package (Word writes a few dozen)
FORMATS = ("docx", "pdf", "text", "html")
_MB = 1024 * 1024
_CHUNK = _MB  # a DOCX part is unzipped this much at a time


class ReadError(KBError):
    """An uploaded file cannot be read as a document; the message says why, for the user."""


@dataclass(frozen=True)
class Limits:
    """How much a hostile file may cost (the `readers` section of the configuration)."""

    max_unzipped_mb: float = _READERS["max_unzipped_mb"]
    pdf_timeout: float = _READERS["pdf_timeout"]
    pdf_max_pages: int = _READERS["pdf_max_pages"]
    pdf_max_memory_mb: float = _READERS["pdf_max_memory_mb"]

    @classmethod
    def from_config(cls, config: Config) -> Limits:
        section = config.section("readers")  # typed and checked when the configuration was loaded
        return cls(**{name: section[name] for name in cls.__dataclass_fields__})


def read_path(path: str | Path, max_bytes: int = MAX_BYTES, limits: Limits | None = None) -> str:
    """The text of the file at `path` (see read_document)."""
    path = Path(path)
    if not path.is_file():
        raise ReadError(f"Không tìm thấy tệp: {path}")
    size = path.stat().st_size
    if size > max_bytes:
        raise ReadError(_too_large(size, max_bytes))
    return read_document(path.read_bytes(), path.name, max_bytes=max_bytes, limits=limits)


def read_document(data: bytes, filename: str = "", max_bytes: int = MAX_BYTES, limits: Limits | None = None) -> str:
    """The plain text of an uploaded DOCX, PDF, HTML or plain-text file, NFC-normalised."""
    limits = limits or Limits()
    if not isinstance(data, (bytes, bytearray)):
        raise ReadError("Nội dung tải lên không phải là tệp.")
    if len(data) > max_bytes:
        raise ReadError(_too_large(len(data), max_bytes))
    if not data.strip():
        raise ReadError("Tệp rỗng: không có nội dung để kiểm tra.")
    kind = detect_format(data, filename)
    if kind == "docx":
        text = _read_docx(data, limits)
    elif kind == "pdf":
        text = _read_pdf(data, limits)
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
    return (
        high / max(1, len(sample)) < 0.3
        and sum(1 for b in sample if 32 <= b < 127 or b in (9, 10, 13)) > len(sample) * 0.6
    )


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


def open_docx(data: bytes, limits: Limits | None = None):
    """The python-docx Document of a DOCX, once its package passed `safe_package` (ReadError otherwise)."""
    package = safe_package(data, limits or Limits())
    try:
        import docx  # python-docx

        return docx.Document(io.BytesIO(package))
    except Exception as exc:  # python-docx raises many kinds on a malformed package
        raise ReadError(f"Tệp Word (.docx) bị hỏng, không đọc được ({type(exc).__name__}).") from None


def safe_package(data: bytes, limits: Limits) -> bytes:
    """The DOCX package rebuilt uncompressed, after checking that it is not a zip bomb and declares no
    XML entities. Every part is unzipped in _CHUNK steps and never past its declared size."""
    limit = int(limits.max_unzipped_mb * _MB)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if "word/document.xml" not in {i.filename for i in infos}:
                raise ReadError("Tệp nén này không phải là tệp Word (.docx).")
            if len(infos) > MAX_ZIP_ENTRIES:
                raise ReadError(f"Tệp Word có quá nhiều thành phần ({len(infos):,}); giới hạn là {MAX_ZIP_ENTRIES:,}.")
            declared = sum(i.file_size for i in infos)
            if declared > limit:
                raise ReadError(_unzipped_too_large(declared, limit))
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as rebuilt:
                for info in infos:
                    if info.is_dir():
                        continue
                    content = _unzip(archive, info)
                    if info.filename.lower().endswith((".xml", ".rels")) and _declares_entities(content):
                        raise ReadError(
                            "Tệp Word có khai báo DOCTYPE/ENTITY trong nội dung XML (Word không bao giờ "
                            "tạo ra, thường là tệp được sửa để tấn công) nên không được đọc."
                        )
                    rebuilt.writestr(info.filename, content)
    except ReadError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, ValueError, OSError, NotImplementedError):
        raise ReadError("Tệp Word (.docx) bị hỏng, không mở được.") from None
    except RuntimeError:  # an encrypted part
        raise ReadError("Tệp Word (.docx) được đặt mật khẩu nên không đọc được.") from None
    return out.getvalue()


def _unzip(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    """One part, at most its declared size: zipfile stops there (a longer stream fails its CRC check),
    and reading in steps keeps each decompression call to _CHUNK bytes of output."""
    parts = []
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK):
            parts.append(chunk)
    return b"".join(parts)


_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


def _declares_entities(content: bytes) -> bool:
    text = content
    if content.startswith((b"\xff\xfe", b"\xfe\xff")):  # an XML part may be UTF-16
        text = content.decode("utf-16", errors="replace").encode("utf-8", errors="replace")
    return bool(_DECLARATION.search(text))


def _unzipped_too_large(size: int, limit: int) -> str:
    return (
        f"Tệp Word giải nén ra quá lớn ({size / _MB:,.0f} MB; giới hạn là {limit / _MB:,.0f} MB): tệp bị hỏng "
        "hoặc là một “bom nén”. Hãy lưu lại dự thảo bằng Word rồi tải lên."
    )


def _read_docx(data: bytes, limits: Limits) -> str:
    from docx.oxml.ns import qn

    document = open_docx(data, limits)
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


def _read_pdf(data: bytes, limits: Limits) -> str:
    text = "\n".join(pdf_pages(data, limits))
    if len(text) > MAX_TEXT_CHARS:
        raise ReadError(f"Văn bản quá dài; giới hạn là {MAX_TEXT_CHARS:,} ký tự.")
    if not text.strip():
        raise ReadError("Tệp PDF không có lớp chữ (bản chụp/scan): hãy tải lên bản DOCX hoặc PDF có chữ.")
    return text


def pdf_pages(data: bytes, limits: Limits | None = None, max_chars: int = MAX_TEXT_CHARS) -> list[str]:
    """The text of each page of a PDF (ReadError for a damaged, encrypted, too long or too slow one).

    With `limits.pdf_timeout` > 0 the PDF is read by a child process (`python -m kb.readers`, the PDF on
    its standard input), killed when it takes longer: pypdf can loop for a very long time on a hostile
    file, a thread cannot be stopped, and signal.alarm works only in the main thread. A fresh interpreter
    rather than multiprocessing: forking a threaded web server is unsafe, and multiprocessing's spawn and
    forkserver re-import the server's main script in every child. It costs about 0.2 s per PDF (starting
    Python and importing pypdf)."""
    limits = limits or Limits()
    if limits.pdf_timeout <= 0 or not sys.executable:
        return _pdf_pages_quietly(bytes(data), limits.pdf_max_pages, max_chars)
    root = str(Path(__file__).resolve().parent.parent)  # where `kb` is, installed or not
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)}
    command = [
        sys.executable,
        "-m",
        "kb.readers",
        "pdf",
        str(limits.pdf_max_pages),
        str(max_chars),
        str(limits.pdf_max_memory_mb),
    ]
    try:
        child = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=root
        )
    except OSError as exc:
        raise ReadError(f"Không chạy được bộ đọc PDF ({exc.strerror or type(exc).__name__}).") from None
    try:
        out, _ = child.communicate(bytes(data), timeout=limits.pdf_timeout)
    except subprocess.TimeoutExpired:
        child.kill()
        child.communicate()
        raise ReadError(
            f"Đọc tệp PDF quá lâu (quá {limits.pdf_timeout:g} giây) nên đã dừng: tệp có thể bị hỏng "
            "hoặc quá phức tạp. Hãy xuất lại thành PDF, hoặc tải lên bản DOCX."
        ) from None
    finally:
        if child.poll() is None:  # an exception of ours while it runs: never leave it behind
            child.kill()
            child.wait()
    try:
        answer = json.loads(out)
    except ValueError:  # it died without answering (out of memory, killed)
        raise ReadError("Tệp PDF bị hỏng hoặc cần quá nhiều bộ nhớ để đọc.") from None
    if "error" in answer:
        raise ReadError(answer["error"])
    return answer["pages"]


def _pdf_child(argv: list[str]) -> int:
    """`python -m kb.readers pdf MAX_PAGES MAX_CHARS MAX_MEMORY_MB`: the PDF on standard input, a JSON
    object on standard output: {"pages": [text, …]} or {"error": message}."""
    max_pages, max_chars, max_memory_mb = int(argv[0]), int(argv[1]), float(argv[2])
    data = sys.stdin.buffer.read()
    if max_memory_mb > 0:
        try:
            import resource

            limit = int(max_memory_mb * _MB)
            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        except (ImportError, ValueError, OSError):
            pass
    try:
        answer = {"pages": _pdf_pages_quietly(data, max_pages, max_chars)}
    except ReadError as exc:
        answer = {"error": str(exc)}
    except MemoryError:
        answer = {"error": "Tệp PDF cần quá nhiều bộ nhớ để đọc (có thể là tệp bị hỏng hoặc cố ý gây quá tải)."}
    try:
        out = json.dumps(answer).encode("ascii")  # ASCII: any text (even a lone surrogate) comes back as it was
    except MemoryError:
        out = json.dumps({"error": "Tệp PDF cần quá nhiều bộ nhớ để đọc."}).encode("ascii")
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()
    return 0


def _pdf_pages_quietly(data: bytes, max_pages: int, max_chars: int) -> list[str]:
    logger = logging.getLogger("pypdf")
    level = logger.level
    logger.setLevel(logging.ERROR)  # pypdf logs its repairs of damaged files; the user gets ReadError instead
    try:
        return _pdf_pages(data, max_pages, max_chars)
    finally:
        logger.setLevel(level)


def _pdf_pages(data: bytes, max_pages: int, max_chars: int) -> list[str]:
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
        if len(pages) > max_pages:
            raise ReadError(f"Tệp PDF có {len(pages):,} trang; giới hạn là {max_pages:,} trang.")
        texts = []
        total = 0
        for page in pages:
            text = page.extract_text() or ""
            total += len(text)
            if total > max_chars:
                raise ReadError(f"Văn bản quá dài; giới hạn là {max_chars:,} ký tự.")
            texts.append(text)
    except (ReadError, MemoryError):
        raise
    except Exception as exc:  # pypdf raises PdfReadError and many others on a damaged file
        raise ReadError(f"Tệp PDF bị hỏng, không đọc được ({type(exc).__name__}).") from None
    return texts


if __name__ == "__main__":  # the PDF reader's child process (pdf_pages)
    if sys.argv[1:2] == ["pdf"]:
        sys.exit(_pdf_child(sys.argv[2:]))
    sys.exit("usage: python -m kb.readers pdf MAX_PAGES MAX_CHARS MAX_MEMORY_MB < file.pdf")
