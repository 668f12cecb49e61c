"""Every CSV and TSV export goes through the one table writer (kb/tables.py), so no cell of any export starts a
formula (issue 20, item 6: `=`, `+`, `-`, `@`, tab, carriage return; `-2+3+cmd|…` was let through). One test
per export: the search results (/tim-kiem.csv), the checker's report (CSV and TSV downloads), and the TSV of
`kb check` and `kb delegations`; and no other module writes CSV by itself."""

from __future__ import annotations

import ast
import csv
import io
from pathlib import Path

import pytest
from web_fixtures import make_app

from index import build
from kb.legal.checker import CheckReport
from kb.model import Document
from kb.store import Store
from kb.tables import FORMULA_START

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = ["-2+3+cmd|' /C calc'!A0", '=HYPERLINK("http://evil.example")', "+1+1", "@SUM(A1)", "\t=1", "\r=1"]


def _cells_are_safe(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_START), f"a cell starts a formula: {cell!r}"


@pytest.fixture
def hostile_app(tmp_path):
    """An instance whose documents have hostile titles and numbers."""
    instance = tmp_path / "instance"
    store = Store(instance / "kb.sqlite")
    for i, payload in enumerate(HOSTILE):
        store.upsert(
            Document.from_dict(
                {
                    "uid": f"import:hostile-{i}",
                    "number": f"{i + 1}/2025/NQ-HĐND",
                    "title": f"{payload} Nghị quyết bến xe số {i}",
                    "doc_type": "Nghị quyết",
                    "issuer": "HĐND tỉnh",
                    "issued": "2025-01-01",
                    "text": f"{payload} bến xe khách",
                }
            )
        )
    build.rebuild(store, instance / "index", procs=1)
    store.close()
    return make_app(instance, CHECK_LIMIT=0)


def test_the_search_results_csv_neutralises_every_formula(hostile_app):
    response = hostile_app.test_client().get("/tim-kiem.csv?q=bến+xe")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 1 + len(HOSTILE)
    _cells_are_safe(rows)
    titles = {row[rows[0].index("trich_yeu")] for row in rows[1:]} if "trich_yeu" in rows[0] else set()
    assert not titles or any(t.startswith("'-2+3") for t in titles)


def _hostile_rows(self):
    return [{"STT": "1", "Văn bản được viện dẫn": value, "Nhận xét": value} for value in HOSTILE]


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_the_checker_downloads_neutralise_every_formula(hostile_app, monkeypatch, fmt):
    monkeypatch.setattr(CheckReport, "rows", _hostile_rows)  # cells quoting a hostile draft or title
    client = hostile_app.test_client()
    client.get("/kiem-tra-can-cu")
    with client.session_transaction() as session:
        token = session["csrf"]
    response = client.post(
        "/kiem-tra-can-cu",
        data={"text": "Căn cứ Nghị quyết số 1/2025/NQ-HĐND;", "format": fmt, "csrf_token": token},
    )
    assert response.status_code == 200
    text = response.get_data(as_text=True).lstrip("\ufeff")
    rows = list(csv.reader(io.StringIO(text))) if fmt == "csv" else [line.split("\t") for line in text.split("\r\n")]
    assert len([r for r in rows if any(r)]) == 1 + len(HOSTILE)
    _cells_are_safe(rows)


def test_the_tsv_of_kb_check_and_kb_delegations_neutralises_every_formula():
    from kbcli.check import _render

    table = _hostile_rows(None)
    headers = list(table[0])
    text = _render(headers, [[row[h] for h in headers] for row in table], "tsv")
    rows = [line.split("\t") for line in text.splitlines()]
    assert len(rows) == 1 + len(HOSTILE) and all(len(r) == 3 for r in rows)
    _cells_are_safe(rows)
    assert rows[1][1] == "'-2+3+cmd|' /C calc'!A0"


def _modules():
    for folder in ("kb", "index", "web", "kbcli", "scrapers"):
        yield from (ROOT / folder).rglob("*.py")


def _module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts)


def test_no_module_but_kb_tables_writes_csv_or_tsv_itself():
    offenders = []
    writers = {"kb.tables"} | {_module_name(p) for p in _modules() if "kb.tables" in p.read_text(encoding="utf-8")}
    for path in _modules():
        if path == ROOT / "kb" / "tables.py":
            continue
        source = path.read_text(encoding="utf-8")
        tree = ast.parse(source)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import) and any(a.name == "csv" for a in node.names):
                offenders.append(f"{path.relative_to(ROOT)} imports csv")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join":
                if isinstance(node.func.value, ast.Constant) and node.func.value.value == "\t":
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} joins cells with tabs")
        answers = "text/csv" in source or "tab-separated" in source
        if answers and not any(f"{name} import" in source or f"import {name}" in source for name in writers):
            offenders.append(f"{path.relative_to(ROOT)} answers CSV/TSV without kb.tables")
    assert not offenders, offenders


def test_the_review_annex_csv_neutralises_every_formula():
    """The rà soát annex (/ra-soat.csv, kb.legal.review_export.annex_csv) goes through kb/tables.py too."""
    from kb.legal.review import Entry
    from kb.legal.review_export import annex_csv

    entries = [
        Entry(
            uid=f"import:hostile-{i}",
            number=payload,
            doc_type="Nghị quyết",
            title=payload,
            issuer="HĐND tỉnh",
            province="Lai Châu",
            issuer_kind="HĐND",
            issued="2025-01-01",
            effective="2025-01-01",
            fields=[],
            in_force=True,
            status="Còn hiệu lực",
            has_text=True,
            bases=0,
        )
        for i, payload in enumerate(HOSTILE)
    ]
    rows = list(csv.reader(io.StringIO(annex_csv(entries).lstrip("\ufeff"))))
    assert len(rows) == 1 + len(HOSTILE)
    _cells_are_safe(rows)
