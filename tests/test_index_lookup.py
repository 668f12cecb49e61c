"""Lookups (index/lookup.py): every example of issue 16 lands at rank 1 on a small real-shaped store."""

import pytest

from index import build
from index.lookup import Catalog, in_force
from index.search import SearchService
from kb import vocab
from kb.model import Document
from kb.store import Store


def doc(uid, number, title, doc_type, issued, articles, issuer="Quốc hội", status="Còn hiệu lực"):
    return Document.from_dict(
        {
            "uid": uid,
            "number": number,
            "title": title,
            "issuer": issuer,
            "issued": issued,
            "status": status,
            "doc_type": doc_type,
            "articles": [{"number": n, "heading": h, "text": t} for n, h, t in articles],
        }
    )


def arts(*numbers, words="ngân sách nhà nước"):
    return [(n, f"Quy định {n}", f"Điều khoản {n} về {words} và chi ngân sách.") for n in numbers]


DOCS = [
    doc("pd:nsnn", "83/2015/QH13", "Luật Ngân sách nhà nước", "Luật", "2015-06-25", arts("1", "2", "9", "15")),
    doc(
        "pd:nsnn-old",
        "01/2002/QH11",
        "Luật Ngân sách nhà nước",
        "Luật",
        "2002-12-16",
        arts("1", "9"),
        status="Hết hiệu lực toàn bộ",
    ),
    doc("pd:87", "87/2015/QH13", "Luật Giám sát của Quốc hội", "Luật", "2015-11-20", arts("1", "9")),
    doc("pd:vc", "58/2010/QH12", "Luật Viên chức", "Luật", "2010-11-15", arts("1", "15", "16", words="viên chức")),
    doc(
        "pd:blld", "45/2019/QH14", "Bộ luật Lao động", "Bộ luật", "2019-11-20", arts("1", "2", "219", words="lao động")
    ),
    doc(
        "pd:blld12",
        "10/2012/QH13",
        "Bộ luật Lao động",
        "Bộ luật",
        "2012-06-18",
        arts("1", "2"),
        status="Hết hiệu lực toàn bộ",
    ),
    doc(
        "pd:163",
        "163/2016/NĐ-CP",
        "Nghị định quy định chi tiết thi hành Luật Ngân sách nhà nước",
        "Nghị định",
        "2016-12-21",
        arts("1", "5", "9"),
        issuer="Chính phủ",
    ),
    doc(
        "pd:163b",
        "163/2018/NĐ-CP",
        "Nghị định quy định về phát hành trái phiếu doanh nghiệp",
        "Nghị định",
        "2018-12-04",
        arts("1"),
        issuer="Chính phủ",
    ),
    doc(
        "pd:342",
        "342/2016/TT-BTC",
        "Thông tư quy định chi tiết Nghị định 163/2016/NĐ-CP",
        "Thông tư",
        "2016-12-30",
        arts("1", "2"),
        issuer="Bộ Tài chính",
    ),
    doc(
        "pd:1636",
        "1636/QĐ-TTg",
        "Quyết định phê duyệt đề án",
        "Quyết định",
        "2020-10-22",
        arts("1"),
        issuer="Thủ tướng Chính phủ",
    ),
    doc(
        "pd:nq-other",
        "15/2025/NQ-HĐND",
        "Nghị quyết quy định mức thu học phí",
        "Nghị quyết",
        "2025-07-12",
        arts("1"),
        issuer="Hội đồng nhân dân tỉnh Đồng Nai",
    ),
    doc(
        "pd:nq-own",
        "15/2025/NQ-HĐND",
        "Nghị quyết quy định mức thu học phí",
        "Nghị quyết",
        "2025-07-10",
        arts("1"),
        issuer="Hội đồng nhân dân tỉnh Lai Châu",
    ),
]


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lookup")
    store = Store(tmp / "kb.sqlite")
    for d in DOCS:
        store.upsert(d)
    build.rebuild(store, tmp / "index")
    svc = SearchService(tmp / "index", province="Lai Châu")
    yield svc
    svc.close()


def first(service, query, **kw):
    hit = service.search(query, facets=False, **kw).hits[0]
    return hit.uid, hit.article_number, hit.anchor


@pytest.mark.parametrize(
    "query, uid, article",
    [
        ("Điều 9 Luật Ngân sách nhà nước", "pd:nsnn", "9"),
        ("khoản 2 Điều 5 Nghị định 163/2016/NĐ-CP", "pd:163", "5"),
        ("Điều 9 83/2015/QH13", "pd:nsnn", "9"),
        ("điều 15 luat vien chuc", "pd:vc", "15"),
        ("Điều 2 Bộ luật Lao động", "pd:blld", "2"),
        ("dieu 9 83-2015-qh13", "pd:nsnn", "9"),
    ],
)
def test_an_article_of_a_named_document_comes_first_at_its_anchor(service, query, uid, article):
    assert first(service, query) == (uid, article, f"dieu-{article}")
    assert first(service, query, unit="article")[:2] == (uid, article)


@pytest.mark.parametrize(
    "query",
    ["83/2015/QH13", "83-2015-QH13", "83.2015.QH13", "83 2015 QH13", "83/2015/QH 13", "83/2015/qh13", "Luật 83/2015"],
)
def test_every_number_form_finds_the_document(service, query):
    result = service.search(query, facets=False)
    assert result.hits[0].uid == "pd:nsnn" and result.hits[0].kind == "doc"
    assert [h.uid for h in result.exact] == ["pd:nsnn"]


@pytest.mark.parametrize(
    "query, uids",
    [
        ("163/NĐ-CP", ["pd:163b", "pd:163"]),  # no year: every candidate, newest first
        ("163/nd-cp", ["pd:163b", "pd:163"]),
        ("NĐ 163/2016", ["pd:163"]),
        ("Nghị định 163/2016", ["pd:163"]),
        ("nghi dinh 163/2016", ["pd:163"]),
        ("TT 342/2016/BTC", ["pd:342"]),
        ("QĐ 1636", ["pd:1636"]),
        ("qd 1636", ["pd:1636"]),
        # local numbers repeat across provinces: the province's own first
        ("15/2025/NQ-HĐND", ["pd:nq-own", "pd:nq-other"]),
    ],
)
def test_colloquial_and_partial_numbers_list_every_fitting_document_first(service, query, uids):
    result = service.search(query, facets=False)
    assert [h.uid for h in result.hits[: len(uids)]] == uids


@pytest.mark.parametrize(
    "query, uid",
    [("Luật Viên chức", "pd:vc"), ("luat vien chuc", "pd:vc"), ("Bộ luật Lao động 2019", "pd:blld")],
)
def test_a_document_name_alone_puts_the_document_itself_first(service, query, uid):
    hit = service.search(query, facets=False).hits[0]
    assert (hit.uid, hit.kind) == (uid, "doc")


def test_the_document_in_force_comes_before_the_one_it_replaced(service):
    result = service.search("Luật Ngân sách nhà nước", facets=False)
    assert [h.uid for h in result.exact] == ["pd:nsnn", "pd:nsnn-old"]
    assert first(service, "Bộ luật Lao động 2012")[0] == "pd:blld12"


def test_dates_and_counts_in_sentences_are_not_document_numbers(service):
    catalog = Catalog.from_records(
        [{"row": 1, "uid": "x", "number": "7/2020/QH14", "doc_type": "Luật", "title": "Luật X", "issued": "2020-01-01"}]
    )
    assert catalog.resolve("người lao động nghỉ từ tháng 7/2020 có được hưởng chế độ không") is None
    assert catalog.resolve("Điều 9") is None
    assert catalog.resolve("7/2020/QH14").entries[0].uid == "x"


def test_in_force_orders_statuses():
    assert in_force(vocab.IN_FORCE) < in_force(vocab.UNKNOWN) < in_force(vocab.EXPIRED)
