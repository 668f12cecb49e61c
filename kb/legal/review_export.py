"""The review list as the annex of a rà soát report: CSV for Excel (through kb.tables, the one CSV
writer) and DOCX (python-docx), with the columns STT, tên loại, số ký hiệu, ngày ban hành, trích yếu,
căn cứ đã thay đổi, lý do, kiến nghị (kb.legal.review.ANNEX_HEADERS)."""

from __future__ import annotations

import io
from collections.abc import Iterable

from docx import Document as DocxDocument
from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt

from kb.dates import vn_date
from kb.legal.review import ANNEX_HEADERS, Entry, annex_rows
from kb.tables import to_csv

# Relative widths of the annex's columns (landscape A4, 2 cm margins).
_WIDTHS_CM = (1.0, 2.0, 2.6, 2.2, 5.5, 5.0, 5.4, 2.0)


def _add_row(table, values: list[str]) -> None:
    """A row of plain text cells, built as XML (python-docx's add_row and cell.text walk the whole table for
    each cell: minutes for a few thousand rows)."""
    tr = OxmlElement("w:tr")
    for value in values:
        value = "".join(ch for ch in value if ch >= " ")  # XML 1.0 has no control characters
        tc = OxmlElement("w:tc")
        p = OxmlElement("w:p")
        if value:
            r = OxmlElement("w:r")
            t = OxmlElement("w:t")
            t.set(qn("xml:space"), "preserve")
            t.text = value
            r.append(t)
            p.append(r)
        tc.append(p)
        tr.append(tc)
    table._tbl.append(tr)


def annex_title(province: str, on: str, ban: str = "") -> str:
    return f"DANH MỤC VĂN BẢN QUY PHẠM PHÁP LUẬT CỦA TỈNH {province.upper()} CẦN RÀ SOÁT" + (
        f" — {ban.upper()}" if ban else ""
    )


def annex_csv(entries: Iterable[Entry]) -> str:
    """The annex as CSV (UTF-8 with a BOM, for Excel)."""
    return to_csv(ANNEX_HEADERS, annex_rows(entries))


def annex_docx(entries: Iterable[Entry], province: str, on: str, ban: str = "") -> bytes:
    """The annex as a DOCX document: a title, the date of the review, one table."""
    doc = DocxDocument()
    section = doc.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(2.0))
    style = doc.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(11)
    head = doc.add_paragraph()
    head.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = head.add_run("Phụ lục")
    run.bold = True
    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(annex_title(province, on, ban))
    run.bold = True
    note = doc.add_paragraph()
    note.alignment = WD_ALIGN_PARAGRAPH.CENTER
    note.add_run(f"(Hiệu lực của các căn cứ xác định đến ngày {vn_date(on)})").italic = True
    rows = annex_rows(entries)
    table = doc.add_table(rows=1, cols=len(ANNEX_HEADERS))
    table.style = "Table Grid"
    table.autofit = False
    for i, name in enumerate(ANNEX_HEADERS):
        cell = table.rows[0].cells[i]
        cell.text = ""
        cell.paragraphs[0].add_run(name).bold = True
        cell.width = Cm(_WIDTHS_CM[i])
        table.columns[i].width = Cm(_WIDTHS_CM[i])
    header = table.rows[0]._tr
    header.get_or_add_trPr().append(OxmlElement("w:tblHeader"))  # repeated at the top of every page
    for values in rows:
        _add_row(table, values)
    if not rows:
        doc.add_paragraph("Không có văn bản nào cần rà soát.")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
