"""The checker's report as a table (kb/legal/report_table.py): one set of columns for `kb check` and the
web's downloads, equal to the rows the checker writes."""

from test_checker import FIXTURES, ON, load_fixture_store

from kb.legal.checker import Checker
from kb.legal.report_table import columns, report_table
from kb.tables import to_tsv


def test_the_columns_are_those_of_the_checker_s_rows(store):
    checker = Checker(load_fixture_store(store), "Lai Châu")
    report = checker.check((FIXTURES / "du_thao_nghi_quyet.txt").read_text(encoding="utf-8"), ON)
    headers, cells = report_table(report)
    assert headers == list(report.rows()[0]) == columns(ON)
    assert headers[4] == "Tình trạng ngày 15/02/2026"
    assert len(cells) == len(report.checks) == 12 and all(len(row) == len(headers) for row in cells)
    empty = checker.check("Không viện dẫn văn bản nào.", ON)
    assert report_table(empty) == (columns(ON), [])


def test_tsv_for_a_terminal_has_no_bom_and_plain_line_ends():
    text = to_tsv(["STT", "Nhận xét"], [["1", "=cmd|x"], ["2", "dòng một\ndòng hai"]], file=False)
    assert text == "STT\tNhận xét\n1\t'=cmd|x\n2\tdòng một dòng hai"
    assert to_tsv(["STT"], [["1"]]) == "\ufeffSTT\r\n1\r\n"
