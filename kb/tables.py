"""The one writer of table exports (search results, checker reports, delegations, the review list): CSV
for Excel (UTF-8 with a byte-order mark) and TSV for Word's "Convert Text to Table".

Every cell is neutralised against formula injection (OWASP's rule): a cell that a spreadsheet would read
as a formula — starting with `=`, `+`, `-`, `@`, a tab or a carriage return — gets a leading apostrophe.

    text = to_csv(["Số ký hiệu", "Trích yếu"], [["83/2015/QH13", "Luật Ngân sách nhà nước"]])
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable

BOM = "\ufeff"
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
