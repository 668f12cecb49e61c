"""The weekly "Văn bản mới" digest as a page per ISO week: its sections on a known week of news (a new
central decree assigning the provincial HĐND, a new resolution of the province, one of another province,
a circular that expired), an empty week, bad and future weeks, and the form to receive it by e-mail."""

import datetime as dt

import pytest
from bs4 import BeautifulSoup
from web_fixtures import (  # noqa: F401
    CENTRAL,
    CIRCULAR,
    LOCAL,
    OTHER_PROVINCE,
    VN_TZ,
    XSS_TEXT,
    digest_week,
    make_app,
    page,
    texts,
    weekly_instance,
)

from kb import config as kbconfig
from kb.alerts.digest import EMPTY_WEEK, digest_for, render_html
from kb.dates import iso_week
from kb.store import Store


@pytest.fixture(scope="module")
def client(weekly_instance):
    return make_app(weekly_instance).test_client()


def links(section) -> list[str]:
    return [a["href"] for a in section.select("a")]


def test_the_latest_digest_is_last_week(client):
    week, _ = digest_week()
    response = client.get("/van-ban-moi/tuan")
    assert response.status_code == 302 and response.headers["Location"] == f"/van-ban-moi/tuan/{week}"


def test_the_digest_of_a_week_lists_its_news_by_section(client):
    week, monday = digest_week()
    tree = page(client, f"/van-ban-moi/tuan/{week}")
    sunday = monday + dt.timedelta(days=6)
    number = int(week.split("W")[1])
    assert tree.h1.get_text(strip=True) == (
        f"Văn bản mới – tuần {number}/{week[:4]} ({monday.strftime('%d/%m')} – {sunday.strftime('%d/%m/%Y')})"
    )
    assert tree.select_one("a[aria-current=page]").get_text(strip=True) == "Văn bản mới"

    central = tree.select_one("#trung-uong")
    assert texts(central.select("h3")) == ["Nghị định"] and texts(central.select("h4")) == ["Nông nghiệp"]
    assert links(central) == [f"/van-ban/{CENTRAL}"]

    local = tree.select_one("#dia-phuong")
    assert local.h2.get_text(strip=True) == "2. Văn bản mới của tỉnh Lai Châu"
    assert links(local) == [f"/van-ban/{LOCAL}"]  # not the resolution of Sơn La
    assert XSS_TEXT in local.get_text() and not tree.find("script", src=False)

    status = tree.select_one("#hieu-luc")
    assert "Hết hiệu lực" in texts(status.select("h3"))
    expired = status.find("h3", string="Hết hiệu lực").find_next("ul")
    item = expired.find("a", href=f"/van-ban/{CIRCULAR}").find_parent("li")
    assert item.select_one(".digest-note").get_text(strip=True).startswith("“Còn hiệu lực” → “Hết hiệu lực toàn bộ”")
    came = status.find("h3", string="Có hiệu lực").find_next("ul")
    assert came.find("a", href=f"/van-ban/{LOCAL}")

    upcoming = tree.select_one("#sap-co-hieu-luc")
    assert f"/van-ban/{CENTRAL}" in links(upcoming)

    [assignment] = tree.select("#giao-hdnd .assignment")
    assert assignment.find("a", href=f"/van-ban/{CENTRAL}#dieu-5").get_text(strip=True) == "Khoản 1 Điều 5 (Mức hỗ trợ)"
    assert (
        assignment.blockquote.get_text(strip=True)
        == "Hội đồng nhân dân cấp tỉnh quy định mức hỗ trợ cụ thể cho hợp tác xã trên địa bàn."
    )
    assert tree.select_one("#giao-hdnd").find("a", href="/giao-hdnd-quy-dinh")


def test_an_empty_week_says_so(client):
    _, monday = digest_week()
    week = iso_week(monday - dt.timedelta(days=14))
    tree = page(client, f"/van-ban-moi/tuan/{week}")
    assert tree.select_one(".digest-summary").get_text(strip=True) == EMPTY_WEEK
    for section in ("#trung-uong", "#dia-phuong", "#hieu-luc", "#giao-hdnd"):
        assert tree.select_one(section).select_one("p.muted").get_text(strip=True) == "Không có văn bản nào."


def test_weeks_link_to_the_weeks_around_them(client):
    week, monday = digest_week()
    tree = page(client, f"/van-ban-moi/tuan/{week}")
    previous = iso_week(monday - dt.timedelta(days=7))
    current = iso_week(monday + dt.timedelta(days=7))
    assert tree.find("a", rel="prev")["href"] == f"/van-ban-moi/tuan/{previous}"
    assert tree.find("a", rel="next")["href"] == f"/van-ban-moi/tuan/{current}"
    this_week = page(client, f"/van-ban-moi/tuan/{current}")  # the week in progress: so marked, no "next"
    assert this_week.find("a", rel="next") is None
    assert "Tuần chưa kết thúc" in this_week.select_one("p.notice").get_text()


@pytest.mark.parametrize(
    "week, message",
    [
        ("2026-W99", "Năm 2026 không có tuần 99."),
        ("tuan-truoc", "Tuần “tuan-truoc” không hợp lệ"),
        ("<script>", "Tuần “<script>” không hợp lệ"),
    ],
)
def test_bad_weeks_are_a_404_that_says_why(client, week, message):
    tree = page(client, f"/van-ban-moi/tuan/{week}", status=404)
    assert message in tree.select_one(".error-message").get_text()


def test_a_future_week_is_a_404(client):
    today = dt.datetime.now(VN_TZ).date()
    week = iso_week(today + dt.timedelta(days=14))
    tree = page(client, f"/van-ban-moi/tuan/{week}", status=404)
    assert "chưa bắt đầu" in tree.select_one(".error-message").get_text()


def test_a_week_written_otherwise_redirects_to_its_address(client):
    week, _ = digest_week()
    response = client.get(f"/van-ban-moi/tuan/{week.replace('-W', 'w')}")
    assert response.status_code == 301 and response.headers["Location"] == f"/van-ban-moi/tuan/{week}"


def test_the_digest_page_offers_the_weekly_email(client):
    week, _ = digest_week()
    tree = page(client, f"/van-ban-moi/tuan/{week}")
    form = tree.select_one("details#nhan-ban-tin form")
    assert form["action"] == "/theo-doi/ban-tin" and form.find("input", attrs={"name": "csrf_token"})["value"]
    assert form.find("input", attrs={"name": "email"}) and not form.find("input", attrs={"name": "frequency"})
    recent = page(client, "/van-ban-moi")
    assert recent.find("a", string="Bản tin tuần")["href"] == "/van-ban-moi/tuan"


def test_the_page_and_the_email_render_the_same_sections(client, weekly_instance):
    """One partial (kb/alerts/templates/_digest_sections.html) for both: same sections, headings,
    documents and quotes; the page links below the site, the e-mail from site.url."""
    week, _ = digest_week()
    config = kbconfig.load(weekly_instance, environ={})
    with Store(config.db_path) as store:
        mailed = BeautifulSoup(render_html(digest_for(store, config, week), config), "html.parser")
    shown = page(client, f"/van-ban-moi/tuan/{week}")
    site = str(config.get("site", "url")).rstrip("/")

    def sections(tree, prefix=""):
        return [
            (
                s["id"],
                texts(s.select("h2, h3, h4")),
                [a["href"].removeprefix(prefix) for a in s.select("a") if a["href"].startswith(prefix + "/van-ban/")],
                texts(s.select("blockquote")),
                texts(s.select(".digest-note")),
            )
            for s in tree.select("section.digest-section")
        ]

    assert [s[0] for s in sections(shown)] == [
        "trung-uong",
        "dia-phuong",
        "hieu-luc",
        "sap-co-hieu-luc",
        "giao-hdnd",
        "can-ra-soat",  # the province's documents to review (issue 18)
    ]
    assert sections(mailed, site) == sections(shown)
    assert mailed.select_one("section.digest-section h2")["style"] and not shown.select_one("section h2").get("style")
    assert shown.select("#hieu-luc .badge") and not mailed.select(".badge")
