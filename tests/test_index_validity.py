"""The index holds each document's validity timeline: hieuluc:, the status facet and the hit statuses are
read on the date asked (taingay:), and agree with kb.legal.validity."""

import pytest

from index import build
from index.errors import QueryError
from index.query import parse
from index.search import SearchService
from kb import vocab
from kb.model import Document


def law(uid, number, effective, status="Chưa xác định", relations=()):
    return Document.from_dict(
        {
            "uid": uid,
            "number": number,
            "title": "Luật Ngân sách nhà nước",
            "doc_type": "Luật",
            "issuer": "Quốc hội",
            "effective": effective,
            "status": status,
            "text": "Luật này quy định về ngân sách nhà nước.",
            "relations": list(relations),
        }
    )


@pytest.fixture
def service(store, tmp_path):
    store.upsert(law("t:83", "83/2015/QH13", "2017-01-01"))
    store.upsert(
        law(
            "t:89",
            "89/2025/QH15",
            "2026-01-01",
            "Còn hiệu lực",
            [{"type": "thay_the", "target_number": "83/2015/QH13"}],
        )
    )
    build.rebuild(store, tmp_path / "index")
    s = SearchService(tmp_path / "index")
    yield s
    s.close()


def uids(result):
    return sorted(h.uid for h in result.hits)


def test_taingay_in_the_query_language():
    assert parse("ngân sách taingay:01/06/2025").on == "2025-06-01"
    with pytest.raises(QueryError, match="taingay"):
        parse("taingay:31/02/2025")


def test_hieuluc_and_the_facet_are_read_on_the_date(service):
    now = service.search('ngân sách nhà nước hieuluc:"còn hiệu lực"', on="2026-12-01")
    assert uids(now) == ["t:89"]
    before = service.search('ngân sách nhà nước hieuluc:"còn hiệu lực" taingay:01/06/2025')
    assert uids(before) == ["t:83"] and before.on == "2025-06-01"
    facet = dict(service.search("ngân sách nhà nước", on="2025-06-01").facets["status"])
    assert facet == {vocab.IN_FORCE: 1, vocab.NOT_YET: 1}
    facet = dict(service.search("ngân sách nhà nước", on="2026-12-01").facets["status"])
    assert facet == {vocab.IN_FORCE: 1, vocab.EXPIRED: 1}


def test_the_hit_badges_are_the_status_on_the_date(service):
    hits = {h.uid: h.status for h in service.search("ngân sách nhà nước", on="2026-12-01").hits}
    assert hits == {"t:83": vocab.EXPIRED, "t:89": vocab.IN_FORCE}
    hits = {h.uid: h.status for h in service.search("ngân sách nhà nước taingay:2016-06-01").hits}
    assert hits == {"t:83": vocab.NOT_YET, "t:89": vocab.NOT_YET}


def test_a_replacement_stored_after_indexing_reaches_the_index_with_index_update(store, tmp_path):
    store.upsert(law("t:83", "83/2015/QH13", "2017-01-01"))
    build.rebuild(store, tmp_path / "index")
    store.upsert(
        law(
            "t:89",
            "89/2025/QH15",
            "2026-01-01",
            "Còn hiệu lực",
            [{"type": "thay_the", "target_number": "83/2015/QH13"}],
        )
    )
    build.update(store, tmp_path / "index")
    service = SearchService(tmp_path / "index")
    try:
        hits = {h.uid: h.status for h in service.search("ngân sách nhà nước", on="2026-12-01").hits}
        assert hits == {"t:83": vocab.EXPIRED, "t:89": vocab.IN_FORCE}
    finally:
        service.close()


@pytest.mark.parametrize(("on", "first"), [("2025-06-01", "t:83"), ("2026-12-01", "t:89")])
def test_a_name_that_fits_several_documents_lists_the_one_in_force_on_the_date_first(service, on, first):
    # "Luật Ngân sách nhà nước" names both laws; the lookup orders them by their validity on the search date
    result = service.search("Luật Ngân sách nhà nước", on=on)
    assert [h.uid for h in result.exact][:2] == [first, ({"t:83", "t:89"} - {first}).pop()]
    assert result.hits[0].uid == first
