"""Hostile files are read safely (kb/readers.py, scrapers/attachments.py; docs/SECURITY.md): every file
here is built by the test itself, and each must give a clear ReadError (or, for an attachment, a note)
within bounded time and memory — never the content of a local file, never a request to a URL it names.

- DOCX with XML entities: an external entity naming a local file, one naming a URL on a local HTTP
  server that records every request, an external DTD, and an internal entity bomb ("billion laughs").
  Our reader refuses them; python-docx on its own (the installed version) does not expand them either.
- DOCX zip bombs: parts declaring a huge unzipped size (refused before anything is unzipped), and a part
  lying about its size (unzipped only up to what it declares).
- PDF: more pages than the limit, a PDF slow to read (the child process is killed at the time limit),
  one that needs too much memory, and the same from a thread (the web server's case).
- HTML drafts and scraped pages (lxml's HTML and XML parsers through BeautifulSoup) expand no entity.
"""

from __future__ import annotations

import http.server
import io
import os
import struct
import threading
import time
import tracemalloc
import zipfile
from pathlib import Path

import docx
import pytest
from lxml import etree

from kb import config as kbconfig
from kb.readers import Limits, ReadError, pdf_pages, read_document
from scrapers.attachments import extract_text

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
SECRET = "bí-mật-không-được-lộ-7f3a"
LOL = '<!ENTITY lol "lollollollollollollollollollol">' + "".join(
    f'<!ENTITY lol{i} "{("&lol;" if i == 1 else f"&lol{i - 1};") * 10}">' for i in range(1, 10)
)


def document_xml(body: str, doctype: str = "") -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>{doctype}'
        f'<w:document xmlns:w="{W}"><w:body>{body}</w:body></w:document>'
    )


def paragraph(text: str) -> str:
    return f"<w:p><w:r><w:t>{text}</w:t></w:r></w:p>"


def docx_package(document: str | bytes, extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal DOCX (content types, relationships, word/document.xml) with `document` as its body part."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
            'package/2006/content-types"><Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType='
            '"application/xml"/><Override PartName="/word/document.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>',
        )
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats'
            '.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
            'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/'
            'document.xml"/></Relationships>',
        )
        archive.writestr("word/document.xml", document)
        for name, content in (extra or {}).items():
            archive.writestr(name, content)
    return out.getvalue()


@pytest.fixture
def secret_file(tmp_path):
    path = tmp_path / "secret.txt"
    path.write_text(SECRET, encoding="utf-8")
    return path


class _Recorder(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).hits.append(self.path)
        body = f'<!ENTITY inner "{SECRET}">'.encode() if self.path.endswith(".dtd") else SECRET.encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def recorder():
    """A local HTTP server that answers SECRET and records every path requested of it."""
    _Recorder.hits = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Recorder.hits
    server.shutdown()
    server.server_close()


def python_docx_text(data: bytes) -> str:
    """The text python-docx itself gives, without our checks: what the installed version does."""
    return "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)


# --- XML entities in a DOCX --------------------------------------------------------------------
def test_the_installed_python_docx_parser_does_not_resolve_entities():
    from docx.oxml.parser import parse_xml

    element = parse_xml(f'<!DOCTYPE x [<!ENTITY e "{SECRET}">]><w:t xmlns:w="{W}">a&e;b</w:t>'.encode())
    assert SECRET not in "".join(element.itertext())  # the reference stays a reference


def test_an_external_file_entity_is_refused_and_never_read(secret_file):
    doctype = f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://{secret_file}">]>'
    data = docx_package(document_xml(paragraph("Căn cứ &xxe; Luật Giáo dục"), doctype))
    with pytest.raises(ReadError, match="DOCTYPE/ENTITY"):
        read_document(data, "du-thao.docx")
    assert SECRET not in python_docx_text(data)  # and python-docx alone does not read it


def test_an_external_url_entity_or_dtd_is_refused_and_never_fetched(recorder):
    base, hits = recorder
    for doctype in (
        f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "{base}/entity">]>',
        f'<!DOCTYPE w:document SYSTEM "{base}/external.dtd">',
        f'<!DOCTYPE w:document [<!ENTITY % p SYSTEM "{base}/param.dtd"> %p;]>',
    ):
        data = docx_package(document_xml(paragraph("Căn cứ &xxe; &inner; Luật"), doctype))
        with pytest.raises(ReadError, match="DOCTYPE/ENTITY"):
            read_document(data, "du-thao.docx")
        try:
            assert SECRET not in python_docx_text(data)
        except Exception:  # python-docx may refuse the undefined entity: fine, as long as nothing is fetched
            pass
    time.sleep(0.2)
    assert hits == []


def test_an_entity_bomb_is_refused_at_once_and_python_docx_does_not_expand_it():
    data = docx_package(document_xml(paragraph("Căn cứ &lol9;"), f"<!DOCTYPE w:document [{LOL}]>"))
    started = time.monotonic()
    with pytest.raises(ReadError, match="DOCTYPE/ENTITY"):
        read_document(data, "bom.docx")
    try:
        text = python_docx_text(data)  # 10^9 "lol"s if it expanded them
    except etree.XMLSyntaxError as exc:  # libxml2 2.11+ refuses the amplification itself
        assert "amplification" in str(exc)
        text = ""
    assert time.monotonic() - started < 5 and text.count("lol") < 100


def test_a_doctype_in_another_xml_part_is_refused_too():
    styles = f'<?xml version="1.0"?><!DOCTYPE w:styles [{LOL}]><w:styles xmlns:w="{W}"/>'.encode()
    data = docx_package(document_xml(paragraph("Căn cứ Luật Giáo dục")), {"word/styles.xml": styles})
    with pytest.raises(ReadError, match="DOCTYPE/ENTITY"):
        read_document(data, "du-thao.docx")


def test_an_ordinary_docx_is_still_read():
    data = docx_package(
        document_xml(
            paragraph("Căn cứ Luật Giáo dục ngày 14 tháng 6 năm 2019;")
            + paragraph("Điều 1. &lt;!DOCTYPE&gt; là chữ, không phải khai báo")
        )
    )
    assert read_document(data, "du-thao.docx").split("\n") == [
        "Căn cứ Luật Giáo dục ngày 14 tháng 6 năm 2019;",
        "Điều 1. <!DOCTYPE> là chữ, không phải khai báo",
    ]


# --- zip bombs ---------------------------------------------------------------------------------
def zip_bomb(megabytes: int) -> bytes:
    """A DOCX whose word/document.xml unzips to `megabytes` MB (of spaces inside a valid document)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(document_xml("").encode()[: -len("</w:body></w:document>")])
            block = b" " * (1024 * 1024)
            for _ in range(megabytes):
                part.write(block)
            part.write(b"</w:body></w:document>")
    return out.getvalue()


def test_a_zip_bomb_is_refused_before_it_is_unzipped():
    data = zip_bomb(120)  # 120 MB unzipped, 0.1 MB zipped
    assert len(data) < 1024 * 1024
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(ReadError, match=r"giải nén ra quá lớn \(120 MB; giới hạn là 100 MB\)"):
            read_document(data, "bom.docx")
        elapsed = time.monotonic() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert elapsed < 1 and peak < 10 * 1024 * 1024  # nothing was unzipped
    with pytest.raises(ReadError, match="giới hạn là 5 MB"):
        read_document(zip_bomb(8), "bom.docx", limits=Limits(max_unzipped_mb=5))


def test_a_part_lying_about_its_size_is_never_unzipped_past_it():
    """The central directory says 1,000 bytes; the stream holds 120 MB. zipfile stops at the declared
    size (then the CRC fails), and we unzip in 1 MB steps: memory stays small."""
    data = bytearray(zip_bomb(120))
    entry = data.rfind(b"PK\x01\x02")  # the central directory header of word/document.xml (last)
    assert data[entry + 46 : entry + 46 + 17] == b"word/document.xml"
    struct.pack_into("<I", data, entry + 24, 1000)  # its uncompressed size
    assert zipfile.ZipFile(io.BytesIO(bytes(data))).getinfo("word/document.xml").file_size == 1000
    tracemalloc.start()
    try:
        with pytest.raises(ReadError, match="bị hỏng"):
            read_document(bytes(data), "bom.docx")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024


def test_too_many_parts_are_refused():
    data = docx_package(document_xml(paragraph("x")), {f"word/media/{i}.bin": b"" for i in range(5001)})
    with pytest.raises(ReadError, match="quá nhiều thành phần"):
        read_document(data, "nhieu.docx")


# --- PDF: pages, time, memory -------------------------------------------------------------------
def pdf(content: bytes, pages: int = 1) -> bytes:
    """A PDF of `pages` pages, each drawing `content` (a content stream) with Helvetica."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (" ".join(f"{3 + 2 * i} 0 R" for i in range(pages)).encode(), pages),
    ]
    font = 3 + 2 * pages
    for i in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 %d 0 R >> >>"
            b" /Contents %d 0 R >>" % (font, 4 + 2 * i)
        )
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n%s\nendobj\n" % (number, body))
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    out.write(b"".join(b"%010d 00000 n \n" % offset for offset in offsets))
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


LINE = b"BT /F1 12 Tf 20 800 Td (Dieu 1. Pham vi dieu chinh) Tj ET"
SLOW = pdf(b"BT /F1 12 Tf 10 10 Td (Dieu 1) Tj ET\n" * 40_000)  # 1.5 MB; several seconds of pypdf


def kb_children() -> list[int]:
    """Our child processes running the PDF reader (`python -m kb.readers pdf …`), from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes().split(b"\0")
        except (OSError, ValueError, IndexError):
            continue
        if ppid == os.getpid() and b"kb.readers" in command:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see child processes")
def test_an_ordinary_pdf_is_read_in_a_child_process():
    assert read_document(pdf(LINE, pages=2), "nq.pdf") == "Dieu 1. Pham vi dieu chinh\nDieu 1. Pham vi dieu chinh"
    assert kb_children() == []


def test_a_pdf_with_too_many_pages_is_refused():
    with pytest.raises(ReadError, match="Tệp PDF có 12 trang; giới hạn là 10 trang"):
        read_document(pdf(LINE, pages=12), "dai.pdf", limits=Limits(pdf_max_pages=10))
    assert read_document(pdf(LINE, pages=10), "vua.pdf", limits=Limits(pdf_max_pages=10))


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to see child processes")
def test_a_slow_pdf_is_stopped_at_the_time_limit_and_its_reader_killed():
    started = time.monotonic()
    with pytest.raises(ReadError, match=r"Đọc tệp PDF quá lâu \(quá 0.5 giây\)"):
        read_document(SLOW, "cham.pdf", limits=Limits(pdf_timeout=0.5))
    assert time.monotonic() - started < 5
    assert kb_children() == []  # killed and reaped, not left running


def test_a_pdf_needing_too_much_memory_is_refused():
    with pytest.raises(ReadError, match="quá nhiều bộ nhớ"):
        read_document(SLOW, "nang.pdf", limits=Limits(pdf_max_memory_mb=64, pdf_timeout=30))


def test_pdfs_are_read_safely_from_threads_as_the_web_server_does():
    results: dict[str, object] = {}

    def read(name, data, limits):
        try:
            results[name] = read_document(data, f"{name}.pdf", limits=limits)
        except ReadError as exc:
            results[name] = exc

    threads = [
        threading.Thread(target=read, args=("ok", pdf(LINE), Limits())),
        threading.Thread(target=read, args=("slow", SLOW, Limits(pdf_timeout=0.5))),
        threading.Thread(target=read, args=("ok2", pdf(LINE, 3), Limits())),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results["ok"] == "Dieu 1. Pham vi dieu chinh" and results["ok2"].count("Dieu 1") == 3
    assert isinstance(results["slow"], ReadError) and "quá lâu" in str(results["slow"])


def test_without_a_time_limit_the_pdf_is_read_in_process():
    assert pdf_pages(pdf(LINE), Limits(pdf_timeout=0)) == ["Dieu 1. Pham vi dieu chinh"]


# --- attachments of scraped documents ----------------------------------------------------------
def test_hostile_attachments_become_notes_within_the_limits(secret_file):
    slow = extract_text(SLOW, "VanBanGoc.pdf", limits=Limits(pdf_timeout=0.5))
    assert slow.text == "" and slow.note.startswith("unreadable PDF file: ReadError: Đọc tệp PDF quá lâu")
    bomb = extract_text(zip_bomb(120), "QD.docx")
    assert bomb.text == "" and "giải nén ra quá lớn" in bomb.note
    doctype = f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://{secret_file}">]>'
    entity = extract_text(docx_package(document_xml(paragraph("&xxe;"), doctype)), "QD.docx")
    assert entity.text == "" and "DOCTYPE/ENTITY" in entity.note and SECRET not in entity.note


def test_the_scrapers_read_attachments_within_the_instance_limits(tmp_path, monkeypatch):
    from scrapers.vbpl import VbplSource

    monkeypatch.setenv("KB_READERS_PDF_MAX_PAGES", "3")
    source = VbplSource(fetcher=None, config=kbconfig.load(tmp_path))
    assert source.limits.pdf_max_pages == 3
    refused = extract_text(pdf(LINE, pages=5), "VanBanGoc.pdf", limits=source.limits)
    assert refused.text == "" and "giới hạn là 3 trang" in refused.note
    read = extract_text(pdf(LINE, pages=5), "VanBanGoc.pdf")  # the defaults read its 5 pages
    assert read.pages == 5 and "giới hạn" not in (read.note or "")


# --- HTML drafts, scraped pages and feeds -------------------------------------------------------
def test_an_html_draft_expands_no_entity(secret_file, recorder):
    base, hits = recorder
    html = (
        f'<!DOCTYPE html [<!ENTITY xxe SYSTEM "file://{secret_file}"><!ENTITY web SYSTEM "{base}/x">{LOL}]>'
        "<html><body><p>Căn cứ &xxe; &web; &lol9; Luật Giáo dục</p></body></html>"
    ).encode()
    started = time.monotonic()
    text = read_document(html, "du-thao.html")
    assert "Luật Giáo dục" in text and SECRET not in text and text.count("lol") < 100
    assert time.monotonic() - started < 5
    time.sleep(0.2)
    assert hits == []


def test_scraped_pages_and_feeds_expand_no_entity(secret_file, recorder):
    from scrapers.base import html_to_text
    from scrapers.congbao import parse_rss
    from scrapers.errors import ScraperError

    base, hits = recorder
    doctype = f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "file://{secret_file}"><!ENTITY web SYSTEM "{base}/x">{LOL}]>'
    page = html_to_text(f"{doctype}<html><body><p>Điều 1. &xxe; &web; &lol9;</p></body></html>")
    assert "Điều 1." in page and SECRET not in page and page.count("lol") < 100
    feed = (
        f'<?xml version="1.0"?>{doctype}<rss><channel><item><title>&xxe;&web;&lol9;</title>'
        "<link>https://congbao.chinhphu.vn/van-ban/nghi-dinh-so-1-2025-nd-cp-1.htm</link></item></channel></rss>"
    )
    try:
        entries = parse_rss(feed, "https://congbao.chinhphu.vn/rss")
        assert all(SECRET not in e.title and e.title.count("lol") < 100 for e in entries)
    except ScraperError as exc:  # a feed with a DTD reads as a changed layout
        assert SECRET not in str(exc)
    time.sleep(0.2)
    assert hits == []


# --- configuration -------------------------------------------------------------------------------
def test_the_limits_are_configurable(tmp_path):
    assert Limits() == Limits(max_unzipped_mb=100, pdf_timeout=60.0, pdf_max_pages=500, pdf_max_memory_mb=1024)
    (tmp_path / "config.toml").write_text("[readers]\npdf_max_pages = 20\nmax_unzipped_mb = 10\n", encoding="utf-8")
    config = kbconfig.load(tmp_path, environ={"KB_READERS_PDF_TIMEOUT": "5"})
    assert Limits.from_config(config) == Limits(
        max_unzipped_mb=10, pdf_timeout=5.0, pdf_max_pages=20, pdf_max_memory_mb=1024
    )
