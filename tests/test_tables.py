"""The one table writer: CSV and TSV cells that a spreadsheet will never run as formulas."""

import csv
import io

import pytest

from kb.tables import BOM, safe_cell, to_csv, to_tsv


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_formula_starts_are_neutralised(start):
    payload = f"{start}2+3+cmd|' /C calc'!A0"
    assert safe_cell(payload).startswith("'")


@pytest.mark.parametrize("value", ["15/2025/NQ-HĐND", "Luật Ngân sách nhà nước", "2025-01-01", "", None, 42])
def test_ordinary_cells_are_kept(value):
    assert safe_cell(value) == ("" if value is None else str(value))


def test_csv_reads_back_with_bom_and_neutralised_cells():
    text = to_csv(["Số ký hiệu", "Ghi chú"], [["83/2015/QH13", "-2+3"], ["89/2025/QH15", "dòng\nhai"]])
    assert text.startswith(BOM)
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows == [["Số ký hiệu", "Ghi chú"], ["83/2015/QH13", "'-2+3"], ["89/2025/QH15", "dòng hai"]]


def test_tsv_cells_hold_no_tab_or_line_break():
    text = to_tsv(["a", "b"], [["x\ty", "=1"]])
    lines = text[1:].split("\r\n")
    assert lines[:2] == ["a\tb", "x y\t'=1"]
