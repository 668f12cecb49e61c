"""Nội dung trung ương giao HĐND tỉnh quy định: the delegation tracker's page (filters by status, lĩnh
vực and date, bad filters ignored with a notice) and GET /api/delegations checked against its OpenAPI
description; a new resolution answering a delegation shows without a restart."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

import pytest
from web_fixtures import (  # noqa: F401
    CENTRAL,
    DECREE,
    LAW,
    RESOLUTION,
    conforms,
    copy_instance,
    make_app,
    page,
    texts,
    weekly_instance,
)

from index import build
from kb import config as kbconfig
from kb import vocab
from kb.legal import derived
from kb.model import Document
from kb.store import Store


@pytest.fixture(scope="module")
def client(weekly_instance):
    return make_app(weekly_instance).test_client()


@pytest.fixture(scope="module")
def spec(client):
    return client.get("/api/openapi.json").get_json()


def items(tree) -> list[tuple[str, str, str]]:
    """(parent uid, provision, status label) of each listed delegation."""
    out = []
    for li in tree.select("ol.delegations > li"):
        link = li.select_one(".hit-number")
        out.append(
            (
                urlsplit(link["href"]).path.removeprefix("/van-ban/"),
                link.get_text(strip=True),
                li.select_one(".deleg-status").get_text(strip=True),
            )
        )
    return out


def test_the_page_lists_every_delegation_newest_parent_first(client):
    tree = page(client, "/giao-hdnd-quy-dinh")
    assert tree.h1.get_text(strip=True) == "Nội dung trung ương giao HĐND tỉnh quy định"
    assert tree.select_one("nav.site-nav a[aria-current=page]").get_text(strip=True) == "Giao HĐND quy định"
    assert items(tree) == [
        (CENTRAL, "Khoản 1 Điều 5", "Chưa ban hành"),
        (DECREE, "Điều 9", "Đã ban hành"),
        (LAW, "Khoản 2 Điều 99", "Đã ban hành"),
    ]
    first = tree.select_one("ol.delegations > li")
    assert first.select_one(".hit-number")["href"] == f"/van-ban/{CENTRAL}#dieu-5"
    assert (
        first.select_one("blockquote").get_text(strip=True)
        == "Hội đồng nhân dân cấp tỉnh quy định mức hỗ trợ cụ thể cho hợp tác xã trên địa bàn."
    )
    answered = tree.select("ol.delegations > li")[1]
    assert answered.select_one(".deleg-answers a")["href"] == f"/van-ban/{RESOLUTION}"
    assert "05/2023/NQ-HĐND" in answered.select_one(".deleg-answers").get_text()
    assert texts(tree.select(".status-tabs .period")) == ["Tất cả (3)", "Chưa ban hành (1)", "Đã ban hành (2)"]


def test_filters_by_status_field_and_date(client):
    tree = page(client, "/giao-hdnd-quy-dinh?status=open")
    assert items(tree) == [(CENTRAL, "Khoản 1 Điều 5", "Chưa ban hành")]
    assert tree.select_one(".status-tabs [aria-current=page]").get_text(strip=True) == "Chưa ban hành (1)"
    assert [i[0] for i in items(page(client, "/giao-hdnd-quy-dinh?status=answered"))] == [DECREE, LAW]
    assert [i[0] for i in items(page(client, "/giao-hdnd-quy-dinh?linhvuc=tai+chinh"))] == [DECREE]  # no marks needed
    assert [i[0] for i in items(page(client, "/giao-hdnd-quy-dinh?tu=01/01/2021"))] == [CENTRAL, DECREE]
    tree = page(client, "/giao-hdnd-quy-dinh?status=answered&linhvuc=Gi%C3%A1o+d%E1%BB%A5c")
    assert [i[0] for i in items(tree)] == [DECREE, LAW]
    field_links = {a.select_one(".facet-label").get_text(): a["href"] for a in tree.select("[data-facet=linhvuc] a")}
    assert parse_qs(urlsplit(field_links["Tài chính"]).query) == {"status": ["answered"], "linhvuc": ["Tài chính"]}
    assert parse_qs(urlsplit(field_links["Giáo dục"]).query) == {"status": ["answered"]}  # selected: removes it
    nothing = page(client, "/giao-hdnd-quy-dinh?linhvuc=Qu%E1%BB%91c+ph%C3%B2ng")
    assert not items(nothing) and nothing.select_one(".no-results a")["href"] == "/giao-hdnd-quy-dinh"


@pytest.mark.parametrize(
    "query, notice",
    [
        ("status=xong", "Tình trạng “xong” (tham số status) không có"),
        ("tu=31/02/2025", "Ngày “31/02/2025” (tham số tu) không hợp lệ"),
        ("page=0", "Tham số page=“0” không hợp lệ"),
        ("page=%F0%9F%98%80", "không hợp lệ"),
    ],
)
def test_bad_filters_are_ignored_with_a_notice(client, query, notice):
    tree = page(client, f"/giao-hdnd-quy-dinh?{query}")
    assert notice in tree.select_one("p.notice").get_text()
    assert len(items(tree)) == 3


def test_paging(weekly_instance):
    client = make_app(weekly_instance, DELEGATIONS_PER_PAGE=2).test_client()
    first, second = page(client, "/giao-hdnd-quy-dinh"), page(client, "/giao-hdnd-quy-dinh?page=2")
    assert [i[0] for i in items(first)] == [CENTRAL, DECREE] and [i[0] for i in items(second)] == [LAW]
    assert second.select_one("ol.delegations")["start"] == "3"
    assert [a["href"] for a in first.select("nav.pagination a")] == ["/giao-hdnd-quy-dinh?page=2"]
    assert [i[0] for i in items(page(client, "/giao-hdnd-quy-dinh?page=99"))] == [LAW]  # past the end: the last


def test_api_delegations(client, spec):
    body = conforms(client.get("/api/delegations"), spec, "/api/delegations")
    assert (body["province"], body["count"], body["counts"]) == ("Lai Châu", 3, {"open": 1, "answered": 2})
    first = body["items"][0]
    assert (first["parent_uid"], first["provision"], first["status"], first["status_label"]) == (
        CENTRAL,
        "khoản 1 Điều 5",
        "open",
        "Chưa ban hành",
    )
    assert first["url"] == f"http://localhost/van-ban/{CENTRAL}#dieu-5"
    answer = body["items"][1]["answers"][0]
    assert (answer["uid"], answer["url"]) == (RESOLUTION, f"http://localhost/van-ban/{RESOLUTION}")
    body = conforms(client.get("/api/delegations?status=answered&limit=1&page=2"), spec, "/api/delegations")
    assert (body["count"], body["pages"], [i["parent_uid"] for i in body["items"]]) == (2, 2, [LAW])
    body = conforms(
        client.get("/api/delegations?linhvuc=n%C3%B4ng+nghi%E1%BB%87p&tu=2025-01-01"), spec, "/api/delegations"
    )
    assert [i["parent_uid"] for i in body["items"]] == [CENTRAL]


@pytest.mark.parametrize(
    "query, name",
    [
        ("status=xong", "status"),
        ("tu=hom-qua", "tu"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("page=-1", "page"),
        ("trangthai=open", "trangthai"),
    ],
)
def test_api_delegations_refuses_bad_parameters_by_name(client, spec, query, name):
    body = conforms(client.get(f"/api/delegations?{query}"), spec, "/api/delegations")
    assert body["status"] == 400 and name in body["error"]


def test_every_documented_delegation_parameter_is_accepted(client, spec):
    for param in spec["paths"]["/api/delegations"]["get"]["parameters"]:
        response = client.get("/api/delegations", query_string={param["name"]: str(param["example"])})
        assert conforms(response, spec, "/api/delegations") and response.status_code == 200, param["name"]
        for value in param["schema"].get("enum", []):
            assert client.get("/api/delegations", query_string={param["name"]: value}).status_code == 200


def test_a_new_resolution_answering_a_delegation_shows_at_once(weekly_instance, tmp_path):
    folder = copy_instance(weekly_instance, tmp_path / "i")
    client = make_app(folder).test_client()
    assert items(page(client, "/giao-hdnd-quy-dinh?status=open"))[0][0] == CENTRAL
    conf = kbconfig.load(folder, environ={})
    with Store(conf.db_path) as store:
        number = store.get(CENTRAL).number
        store.upsert(
            Document.from_dict(
                {
                    "uid": "congbao_tinh:LC-HTX",
                    "number": f"40/{dt.date.today().year}/NQ-HĐND",
                    "doc_type": "Nghị quyết",
                    "issuer": "Hội đồng nhân dân tỉnh Lai Châu",
                    "province": "Lai Châu",
                    "issued": dt.date.today().isoformat(),
                    "status": vocab.NOT_YET,
                    "title": "Nghị quyết quy định mức hỗ trợ hợp tác xã trên địa bàn tỉnh Lai Châu",
                    "text": f"Căn cứ khoản 1 Điều 5 Nghị định số {number} của Chính phủ;\nQUYẾT NGHỊ:\nĐiều 1. Mức hỗ trợ",
                }
            )
        )
        build.update(store, conf.index_dir)
        derived.refresh(store)  # as the writing commands do
    tree = page(client, "/giao-hdnd-quy-dinh")
    assert items(tree)[0] == (CENTRAL, "Khoản 1 Điều 5", "Đã ban hành")
    assert tree.select_one("ol.delegations > li .deleg-answers a")["href"] == "/van-ban/congbao_tinh:LC-HTX"


def test_after_a_store_change_the_page_reads_and_never_computes(weekly_instance, tmp_path, monkeypatch):
    """Issue 20 item 4: the page no longer recomputes the tracker in a request (it stalled the site for
    ~12 s after every store change). After a change the writing command has not derived yet, the page and a
    search answer from what is stored, and nothing of the derivation runs inside a request."""
    from kb.legal import delegation

    folder = copy_instance(weekly_instance, tmp_path / "i")
    client = make_app(folder).test_client()
    before = items(page(client, "/giao-hdnd-quy-dinh"))
    conf = kbconfig.load(folder, environ={})
    with Store(conf.db_path) as store:
        doc = store.get(CENTRAL)
        doc.title += " (sửa đổi)"
        store.upsert(doc)  # a store change; derived.refresh not run (a refresh still writing, say)

    def computed(*args, **kwargs):
        raise AssertionError("a request computed derived data")

    for name in ("refresh", "rebuild"):
        monkeypatch.setattr(derived, name, computed)
    monkeypatch.setattr(delegation, "find_delegations", computed)
    monkeypatch.setattr(delegation, "track_delegations", computed, raising=False)
    assert items(page(client, "/giao-hdnd-quy-dinh")) == before
    assert client.get("/api/delegations").status_code == 200
    assert client.get("/tim-kiem?q=hợp+tác+xã").status_code == 200
