"""Hostile content from scraped or imported documents (issue 20, item 8): only http/https links are kept
(a `javascript:` source link was emitted; only the CSP stopped it), bidi control characters are removed from
titles, numbers and names at import (the body text, which is data, is kept), the store's older records are
cleaned when it is opened, and snippets are capped in length (one 200,000-character word made a 200 KB
snippet)."""

from __future__ import annotations

import json
import sqlite3

import pytest
from web_fixtures import make_app

from index import build
from index.snippets import snippet
from kb.model import Document
from kb.store import Store

RLO, LRI, PDI, LRM = "\u202e", "\u2066", "\u2069", "\u200e"


def hostile(**extra) -> Document:
    data = {
        "uid": "import:hostile-1",
        "number": f"15/2025/NQ-{RLO}HĐND",
        "title": f"Nghị quyết {RLO}fdp.exe{LRI} về học phí{PDI}",
        "issuer": f"HĐND tỉnh{RLO}",
        "doc_type": "Nghị quyết",
        "issued": "2025-01-01",
        "source_url": "javascript:alert(document.cookie)",
        "text": f"Điều 1. Học phí {LRM}năm học 2025{RLO}",
        "attachments": [
            {"name": f"du-thao{RLO}.pdf", "url": " JaVaScRiPt:alert(1)"},
            {"name": "phu-luc.pdf", "url": "data:text/html,<script>alert(1)</script>"},
            {"name": "ban-goc.pdf", "url": "https://vbpl.vn/tep/ban-goc.pdf"},
        ],
    }
    data.update(extra)
    return Document.from_dict(data)


def test_only_http_and_https_links_are_kept():
    doc = hostile()
    assert doc.source_url is None
    assert [a.url for a in doc.attachments] == [None, None, "https://vbpl.vn/tep/ban-goc.pdf"]
    assert hostile(source_url="https://vbpl.vn/van-ban/1").source_url == "https://vbpl.vn/van-ban/1"
    assert hostile(source_url="http://congbao.laichau.gov.vn/a").source_url == "http://congbao.laichau.gov.vn/a"


def test_bidi_controls_are_removed_from_titles_numbers_and_names_but_not_from_the_text():
    doc = hostile()
    for value in (doc.title, doc.number, doc.issuer, doc.attachments[0].name):
        assert not any(c in value for c in (RLO, LRI, PDI)), repr(value)
    assert doc.title == "Nghị quyết fdp.exe về học phí"
    assert doc.number == "15/2025/NQ-HĐND"
    assert RLO in doc.text and LRM in doc.text  # the body text is data: kept as written


def test_the_document_page_emits_no_javascript_link(tmp_path):
    instance = tmp_path / "instance"
    store = Store(instance / "kb.sqlite")
    store.upsert(hostile())
    build.rebuild(store, instance / "index", procs=1)
    store.close()
    body = make_app(instance).test_client().get("/van-ban/import:hostile-1").get_data(as_text=True)
    assert "Nghị quyết fdp.exe về học phí" in body
    assert "javascript:" not in body.lower() and "data:text/html" not in body
    assert "https://vbpl.vn/tep/ban-goc.pdf" in body


def test_records_stored_by_an_older_version_are_cleaned_when_the_store_opens(tmp_path):
    path = tmp_path / "kb.sqlite"
    store = Store(path)
    store.upsert(hostile())
    store.close()
    db = sqlite3.connect(path)  # as an older version stored it: link and bidi characters kept
    (raw,) = db.execute("SELECT data FROM documents WHERE uid='import:hostile-1'").fetchone()
    data = json.loads(raw)
    data.update(title=f"Nghị quyết {RLO}về học phí", source_url="javascript:alert(1)")
    db.execute("UPDATE documents SET data=? WHERE uid='import:hostile-1'", (json.dumps(data, ensure_ascii=False),))
    db.execute("DELETE FROM state WHERE name='content_rules'")
    db.commit()
    db.close()
    with Store(path) as store:
        doc = store.get("import:hostile-1")
        assert doc.title == "Nghị quyết về học phí" and doc.source_url is None
        (raw,) = store.db.execute("SELECT data FROM documents WHERE uid='import:hostile-1'").fetchone()
        stored = json.loads(raw)
        assert RLO not in stored["title"] and "javascript:" not in raw


@pytest.mark.parametrize("word_length", [200_000, 5_000])
def test_a_huge_word_makes_a_short_snippet(word_length):
    text = "Quy định về học phí " + "x" * word_length + " và lệ phí học phí năm học"
    html = snippet(text, {"hoc", "phi"})
    assert len(html) < 1_000, len(html)
    assert "<mark>" in html
    assert len(snippet("y" * 200_000, {"hoc"})) < 1_000
