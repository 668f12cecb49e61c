"""The one writer of table exports (search results, checker reports, delegations, the review list): CSV
for Excel (UTF-8 with a byte-order mark) and TSV for Word's "Convert Text to Table".

Every cell is neutralised against formula injection (OWASP's rule): a cell that a spreadsheet would read
as a formula — starting with `=`, `+`, `-`, `@`, a tab or a carriage return — gets a leading apostrophe.

    text = to_csv(["Số ký hiệu", "Trích yếu"], [["83/2015/QH13", "Luật Ngân sách nhà nước"]])
    text = to_csv(headers(["so_ky_hieu", "trich_yeu"]), rows)   # the same headers from the JSON keys

A column is named for people ("Số ký hiệu"), never by its JSON key (`so_ky_hieu`, which the JSON API keeps):
`headers(keys)` gives the label of each key from `LABELS`; an export with a new column adds its label there.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

BOM = "\ufeff"

LABELS = {
    "so_ky_hieu": "Số ký hiệu",
    "loai_van_ban": "Loại văn bản",
    "trich_yeu": "Trích yếu",
    "co_quan_ban_hanh": "Cơ quan ban hành",
    "ngay_ban_hanh": "Ngày ban hành",
    "ngay_co_hieu_luc": "Ngày có hiệu lực",
    "ngay_het_hieu_luc": "Ngày hết hiệu lực",
    "tinh_trang_hieu_luc": "Tình trạng hiệu lực",
    "linh_vuc": "Lĩnh vực",
    "dieu": "Điều",
    "khoan": "Khoản",
    "tieu_de_dieu": "Tiêu đề điều",
    "nguon": "Nguồn",
    "uid": "Mã văn bản",
    "url": "Địa chỉ trên trang",
}


def headers(keys: Iterable[str]) -> list[str]:
    """The Vietnamese label of each column key (a key without a label is a mistake: KeyError)."""
    return [LABELS[key] for key in keys]


FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value) -> str:
    """The cell's text on one line, with a leading apostrophe when a spreadsheet would run it."""
    text = "" if value is None else " ".join(str(value).split())
    raw = "" if value is None else str(value)
    return "'" + text if raw[:1] in FORMULA_START or text[:1] in FORMULA_START else text


def to_csv(headers: Iterable, rows: Iterable[Iterable]) -> str:
    """A CSV document (with a BOM, CRLF line ends) of the header row and the rows."""
    out = io.StringIO()
    out.write(BOM)
    writer = csv.writer(out)
    writer.writerow([safe_cell(h) for h in headers])
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
    return out.getvalue()


def to_tsv(headers: Iterable, rows: Iterable[Iterable], file: bool = True) -> str:
    """A TSV document (with a BOM, CRLF line ends); cells never hold a tab or a line break.
    file=False: for a terminal (no BOM, "\\n" between lines, none after the last)."""
    lines = ["\t".join(safe_cell(h) for h in headers)]
    lines += ["\t".join(safe_cell(v) for v in row) for row in rows]
    if not file:
        return "\n".join(lines)
    return BOM + "\r\n".join(lines) + "\r\n"
