"""The weekly "Văn bản mới" digest, built for a fixed week on known data with the store's clock frozen:
its sections, its text and HTML, mailing it once per week to subscribers, and `kb digest`."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from test_mail import SITE, html_part, mail_config, smtp, text_part  # noqa: F401  (smtp: fixture)

import kb.store
from kb import config as kbconfig
from kb.alerts import subscriptions as subs
from kb.alerts.digest import (
    EMPTY_WEEK,
    NOTHING,
    DigestError,
    build_digest,
    last_week,
    parse_week,
    render_html,
    render_text,
    send_digest,
)
from kb.alerts.links import Links
from kb.alerts.mail import Mailer
from kb.model import Document
from kb.store import Store
from kbcli.main import cli

FIXTURES = Path(__file__).parent / "fixtures" / "alerts"
TODAY = dt.date(2026, 3, 10)
IN_WEEK_10 = dt.datetime(2026, 3, 4, 3, 0, tzinfo=dt.UTC)


def documents(name: str) -> list[Document]:
    return [Document.from_dict(json.loads(line)) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines()]


def fill(store: Store) -> Store:
    """Before the week, during 2026-W10 (02/03 – 08/03/2026, Vietnam time), and after it."""
    with pytest.MonkeyPatch.context() as frozen:
        clock = {"now": ""}
        frozen.setattr(kb.store, "now", lambda: clock["now"])
        _fill(store, clock)
    return store


def _fill(store: Store, clock: dict) -> None:
    clock["now"] = "2026-02-20T02:00:00+00:00"
    store.upsert_many(documents("before.jsonl"))
    clock["now"] = "2026-03-01T17:30:00+00:00"  # Monday 02/03 00:30 in Lai Châu: in the week
    store.upsert_many(documents("week.jsonl"))
    clock["now"] = "2026-03-05T01:00:00+00:00"
    doc = store.get("vbpl:9050-2025-tt-bgddt")
    doc.status = "Còn hiệu lực"
    store.upsert(doc)
    clock["now"] = "2026-03-08T17:00:00+00:00"  # Monday 09/03 00:00 local: the next week
    store.upsert_many(documents("after.jsonl"))


@pytest.fixture
def filled(store):
    return fill(store)


def uids(items) -> list[str]:
    return [i.uid for i in items]


def test_sections_of_a_fixed_week(filled):
    d = build_digest(filled, "2026-W10", province="Lai Châu", today=TODAY)
    assert (d.week, d.start, d.end, d.complete) == ("2026-W10", dt.date(2026, 3, 2), dt.date(2026, 3, 8), True)
    assert [(t, [(f, uids(items)) for f, items in groups]) for t, groups in d.central] == [
        ("Nghị định", [("Giáo dục", ["vbpl:9101-2026-nd-cp"]), ("Nông nghiệp", ["vbpl:9104-2026-nd-cp"])]),
        ("Thông tư", [("Tài chính nhà nước", ["vbpl:9102-2026-tt-btc"])]),
    ]
    assert [(t, uids(items)) for t, items in d.local] == [("Nghị quyết", ["congbao_tinh:laichau-12-2026"])]
    assert d.older_added == 1  # the 2019 decree added late
    assert [(i.uid, i.note) for i in d.in_force] == [
        ("vbpl:9050-2025-tt-bgddt", "“Chưa có hiệu lực” → “Còn hiệu lực”, từ ngày 05/03/2026")
    ]
    assert [(i.uid, i.note) for i in d.expired] == [("vbpl:9040-2021-nd-cp", "Hết hiệu lực từ ngày 06/03/2026")]
    assert [(i.uid, i.note, i.link_uid) for i in d.replaced] == [
        (
            "congbao_tinh:laichau-05-2024",
            "Bị thay thế bởi 12/2026/NQ-HĐND – Quy định mức học phí đối với cơ sở giáo "
            "dục mầm non, giáo dục phổ thông công lập trên địa bàn tỉnh Lai Châu năm học 2026 - 2027",
            "congbao_tinh:laichau-12-2026",
        )
    ]
    assert d.other_status == []
    assert [(i.uid, i.effective) for i in d.upcoming] == [
        ("congbao_tinh:laichau-12-2026", "2026-03-15"),
        ("vbpl:9102-2026-tt-btc", "2026-04-01"),
    ]
    assert [(a.item.uid, a.provision, a.heading, a.anchor, a.verb, a.quote) for a in d.assignments] == [
        (
            "vbpl:9104-2026-nd-cp",
            "khoản 2 Điều 5",
            "Mức hỗ trợ",
            "dieu-5",
            "quy định",
            "Hội đồng nhân dân cấp tỉnh quy định mức hỗ trợ cụ thể, phù hợp với khả năng cân đối ngân sách địa phương.",
        ),
        (
            "vbpl:9101-2026-nd-cp",
            "khoản 2 Điều 9",
            "Khung học phí",
            "dieu-9",
            "quyết định",
            "Căn cứ khung học phí quy định tại khoản 1 Điều này, Hội đồng nhân dân cấp tỉnh quyết định mức học phí "
            "cụ thể đối với cơ sở giáo dục công lập thuộc phạm vi quản lý.",
        ),
    ]
    after = build_digest(filled, "2026-W11", province="Lai Châu", today=dt.date(2026, 3, 12))
    assert not after.complete
    assert [(t, [(f, uids(i)) for f, i in g]) for t, g in after.central] == [
        ("Quyết định", [("Giáo dục", ["vbpl:9120-2026-qd-ttg"])])
    ]
    assert uids(after.in_force) == ["congbao_tinh:laichau-12-2026"]  # by its date, 15/03


def test_text_of_the_digest(filled, tmp_path):
    config = mail_config(tmp_path, None)
    text = render_text(build_digest(filled, "2026-W10", province="Lai Châu", today=TODAY), config)
    lines = text.splitlines()
    assert lines[0] == "VĂN BẢN MỚI – TUẦN 10/2026 (02/03 – 08/03/2026)"
    assert lines[3] == (
        "Trong tuần: 3 văn bản trung ương mới, 1 văn bản mới của tỉnh, 3 thay đổi hiệu lực, "
        "2 văn bản sắp có hiệu lực, 2 quy định giao HĐND tỉnh."
    )
    assert [line for line in lines if line[:2].rstrip(".").isdigit()] == [
        "1. VĂN BẢN TRUNG ƯƠNG MỚI",
        "2. VĂN BẢN MỚI CỦA TỈNH LAI CHÂU",
        "3. THAY ĐỔI HIỆU LỰC",
        "4. SẮP CÓ HIỆU LỰC (30 NGÀY TỚI)",
        "5. VĂN BẢN TRUNG ƯƠNG GIAO HĐND TỈNH QUY ĐỊNH, QUYẾT ĐỊNH",
        "6. VĂN BẢN CỦA TỈNH CẦN RÀ SOÁT DO THAY ĐỔI TRONG TUẦN",  # kb/alerts/review.py
    ]
    central = text.split("1. VĂN BẢN TRUNG ƯƠNG MỚI")[1].split("2. VĂN BẢN MỚI")[0]
    assert central.splitlines()[1:4] == [
        "Nghị định",
        "  Giáo dục",
        "    • Nghị định 9101/2026/NĐ-CP – Quy định cơ chế thu, quản lý học phí đối với cơ sở giáo dục thuộc hệ "
        "thống giáo dục quốc dân",
    ]
    assert f"  {SITE}/van-ban/vbpl:9101-2026-nd-cp#dieu-9" in text
    assert "Sơn La" not in text
    assert text.rstrip().endswith(f"Xem trên trang web: {SITE}/van-ban-moi/tuan/2026-W10")


def test_an_empty_week_says_so(filled, tmp_path):
    d = build_digest(filled, "2026-W05", province="Lai Châu", today=TODAY)
    assert d.is_empty and d.upcoming == [] and d.assignments == []
    text = render_text(d, mail_config(tmp_path, None))
    assert EMPTY_WEEK in text and text.count(NOTHING) == 6  # five sections and the review's


def test_html_of_the_digest(filled, tmp_path):
    doc = filled.get("vbpl:9102-2026-tt-btc")
    doc.title = 'Hướng dẫn <b>kinh phí</b> & "định mức"'
    filled.upsert(doc)
    html = render_html(build_digest(filled, "2026-W10", province="Lai Châu", today=TODAY), mail_config(tmp_path, None))
    soup = BeautifulSoup(html, "html.parser")
    assert [h.get_text() for h in soup.find_all("h2")] == [
        "1. Văn bản trung ương mới",
        "2. Văn bản mới của tỉnh Lai Châu",
        "3. Thay đổi hiệu lực",
        "4. Sắp có hiệu lực (30 ngày tới)",
        "5. Văn bản trung ương giao HĐND tỉnh quy định, quyết định",
        "6. Văn bản của tỉnh cần rà soát do thay đổi trong tuần",  # kb/alerts/review.py
    ]
    assert [h.get_text() for h in soup.find_all("h3")] == [
        "Nghị định",
        "Thông tư",
        "Nghị quyết",
        "Có hiệu lực",
        "Hết hiệu lực",
        "Bị thay thế, bãi bỏ, đình chỉ hoặc được sửa đổi",
    ]
    quotes = [q.get_text() for q in soup.find_all("blockquote")]
    assert quotes[1].startswith("Căn cứ khung học phí quy định tại khoản 1 Điều này, Hội đồng nhân dân cấp tỉnh")
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert f"{SITE}/van-ban/vbpl:9101-2026-nd-cp#dieu-9" in hrefs and f"{SITE}/van-ban-moi/tuan/2026-W10" in hrefs
    assert soup.find("b") is None and 'Hướng dẫn <b>kinh phí</b> & "định mức"' in soup.get_text()


def test_weeks():
    assert parse_week("2026-W10") == (dt.date(2026, 3, 2), dt.date(2026, 3, 8))
    assert parse_week("2026w1") == (dt.date(2025, 12, 29), dt.date(2026, 1, 4))
    assert last_week(dt.date(2026, 3, 9)) == last_week(TODAY) == "2026-W10"
    assert last_week(dt.date(2026, 3, 8)) == "2026-W09"
    with pytest.raises(DigestError, match="Năm 2026 không có tuần 60"):
        parse_week("2026-W60")
    with pytest.raises(DigestError, match="Năm 9999 không có tuần 52"):  # its Sunday is past date.max
        parse_week("9999-W52")
    with pytest.raises(DigestError, match="Tuần “tuần 10” không hợp lệ"):
        parse_week("tuần 10")


def test_future_week_is_refused(store):
    with pytest.raises(DigestError, match="Tuần 2026-W12 chưa bắt đầu"):
        build_digest(store, "2026-W12", today=TODAY)


def test_mailed_once_a_week_to_confirmed_subscribers(filled, tmp_path, smtp):
    config = mail_config(tmp_path, smtp.port)
    reader = subs.subscribe_digest(
        filled, config, "ban.ktns@laichau.example", confirmed=True, now=IN_WEEK_10
    ).subscription
    subs.subscribe_digest(filled, config, "chua.xac.nhan@laichau.example", now=IN_WEEK_10)  # pending: nothing
    later = subs.subscribe_digest(filled, config, "moi@laichau.example", confirmed=True).subscription
    assert later.sent_through > "2026-W10"  # a new subscriber starts with the next digest
    week10 = build_digest(filled, "2026-W10", province="Lai Châu", today=TODAY)
    with Mailer(config) as mailer:
        report = send_digest(filled, config, week10, mailer)
        again = send_digest(filled, config, week10, mailer)
    assert report.sent == ["ban.ktns@laichau.example"] and report.skipped == ["moi@laichau.example"]
    assert again.sent == [] and again.skipped == ["ban.ktns@laichau.example", "moi@laichau.example"]
    (msg,) = smtp.messages
    assert msg["To"] == "ban.ktns@laichau.example"
    assert msg["Subject"] == "Văn bản mới – tuần 10/2026 (02/03 – 08/03/2026)"
    assert msg["List-Unsubscribe"] == f"<{Links(config).unsubscribe(reader)}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert text_part(msg).startswith("VĂN BẢN MỚI – TUẦN 10/2026")
    assert "Hủy nhận bản tin: " + Links(config).unsubscribe(reader) in text_part(msg)
    assert BeautifulSoup(html_part(msg), "html.parser").find("h1").get_text() == week10.title
    # one click in the mail client, and the next week's digest is not sent
    subs.unsubscribe(filled, config, msg["List-Unsubscribe"].strip("<>").rsplit("/", 1)[1])
    week11 = build_digest(filled, "2026-W11", province="Lai Châu", today=dt.date(2026, 3, 16))
    with Mailer(config) as mailer:
        assert send_digest(filled, config, week11, mailer).sent == []
        explicit = send_digest(
            filled, config, week11, mailer, to=["Lanh.Dao@laichau.example", "lanh.dao@laichau.example"]
        )
    assert explicit.sent == ["lanh.dao@laichau.example"] and len(smtp.messages) == 2  # --to: every time
    assert smtp.messages[1]["List-Unsubscribe"] == f"<{Links(config).unsubscribe_all('lanh.dao@laichau.example')}>"


# --- kb digest ---------------------------------------------------------------------------------
@pytest.fixture
def cli_kb(instance, monkeypatch, smtp):
    for name, value in {
        "KB_SITE_URL": SITE,
        "KB_SMTP_HOST": "127.0.0.1",
        "KB_SMTP_PORT": str(smtp.port),
        "KB_MAIL_FROM": "vanban@laichau.example",
        "KB_PROVINCE_NAME": "Lai Châu",
    }.items():
        monkeypatch.setenv(name, value)
    with Store(instance / "kb.sqlite") as store:
        fill(store)
        subs.subscribe_digest(
            store, kbconfig.load(instance), "ban.ktns@laichau.example", confirmed=True, now=IN_WEEK_10
        )
    return instance


def test_kb_digest_to_files(runner, cli_kb, tmp_path, smtp):
    html_file, text_file = tmp_path / "ban-tin.html", tmp_path / "ban-tin.txt"
    result = runner.invoke(cli, ["digest", "--week", "2026-W10", "--out", str(html_file)])
    assert result.exit_code == 0, result.output
    assert (
        BeautifulSoup(html_file.read_text(encoding="utf-8"), "html.parser").find("h1").get_text()
        == "Văn bản mới – tuần 10/2026 (02/03 – 08/03/2026)"
    )
    result = runner.invoke(cli, ["digest", "--week", "2026-W10", "--out", str(text_file)])
    assert text_file.read_text(encoding="utf-8").startswith("VĂN BẢN MỚI – TUẦN 10/2026")
    result = runner.invoke(cli, ["digest", "--week", "2026-W10", "--out", "-"])
    assert result.output.startswith("VĂN BẢN MỚI – TUẦN 10/2026") and smtp.messages == []


def test_kb_digest_mails(runner, cli_kb, smtp):
    result = runner.invoke(cli, ["digest", "--week", "2026-W10"])
    assert result.exit_code == 0, result.output
    assert "đã gửi tới ban.ktns@laichau.example" in result.output and len(smtp.messages) == 1
    result = runner.invoke(cli, ["digest", "--week", "2026-W10"])
    assert "Đã nhận bản tin tuần này từ trước: ban.ktns@laichau.example" in result.output and len(smtp.messages) == 1
    result = runner.invoke(cli, ["digest", "--week", "2026-W10", "--to", "a@laichau.example,b@laichau.example"])
    assert result.exit_code == 0 and sorted(m["To"] for m in smtp.messages[1:]) == [
        "a@laichau.example",
        "b@laichau.example",
    ]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--week", "2026-W60"], "Năm 2026 không có tuần 60"),
        (["--week", "10/2026"], "Tuần “10/2026” không hợp lệ"),
        (["--week", "2026-W10", "--to", "khong-phai-dia-chi"], "Địa chỉ e-mail “khong-phai-dia-chi” không hợp lệ"),
    ],
)
def test_kb_digest_bad_input(runner, cli_kb, args, message, smtp):
    result = runner.invoke(cli, ["digest", *args])
    assert result.exit_code == 1 and message in result.output and "Traceback" not in result.output
    assert smtp.messages == []


def test_kb_digest_without_recipients_says_so(runner, instance, smtp):
    store_jsonl = Path(__file__).parent / "fixtures" / "checker" / "store.jsonl"  # an instance with documents
    assert runner.invoke(cli, ["import", "--no-index", str(store_jsonl)]).exit_code == 0
    result = runner.invoke(cli, ["digest"])
    assert result.exit_code == 0 and "Chưa ai nhận bản tin" in result.output and smtp.messages == []


def test_a_document_without_issue_date_is_never_a_new_document_of_the_week(tmp_path):
    from kb.alerts.digest import build_digest
    from kb.dates import iso_week, today_vn
    from kb.model import Document as Doc
    from kb.store import Store as KBStore

    with KBStore(tmp_path / "kb.sqlite") as s:
        s.upsert(Doc.from_dict({"uid": "t:1", "number": "5/2010/QH12", "title": "Luật A", "doc_type": "Luật"}))
        digest = build_digest(s, week=iso_week(today_vn()), today=today_vn())
    assert digest.central == [] and digest.local == []
    assert digest.older_added == 1


def test_counts_in_the_digest_carry_the_thousands_separator(tmp_path):
    from kb import config as kbconfig
    from kb.alerts.digest import build_digest, render_html, render_text
    from kb.dates import iso_week, today_vn
    from kb.model import Document as Doc
    from kb.store import Store as KBStore

    with KBStore(tmp_path / "kb.sqlite") as s:
        s.upsert(Doc.from_dict({"uid": "t:1", "number": "5/2010/QH12", "title": "Luật A", "doc_type": "Luật"}))
        digest = build_digest(s, week=iso_week(today_vn()), today=today_vn())
    digest.older_added = 3203  # a week when a corpus was imported
    config = kbconfig.load(tmp_path / "instance", environ={})
    assert "Ngoài ra 3.203 văn bản ban hành từ trước" in render_text(digest, config)
    assert "Ngoài ra 3.203 văn bản ban hành từ trước" in render_html(digest, config)
