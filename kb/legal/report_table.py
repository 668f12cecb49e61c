"""The checker's report as a table: its column names and cells, the one definition that `kb check` and
the web's CSV/TSV downloads share (the files themselves are written by kb.tables).

    headers, cells = report_table(report)      # the rows of CheckReport.rows(), as lists
    text = kb.tables.to_tsv(headers, cells)
"""

from __future__ import annotations

from kb.dates import vn_date
from kb.legal.checker import CheckReport


def columns(on: str) -> list[str]:
    """The column names of a report for the planned date `on` (ISO), as CheckReport.rows() names them
    (tests/test_checker.py keeps the two equal); used when the report found no citation."""
    return [
        "STT",
        "Văn bản được viện dẫn",
        "Vị trí",
        "Văn bản trong CSDL",
        f"Tình trạng ngày {vn_date(on)}",
        "Nhận xét",
    ]


def report_table(report: CheckReport) -> tuple[list[str], list[list[str]]]:
    """The column names and, per citation, its cells in that order."""
    rows = report.rows()
    headers = list(rows[0]) if rows else columns(report.on)
    return headers, [[row[h] for h in headers] for row in rows]
