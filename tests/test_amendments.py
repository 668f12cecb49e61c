"""Amendment notes (pháp điển `amendment_note`) read into `changed_by`, kept through import and export."""

import gzip
import io
import json

from conftest import shared_file

from kb import jsonl, vocab
from kb.legal.amendments import parse_amendment_note
from kb.model import ChangedBy, Document


def test_a_note_with_one_amending_document():
    (c,) = parse_amendment_note(
        "có nội dung được sửa đổi, có nội dung được bổ sung bởi Điều 2 Luật số 52/2019/QH14 có hiệu lực "
        "thi hành kể từ ngày 01/07/2020",
        "28",
    )
    assert c == ChangedBy(
        type=vocab.REL_AMENDS,
        article="28",
        by_number="52/2019/QH14",
        by_type="Luật",
        by_article="Điều 2",
        effective="2020-07-01",
        note=c.note,
    )


def test_several_documents_and_a_partial_repeal():
    found = parse_amendment_note(
        "có nội dung được bổ sung, có nội dung bị bãi bỏ bởi Điều 1 Thông tư số 11/2016/TT-NHNN có hiệu lực thi "
        "hành kể từ ngày 13/08/2016; Điều 2 Thông tư số 15/2019/TT-NHNN có hiệu lực thi hành kể từ ngày 25/11/2019",
        "14",
    )
    assert [(c.type, c.whole, c.by_number, c.effective) for c in found] == [
        (vocab.REL_AMENDS, True, "11/2016/TT-NHNN", "2016-08-13"),
        (vocab.REL_REPEALS, False, "11/2016/TT-NHNN", "2016-08-13"),
        (vocab.REL_AMENDS, True, "15/2019/TT-NHNN", "2019-11-25"),
        (vocab.REL_REPEALS, False, "15/2019/TT-NHNN", "2019-11-25"),
    ]


def test_whole_repeal_written_dates_and_links():
    (c,) = parse_amendment_note(
        "bị bãi bỏ bởi Điều 4 Nghị định số 155/2018/NĐ-CP có hiệu lực thi hành kể từ ngày 12/11/2018", "38"
    )
    assert (c.type, c.whole, c.by_type, c.by_article) == (vocab.REL_REPEALS, True, "Nghị định", "Điều 4")
    (c,) = parse_amendment_note(
        "có nội dung\xa0được sửa đổi, bổ sung theo quy định tại khoản 3, Điều 1 Nghị định số\xa0"
        "[14/2019/NĐ-CP](https://example.invalid/x), có hiệu lực kể từ ngày 01 tháng 01 năm 2014.",
        "5",
    )
    assert (c.by_number, c.by_article, c.effective) == ("14/2019/NĐ-CP", "Khoản 3, Điều 1", "2014-01-01")


def test_notes_naming_no_other_document_give_nothing():
    assert parse_amendment_note("có hiệu lực thi hành đến ngày 31/12/2027.\xa0", "94") == []
    assert parse_amendment_note("khoản 3 Điều này có hiệu lực thi hành từ ngày 01/01/2028.", "2") == []
    assert parse_amendment_note(None) == []


def test_the_importer_is_handed_the_parser_and_export_keeps_the_notes(store, tmp_path):
    record = {
        "id": "phapdien:1.1.L.28",
        "doc_id": "58-2010-qh12",
        "doc_number": "58/2010/QH12",
        "doc_title": "Luật Viên chức",
        "doc_type": "Luật",
        "issued_date": "2010-11-15",
        "effective_date": "2012-01-01",
        "article_id": "28",
        "title": "Hợp đồng làm việc",
        "text": "1. Hợp đồng làm việc …",
        "amendment_note": "có nội dung được sửa đổi bởi Điều 2 Luật số 52/2019/QH14 có hiệu lực thi hành kể từ "
        "ngày 01/07/2020",
    }
    path = tmp_path / "a.jsonl"
    path.write_text(json.dumps(record, ensure_ascii=False) + "\n", encoding="utf-8")
    jsonl.import_file(store, path)  # no parser: the core importer does not read notes by itself
    assert store.get("phapdien:58-2010-qh12").changed_by == []
    jsonl.import_file(store, path, note_parser=parse_amendment_note)
    doc = store.get("phapdien:58-2010-qh12")
    assert [(c.article, c.by_number, c.effective) for c in doc.changed_by] == [("28", "52/2019/QH14", "2020-07-01")]
    out = io.StringIO()
    jsonl.export(store, out)
    again = Document.from_dict(json.loads(out.getvalue().splitlines()[0]))
    assert again.changed_by == doc.changed_by


def test_real_phapdien_notes():
    """3,114 notes in shared/corpus: those naming another document are read with a date."""
    path = shared_file("corpus", "phapdien_articles.jsonl.gz")
    notes = parsed = dated = 0
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            record = json.loads(line)
            if not record.get("amendment_note"):
                continue
            notes += 1
            found = parse_amendment_note(record["amendment_note"], record["article_id"])
            parsed += bool(found)
            dated += bool(found) and all(c.effective for c in found)
    print(f"notes {notes}, read {parsed}, all dated {dated}")
    assert notes == 3114 and parsed >= 3060 and dated >= parsed - 5
