"""Atom feeds of any search and of "Văn bản mới": well-formed Atom 1.0 with the required elements,
read the same by feedparser, escaped, and stable ids."""

import re
import xml.etree.ElementTree as ET
from urllib.parse import parse_qs, urlsplit

import feedparser
import pytest
from web_fixtures import LAW, REPLACEMENT, RESOLUTION, XSS, XSS_TEXT, app, client, kb_instance, make_app  # noqa: F401

A = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


def valid_atom(response) -> ET.Element:
    """Check RFC 4287's requirements that a reader relies on; return the feed element."""
    assert response.status_code == 200
    assert response.mimetype == "application/atom+xml"
    root = ET.fromstring(response.data)  # well-formed, or this raises
    assert root.tag == f"{A}feed"

    def one(parent, tag):
        found = parent.findall(f"{A}{tag}")
        assert len(found) == 1, f"{parent.tag} needs exactly one {tag}"
        return found[0]

    assert one(root, "id").text and one(root, "title").text
    assert RFC3339.match(one(root, "updated").text)
    assert one(one(root, "author"), "name").text
    links = {link.get("rel"): link.get("href") for link in root.findall(f"{A}link")}
    assert links["self"].startswith("http") and links["alternate"].startswith("http")
    ids = []
    for entry in root.findall(f"{A}entry"):
        ids.append(one(entry, "id").text)
        assert urlsplit(ids[-1]).scheme in ("http", "https")
        assert one(entry, "title").text
        assert RFC3339.match(one(entry, "updated").text)
        alternate = [l for l in entry.findall(f"{A}link") if l.get("rel") == "alternate"]
        assert alternate and alternate[0].get("href").startswith("http")
        assert one(entry, "summary") is not None
    assert len(ids) == len(set(ids)), "entry ids must be unique"
    parsed = feedparser.parse(response.data)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    assert len(parsed.entries) == len(ids)
    return root


def entries(root):
    return root.findall(f"{A}entry")


def test_search_feed_is_the_same_search_newest_first(client):
    response = client.get("/tim-kiem.atom?q=học+phí")
    root = valid_atom(response)
    links = [e.find(f"{A}link").get("href") for e in entries(root)]
    assert links[0] == f"http://localhost/van-ban/{REPLACEMENT}"  # issued 2025: newest first
    assert links[-1] == f"http://localhost/van-ban/{LAW}"
    assert len(links) == 5
    self_link = next(l.get("href") for l in root.findall(f"{A}link") if l.get("rel") == "self")
    assert urlsplit(self_link).path == "/tim-kiem.atom" and parse_qs(urlsplit(self_link).query) == {"q": ["học phí"]}
    html = next(l.get("href") for l in root.findall(f"{A}link") if l.get("rel") == "alternate")
    assert urlsplit(html).path == "/tim-kiem"
    assert "học phí" in root.find(f"{A}title").text
    parsed = feedparser.parse(response.data)
    assert parsed.entries[0].title.startswith("Nghị quyết 20/2025/NQ-HĐND – Nghị quyết quy định mức thu học phí")
    assert "Hội đồng nhân dân tỉnh Lai Châu" in parsed.entries[0].summary


def test_search_feed_with_filters_and_article_unit(client):
    root = valid_atom(client.get("/tim-kiem.atom?q=học+phí&loai=Luật&unit=article"))
    links = [e.find(f"{A}link").get("href") for e in entries(root)]
    assert f"http://localhost/van-ban/{LAW}#dieu-99" in links
    assert all(link.startswith(f"http://localhost/van-ban/{LAW}#") for link in links)
    titles = [e.find(f"{A}title").text for e in entries(root)]
    assert any("Điều 99" in t for t in titles)


def test_entry_updated_is_the_documents_last_change(client):
    root = valid_atom(client.get("/tim-kiem.atom?q=05/2023/NQ-HĐND"))
    entry = next(e for e in entries(root) if e.find(f"{A}link").get("href").endswith(RESOLUTION))
    assert entry.find(f"{A}published").text == "2023-07-20T00:00:00+07:00"
    assert entry.find(f"{A}updated").text > "2025"  # changed recently, not on issue day


def test_recent_feed_has_an_entry_per_changed_document(client):
    root = valid_atom(client.get("/van-ban-moi.atom"))
    found = {e.find(f"{A}link").get("href").rsplit("/", 1)[1]: e for e in entries(root)}
    assert set(found) == {RESOLUTION, REPLACEMENT, "vbpl:3001", XSS}
    changed = found[RESOLUTION]
    assert changed.find(f"{A}title").text.startswith("[Đổi hiệu lực, Sửa nội dung, Cập nhật thông tin, Thêm quan hệ] ")
    assert "Còn hiệu lực → Hết hiệu lực toàn bộ" in changed.find(f"{A}summary").text
    assert changed.find(f"{A}id").text.startswith(f"http://localhost/van-ban/{RESOLUTION}#thay-doi-")
    updated = [e.find(f"{A}updated").text for e in entries(root)]
    assert updated == sorted(updated, reverse=True)
    thirty = valid_atom(client.get("/van-ban-moi.atom?khoang=30&loai=Luật"))
    assert [e.find(f"{A}link").get("href") for e in entries(thirty)] == [f"http://localhost/van-ban/{LAW}"]


def test_feed_ids_are_stable(client):
    first = [e.find(f"{A}id").text for e in entries(valid_atom(client.get("/van-ban-moi.atom")))]
    again = [e.find(f"{A}id").text for e in entries(valid_atom(client.get("/van-ban-moi.atom")))]
    assert first == again


def test_scraped_markup_stays_text_in_the_feed(client):
    root = valid_atom(client.get("/tim-kiem.atom?q=tham+quan"))
    entry = next(e for e in entries(root) if e.find(f"{A}link").get("href").endswith(XSS))
    assert XSS_TEXT in entry.find(f"{A}title").text  # text, not markup
    assert entry.find(f"{A}title").get("type") in (None, "text")
    assert not list(entry.find(f"{A}summary"))  # no child elements
    assert "<mark>" not in entry.find(f"{A}summary").text


@pytest.mark.parametrize("query", ["học\x07phí\x00", "\x1b[31m", '"unbalanced', "-"])
def test_control_characters_never_break_the_xml(client, query):
    valid_atom(client.get("/tim-kiem.atom", query_string={"q": query}))


@pytest.mark.parametrize("raw", ["q=%ED%A0%80", "q=%FF%FE", "q=%C3", "loai=%00%07"])
def test_invalid_utf8_never_breaks_the_xml(client, raw):
    valid_atom(client.get("/tim-kiem.atom?" + raw))


def test_a_configured_site_url_is_used_for_links(kb_instance):
    client = make_app(kb_instance, SITE_URL="https://vbpl.hdnd.example.vn", SITE_URL_SET=True).test_client()
    root = valid_atom(client.get("/tim-kiem.atom?q=học+phí"))
    assert all(
        e.find(f"{A}link").get("href").startswith("https://vbpl.hdnd.example.vn/van-ban/") for e in entries(root)
    )
    self_link = next(l.get("href") for l in root.findall(f"{A}link") if l.get("rel") == "self")
    assert self_link.startswith("https://vbpl.hdnd.example.vn/tim-kiem.atom?q=")


def test_feeds_of_an_empty_instance_are_valid_and_empty(tmp_path):
    client = make_app(tmp_path / "nothing").test_client()
    for url in ("/tim-kiem.atom?q=học+phí", "/van-ban-moi.atom"):
        assert entries(valid_atom(client.get(url))) == []


def test_a_bad_query_in_a_feed_is_a_400(client):
    response = client.get("/tim-kiem.atom", query_string={"q": "x" * 10_000})
    assert response.status_code == 400
