"""Text of attachments: PDF with a text layer, scanned PDF (flagged), DOCX, DOC without antiword."""

from __future__ import annotations

import io
import shutil

import docx
import pytest
from test_scrapers_http import make_pdf

from scrapers.attachments import detect_format, extract_text, preferred
from scrapers.base import FileRef

LINES = [
    "NGHỊ QUYẾT",
    "Ban hành Quy chế làm việc của Hội đồng nhân dân tỉnh",
    "Điều 1. Phạm vi điều chỉnh",
    "Quy chế này quy định nhiệm vụ, quyền hạn của Hội đồng nhân dân tỉnh.",
    "Điều 2. Hiệu lực thi hành",
    "Nghị quyết này có hiệu lực kể từ ngày 10 tháng 4 năm 2026.",
]


def test_pdf_text_layer_is_extracted_in_nfc():
    got = extract_text(make_pdf([LINES[:4], LINES[4:]]), "nq.pdf")
    assert (got.format, got.scanned, got.pages) == ("pdf", False, 2)
    assert got.text.split("\n") == LINES


def test_scanned_pdf_is_flagged_and_has_no_text():
    got = extract_text(make_pdf([[""], [""]], scanned=True), "VanBanGoc.pdf")
    assert (got.format, got.scanned, got.text, got.pages) == ("pdf", True, "", 2)
    assert "scanned" in got.note


def test_ocr_is_optional(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    got = extract_text(make_pdf([[""]], scanned=True), "scan.pdf", ocr=True)
    assert got.scanned and got.text == "" and "tesseract" in got.note


def test_docx_paragraphs_and_tables_in_order():
    document = docx.Document()
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text = "ỦY BAN NHÂN DÂN TỈNH LAI CHÂU"
    table.rows[0].cells[1].text = "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM"
    for line in LINES:
        document.add_paragraph(line)
    buffer = io.BytesIO()
    document.save(buffer)
    got = extract_text(buffer.getvalue(), "qd.docx")
    assert got.format == "docx" and not got.scanned
    assert got.text.split("\n") == ["ỦY BAN NHÂN DÂN TỈNH LAI CHÂU | CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", *LINES]


def test_legacy_doc_without_antiword_is_kept_without_text(monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    got = extract_text(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600, "QD so 37.2026.doc")
    assert got.format == "doc" and got.text == "" and "antiword" in got.note


def test_a_corrupt_file_is_a_note_not_a_crash():
    got = extract_text(b"%PDF-1.4\nthis is not really a pdf", "broken.pdf")
    assert got.text == "" and got.note.startswith("unreadable PDF file")
    assert detect_format(b"<html><body>x</body></html>") == "html"
    assert extract_text("<p>Điều 1. Nội dung</p>".encode(), "a.html").text == "Điều 1. Nội dung"


def test_preferred_reads_word_before_pdf_and_appendices_last():
    files = [
        FileRef("PL01.pdf", "u1", "appendix"),
        FileRef("VanBanGoc.pdf", "u2", "original"),
        FileRef("nq.docx", "u3", "main"),
        FileRef("no-url.docx", None, "main"),
    ]
    assert [f.name for f in preferred(files)] == ["nq.docx", "VanBanGoc.pdf", "PL01.pdf"]


@pytest.mark.parametrize(
    "name,kind",
    [
        ("VanBanGoc_01.2026.pdf", "original"),
        ("QD so 1782.docx", "main"),
        ("Phu luc 1.xlsx", "appendix"),
        ("x.zip", "other"),
    ],
)
def test_file_kinds(name, kind):
    from scrapers.base import file_kind

    assert file_kind(name) == kind
