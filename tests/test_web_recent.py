""" "Văn bản mới": documents added or changed in the last 7 / 30 days, grouped by day, with facets."""

import datetime as dt
from urllib.parse import parse_qs, urlsplit

from web_fixtures import (  # noqa: F401
    AMENDMENT,
    DECREE,
    LAW,
    REPLACEMENT,
    RESOLUTION,
    XSS,
    XSS_TEXT,
    app,
    client,
    kb_instance,
    make_app,
    page,
    texts,
)

from kb import vocab


def uids(tree) -> list[str]:
    return [a["href"].removeprefix("/van-ban/") for a in tree.select("li.change .change-title a")]


def test_last_seven_days_grouped_by_day_newest_first(client):
    tree = page(client, "/van-ban-moi")
    assert tree.select_one("input[name=q]").has_attr("autofocus")
    assert "4 văn bản" in tree.select_one(".results-count").get_text()
    days = tree.select("section.day")
    assert len(days) == 3
    dates = [dt.date.fromisoformat(d.select_one(".day-title time")["datetime"]) for d in days]
    assert dates == sorted(dates, reverse=True)
    groups = [set(uids(d)) for d in days]
    assert groups == [{RESOLUTION, REPLACEMENT}, {AMENDMENT}, {XSS}]
    assert tree.select_one(".periods .current").get_text() == "7 ngày qua"


def test_a_status_change_is_shown_with_old_and_new_status(client):
    tree = page(client, "/van-ban-moi")
    change = next(
        li for li in tree.select("li.change") if li.select_one(".change-title a")["href"].endswith(RESOLUTION)
    )
    kinds = texts(change.select(".change-kinds .kind"))
    assert {"Đổi hiệu lực", "Sửa nội dung", "Thêm quan hệ"} <= set(kinds)
    assert "Mới" not in kinds  # it was added 10 days ago
    assert [b.get_text() for b in change.select(".status-change .badge")] == [vocab.IN_FORCE, vocab.EXPIRED]
    new = next(li for li in tree.select("li.change") if li.select_one(".change-title a")["href"].endswith(REPLACEMENT))
    assert texts(new.select(".kind")) == ["Mới"]


def test_thirty_days_adds_older_changes_only(client):
    tree = page(client, "/van-ban-moi?khoang=30")
    found = set(uids(tree))
    assert {LAW, DECREE, RESOLUTION, AMENDMENT, REPLACEMENT, XSS} <= found
    assert len(found) == 9  # and three UBND decisions from 12 days ago, not the 45-day-old ones
    assert tree.select_one(".periods .current").get_text() == "30 ngày qua"


def test_same_facets_with_counts_that_filter(client):
    tree = page(client, "/van-ban-moi?khoang=30")
    facet = tree.select_one('section.facet[data-facet="loai"]')
    counts = {
        a.select_one(".facet-label").get_text(): int(a.select_one(".count").get_text())
        for a in facet.select("a.facet-value")
    }
    assert counts == {"Quyết định": 4, "Nghị quyết": 3, "Luật": 1, "Nghị định": 1}
    assert {s["data-facet"] for s in tree.select("section.facet")} == {
        "loai",
        "coquan",
        "hieuluc",
        "nam",
        "linhvuc",
        "phamvi",
    }
    link = next(a for a in facet.select("a.facet-value") if "Nghị quyết" in a.get_text())
    assert parse_qs(urlsplit(link["href"]).query) == {"khoang": ["30"], "loai": ["Nghị quyết"]}
    narrowed = page(client, link["href"])
    assert set(uids(narrowed)) == {RESOLUTION, AMENDMENT, REPLACEMENT}
    chip = narrowed.select_one("ul.chips a.chip")
    assert parse_qs(urlsplit(chip["href"]).query) == {"khoang": ["30"]}


def test_issuer_filter_matches_part_of_the_name(client):
    tree = page(client, "/van-ban-moi?coquan=Hội+đồng+nhân+dân")
    assert set(uids(tree)) == {RESOLUTION, AMENDMENT, REPLACEMENT}


def test_unknown_period_falls_back_to_seven_days(client):
    tree = page(client, "/van-ban-moi?khoang=abc")
    assert tree.select_one(".periods .current").get_text() == "7 ngày qua"


def test_nothing_new_says_so_and_offers_thirty_days(client):
    tree = page(client, "/van-ban-moi?loai=Hiến+pháp")
    assert "Không có văn bản nào" in tree.select_one(".no-results").get_text()
    assert tree.select_one(".no-results a")["href"] == "/van-ban-moi?khoang=30&loai=Hi%E1%BA%BFn+ph%C3%A1p"


def test_head_advertises_the_feed_of_this_view(client):
    tree = page(client, "/van-ban-moi?khoang=30&loai=Luật")
    feed = tree.find("link", rel="alternate", type="application/atom+xml")
    assert urlsplit(feed["href"]).path == "/van-ban-moi.atom"
    assert parse_qs(urlsplit(feed["href"]).query) == {"khoang": ["30"], "loai": ["Luật"]}


def test_deleted_and_escaped_documents(tmp_path):
    from index import build
    from kb import config as kbconfig
    from kb.model import Document
    from kb.store import Store

    conf = kbconfig.load(tmp_path / "instance", environ={})
    with Store(conf.db_path) as store:
        store.upsert(Document.from_dict({"uid": "t:1", "number": "1/2025/QĐ-UBND", "title": f"Quyết định {XSS_TEXT}"}))
        store.upsert(Document.from_dict({"uid": "t:2", "number": "2/2025/QĐ-UBND", "title": "Quyết định bị xóa"}))
        store.delete("t:2")
        build.rebuild(store, conf.index_dir)
    client = make_app(conf.instance).test_client()
    tree = page(client, "/van-ban-moi")
    items = tree.select("li.change")
    deleted = next(li for li in items if "Đã xóa" in texts(li.select(".kind")))
    assert "2/2025/QĐ-UBND" in deleted.get_text() and not deleted.select(".change-title a")
    assert any(XSS_TEXT in p.get_text() for p in tree.select(".change-doc"))
    assert not tree.find("script", src=False)


def test_a_cut_list_says_how_many_it_shows_of_how_many(kb_instance):  # noqa: F811
    client = make_app(kb_instance, RECENT_MAX=2).test_client()
    tree = page(client, "/van-ban-moi")
    notice = " ".join(tree.select_one("p.notice").get_text().split())
    assert notice.startswith("Hiển thị 2 trong số 4 văn bản thay đổi")


def test_a_bulk_import_is_one_line(tmp_path):
    import json as _json

    from index import build as index_build
    from kb import config as kbconfig
    from kb import jsonl
    from kb.model import Document
    from kb.store import Store

    folder = tmp_path / "instance"
    conf = kbconfig.load(folder, environ={})
    path = tmp_path / "bulk.jsonl"
    records = [{"uid": f"import:{i}", "number": f"{i}/2020/QĐ-UBND", "title": f"Quyết định {i}"} for i in range(60)]
    path.write_text("\n".join(_json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    with Store(conf.db_path) as store:
        assert jsonl.import_file(store, path).added == 60
        store.upsert(Document.from_dict({"uid": "vbpl:1", "number": "1/2026/NQ-HĐND", "title": "Nghị quyết một"}))
        index_build.rebuild(store, conf.index_dir)
    tree = page(make_app(folder).test_client(), "/van-ban-moi")
    lines = [" ".join(p.get_text().split()) for p in tree.select("p.bulk-import")]
    assert len(lines) == 1 and lines[0].startswith("Nhập hàng loạt từ tệp bulk.jsonl: 60 văn bản mới")
    assert uids(tree) == ["vbpl:1"]
