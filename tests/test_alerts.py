"""Alerts end to end against a real SMTP server on a local port: subscribe, confirm, change documents,
run, and read the messages actually received; idempotence, crash safety, unsubscribe links, tokens,
refusals and bad input."""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import re
import stat
from pathlib import Path
from types import SimpleNamespace

import pytest
from bs4 import BeautifulSoup
from test_mail import SITE, free_port, html_part, mail_config, smtp, text_part  # noqa: F401  (smtp: fixture)

import index.search
from index import build
from index.errors import QueryError
from index.matching import SearchMatcher, read_query
from kb.alerts import delivery as kb_alerts
from kb.alerts import subscriptions as subs
from kb.alerts import tokens
from kb.alerts.changes import text_diff
from kb.alerts.links import FACET_PARAMS, Links, link_expiry
from kb.alerts.subscriptions import (
    SubscriptionError,
    TokenError,
    confirm,
    follow_document,
    unsubscribe,
)
from kb.alerts.tokens import make_token, read_token
from kb.dates import VN_TZ
from kb.locks import AlreadyRunning, instance_lock
from kb.model import Document
from kb.store import Store

FIXTURES = Path(__file__).parent / "fixtures" / "alerts"
OLD_FEES = "congbao_tinh:laichau-05-2024"
NEW_FEES = "congbao_tinh:laichau-12-2026"
UTC = dt.UTC


# --- the wiring the CLI and the web do: kb.alerts with the index's query reader and matcher ------------
def subscribe_search(store, config, email, query, filters=None, **options):
    return subs.subscribe_search(store, config, email, query, filters, read_query=read_query, **options)


def check_query(query, filters=None):
    subs.check_search(query, filters, read_query)


def run_alerts(store, config, **options):
    matcher = SearchMatcher(config.index_dir)
    try:
        return kb_alerts.run_alerts(store, config, matcher, **options)
    finally:
        matcher.close()


def documents(name: str) -> list[Document]:
    return [Document.from_dict(json.loads(line)) for line in (FIXTURES / name).read_text(encoding="utf-8").splitlines()]


@pytest.fixture
def kb(tmp_path, smtp):
    config = mail_config(tmp_path / "instance", smtp.port)
    store = Store(config.db_path)
    store.upsert_many(documents("before.jsonl"))
    build.rebuild(store, config.index_dir)
    yield SimpleNamespace(config=config, store=store, smtp=smtp)
    store.close()


def reindex(kb) -> None:
    """Apply the store's changes to the index, as every command that changes the store does."""
    build.update(kb.store, kb.config.index_dir)


def raise_fees(store: Store, old: str = "120.000", new: str = "135.000") -> None:
    doc = store.get(OLD_FEES)
    doc.articles[1].text = doc.articles[1].text.replace(old, new)
    store.upsert(doc)


def links(msg, path: str) -> list[str]:
    return re.findall(re.escape(SITE + path) + r"[^\s<>\"]*", text_part(msg))


def token(url: str) -> str:
    return url.rstrip(">").rsplit("/", 1)[1]


def doc_links(text: str) -> list[str]:
    """The uids of the hits of a text part, in order."""
    return re.findall("  Xem văn bản: " + re.escape(SITE) + r"/van-ban/(\S+)", text)


def test_confirm_then_alerts_grouped_per_recipient_then_unsubscribe(kb):
    store, config, inbox = kb.store, kb.config, kb.smtp
    fees = subscribe_search(store, config, "A@LaiChau.example", "học phí", frequency="immediate").subscription
    followed = follow_document(
        store, config, "a@laichau.example", OLD_FEES, label="Học phí của tỉnh", frequency="immediate"
    ).subscription
    support = subscribe_search(
        store, config, "b@laichau.example", "hỗ trợ", {"doc_type": ["Nghị định"]}, frequency="immediate"
    ).subscription
    assert fees.email == "a@laichau.example" and fees.status == followed.status == subs.PENDING

    # 1. only the confirmation: one message per address, one link per pending subscription
    report = run_alerts(store, config)
    assert report.messages == [] and [c.email for c in report.confirmations] == [
        "a@laichau.example",
        "b@laichau.example",
    ]
    (to_a,), (to_b,) = inbox.to("a@laichau.example"), inbox.to("b@laichau.example")
    assert to_a["Subject"] == "Xác nhận đăng ký theo dõi văn bản – Văn bản pháp luật – Văn phòng HĐND tỉnh"
    assert len(links(to_a, "/theo-doi/xac-nhan/")) == 2 and to_a["List-Unsubscribe"].startswith(
        f"<{SITE}/theo-doi/huy/"
    )
    assert "Tìm kiếm “học phí”" in text_part(to_a) and "Học phí của tỉnh" in text_part(to_a)

    # 2. changes before confirmation: nothing more reaches the unconfirmed addresses
    store.upsert_many(documents("week.jsonl"))
    raise_fees(store)
    reindex(kb)
    inbox.clear()
    report = run_alerts(store, config)
    assert inbox.messages == [] and report.messages == [] and report.confirmations == []

    for msg in (to_a, to_b):
        for url in links(msg, "/theo-doi/xac-nhan/"):
            assert confirm(store, config, token(url)).status == subs.ACTIVE
    confirm(store, config, token(links(to_a, "/theo-doi/xac-nhan/")[0]))  # twice is fine

    # 3. the changes made before the confirmation are delivered now: one message per address
    report = run_alerts(store, config)
    assert report.ok and sorted(m.email for m in report.messages) == ["a@laichau.example", "b@laichau.example"]
    (msg,) = inbox.to("a@laichau.example")
    assert msg["To"] == "a@laichau.example"
    assert msg["Subject"] == "Theo dõi văn bản: 5 cập nhật trong 2 mục theo dõi"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = text_part(msg)
    search_part, followed_part = text.split("=" * 60)[1:]
    assert search_part.splitlines()[1] == "Tìm kiếm “học phí”"
    assert set(doc_links(search_part)) == {"congbao_tinh:sonla-20-2026", "vbpl:9101-2026-nd-cp", NEW_FEES, OLD_FEES}
    assert "  - Văn bản mới (ban hành 04/03/2026, có hiệu lực từ 15/03/2026)." in search_part
    assert f"Xem toàn bộ kết quả tìm kiếm: {SITE}/tim-kiem?q=h%E1%BB%8Dc+ph%C3%AD&sort=issued" in search_part
    assert followed_part.splitlines()[1] == "Học phí của tỉnh"
    assert doc_links(followed_part) == [OLD_FEES]
    assert (
        "  - Bị thay thế bởi 12/2026/NQ-HĐND – Quy định mức học phí đối với cơ sở giáo dục mầm non, giáo dục "
        "phổ thông công lập trên địa bàn tỉnh Lai Châu năm học 2026 - 2027."
    ) in followed_part
    assert "  - Nội dung văn bản thay đổi (thêm 1 đoạn, bỏ 1 đoạn):" in followed_part
    assert "      − … mầm non ở thành phố là 120.000 đồng/học sinh/tháng." in followed_part
    assert "      + … mầm non ở thành phố là 135.000 đồng/học sinh/tháng." in followed_part
    assert f"Xem các thay đổi: {SITE}/van-ban/{OLD_FEES}/phien-ban/2" in followed_part
    soup = BeautifulSoup(html_part(msg), "html.parser")
    assert [h.get_text() for h in soup.find_all("h2")] == ["Tìm kiếm “học phí”", "Học phí của tỉnh"]
    hrefs = {a["href"] for a in soup.find_all("a")}
    assert {
        f"{SITE}/van-ban/{NEW_FEES}",
        f"{SITE}/van-ban/{OLD_FEES}/phien-ban/2",
        f"{SITE}/tim-kiem?q=h%E1%BB%8Dc+ph%C3%AD&sort=issued",
        Links(config).unsubscribe(fees),
        Links(config).unsubscribe(followed),
        Links(config).manage("a@laichau.example"),
    } <= hrefs
    assert "135.000" in soup.get_text() and "120.000" in soup.get_text()
    (other,) = inbox.to("b@laichau.example")
    assert other["Subject"] == "Theo dõi văn bản: 1 cập nhật – Tìm kiếm “hỗ trợ” (Loại văn bản: Nghị định)"
    assert doc_links(text_part(other)) == ["vbpl:9104-2026-nd-cp"]
    sent = kb_alerts.sent_items(store, fees.id)
    assert {s["uid"] for s in sent} == set(doc_links(search_part))
    assert {s["message_id"] for s in sent} == {msg["Message-ID"]}

    # 4. run again: nothing is sent twice
    inbox.clear()
    assert run_alerts(store, config).messages == [] and inbox.messages == []

    # 5. the one-click link of the header ends every subscription of a@; b@ ends one from the body
    ended = unsubscribe(store, config, token(msg["List-Unsubscribe"]))
    assert {s.id for s in ended} == {fees.id, followed.id} and all(s.ended_by == "unsubscribe" for s in ended)
    assert unsubscribe(store, config, token(msg["List-Unsubscribe"])) == []  # twice: nothing more to end
    (own,) = [u for u in links(other, "/theo-doi/huy/") if token(u) == token(Links(config).unsubscribe(support))]
    assert [s.id for s in unsubscribe(store, config, token(own))] == [support.id]
    store.upsert_many(documents("after.jsonl"))  # another decision on học phí, a new Nghị định
    raise_fees(store, "135.000", "150.000")
    reindex(kb)
    report = run_alerts(store, config)
    assert report.messages == [] and inbox.messages == [] and report.checked == 0


def test_crash_between_sending_and_recording_repeats_one_message_and_loses_none(kb, monkeypatch):
    store, config, inbox = kb.store, kb.config, kb.smtp
    for address in ("a@laichau.example", "b@laichau.example"):
        subscribe_search(store, config, address, "học phí", frequency="immediate", confirmed=True)
    store.upsert_many(documents("week.jsonl"))
    reindex(kb)
    real = kb_alerts.record
    calls = []

    def crashing(*args, **kwargs):
        calls.append(args[1])
        if len(calls) == 1:
            raise RuntimeError("power cut")
        return real(*args, **kwargs)

    monkeypatch.setattr(kb_alerts, "record", crashing)
    with pytest.raises(RuntimeError, match="power cut"):
        run_alerts(store, config)
    assert [m["To"] for m in inbox.messages] == ["a@laichau.example"]  # sent, not recorded
    monkeypatch.setattr(kb_alerts, "record", real)
    run_alerts(store, config)
    run_alerts(store, config)
    assert [m["To"] for m in inbox.messages] == ["a@laichau.example", "a@laichau.example", "b@laichau.example"]
    first, again, other = inbox.messages
    assert text_part(first) == text_part(again)  # the same hits, repeated once
    assert doc_links(text_part(first)) == doc_links(text_part(other))


def test_unreachable_mail_server_loses_nothing(kb, tmp_path):
    store, inbox = kb.store, kb.smtp
    sub = subscribe_search(
        store, kb.config, "a@laichau.example", "học phí", frequency="immediate", confirmed=True
    ).subscription
    store.upsert_many(documents("week.jsonl"))
    reindex(kb)
    down = mail_config(kb.config.instance, free_port())
    report = run_alerts(store, down)
    assert not report.ok and "không kết nối được máy chủ thư" in report.errors[0]
    assert subs.get(store, sub.id).last_event_id == sub.last_event_id  # nothing recorded
    report = run_alerts(store, kb.config)
    assert report.ok and len(inbox.to("a@laichau.example")) == 1
    assert len(doc_links(text_part(inbox.messages[0]))) == 4


def test_a_query_that_no_longer_parses_is_reported_and_affects_nothing_else(kb):
    store, config, inbox = kb.store, kb.config, kb.smtp
    broken = subs.add(
        store,
        config,
        "a@laichau.example",
        subs.SEARCH,
        query='mucluc:"giáo dục"',
        frequency="immediate",
        confirmed=True,
    ).subscription  # a field the language dropped
    fine = subscribe_search(
        store, config, "a@laichau.example", "học phí", frequency="immediate", confirmed=True
    ).subscription
    store.upsert_many(documents("week.jsonl"))
    reindex(kb)
    report = run_alerts(store, config)
    assert report.errors == [
        f"subscription {broken.id} (a@laichau.example): Không hiểu trường “mucluc:”. "
        "Các trường dùng được: loai:, coquan:, hieuluc:, linhvuc:, phamvi:, nam:, ngay:, so:, taingay:"
    ]
    (msg,) = inbox.messages
    assert msg["Subject"].startswith("Theo dõi văn bản: 4 cập nhật – Tìm kiếm “học phí”")
    assert subs.get(store, broken.id).error.startswith("Không hiểu trường “mucluc:”")
    assert subs.get(store, broken.id).last_event_id == broken.last_event_id
    assert subs.get(store, fine.id).error is None
    again = run_alerts(store, config)
    assert len(again.errors) == 1 and len(inbox.messages) == 1


def test_html_part_escapes_scraped_values(kb):
    store, config, inbox = kb.store, kb.config, kb.smtp
    subscribe_search(store, config, "a@laichau.example", "học phí", frequency="immediate", confirmed=True)
    store.upsert(
        Document.from_dict(
            {
                "uid": "congbao_tinh:laichau-13-2026",
                "number": "13/2026/NQ-HĐND",
                "doc_type": "Nghị quyết",
                "title": "Quy định <script>alert('x')</script> học phí & \"lệ phí\"",
                "issuer": "Hội đồng nhân dân tỉnh Lai Châu",
                "issued": "2026-03-05",
                "text": "Học phí <img src=x onerror=alert(1)>",
            }
        )
    )
    reindex(kb)
    run_alerts(store, config)
    html = html_part(inbox.messages[0])
    soup = BeautifulSoup(html, "html.parser")
    assert soup.find("script") is None and soup.find("img") is None
    assert "Quy định <script>alert('x')</script> học phí & \"lệ phí\"" in soup.get_text()
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_followed_document_hears_when_it_comes_into_force(kb):
    store, config, inbox = kb.store, kb.config, kb.smtp
    store.upsert_many(documents("week.jsonl"))
    reindex(kb)
    monday = dt.datetime(2026, 3, 9, 3, 0, tzinfo=UTC)
    follow_document(store, config, "a@laichau.example", NEW_FEES, frequency="immediate", confirmed=True, now=monday)
    assert run_alerts(store, config, now=monday + dt.timedelta(days=2)).messages == []
    in_force = dt.datetime(2026, 3, 15, 1, 0, tzinfo=UTC)  # 08:00 in Lai Châu on 15/03
    report = run_alerts(store, config, now=in_force)
    (msg,) = inbox.messages
    assert report.messages[0].hits == 1 and "  - Có hiệu lực từ ngày 15/03/2026." in text_part(msg)
    assert run_alerts(store, config, now=in_force + dt.timedelta(hours=1)).messages == []
    assert len(inbox.messages) == 1


def test_dry_run_sends_and_records_nothing(kb):
    store, config, inbox = kb.store, kb.config, kb.smtp
    pending = subscribe_search(store, config, "b@laichau.example", "học phí").subscription
    sub = subscribe_search(
        store, config, "a@laichau.example", "học phí", frequency="immediate", confirmed=True
    ).subscription
    store.upsert_many(documents("week.jsonl"))
    reindex(kb)
    report = run_alerts(store, config, dry_run=True)
    assert [m.email for m in report.messages] == ["a@laichau.example"] and report.messages[0].message is not None
    assert [c.email for c in report.confirmations] == ["b@laichau.example"]
    assert inbox.messages == [] and subs.get(store, sub.id).last_event_id == sub.last_event_id
    assert subs.get(store, pending.id).confirm_sent_at is None


def test_two_runs_cannot_overlap(kb):
    with instance_lock(kb.config, "alerts", "kb alerts run"):
        with pytest.raises(AlreadyRunning, match=rf"kb alerts run đang chạy \(tiến trình {os.getpid()}\)"):
            run_alerts(kb.store, kb.config)
    run_alerts(kb.store, kb.config)  # released


def test_unconfirmed_subscriptions_lapse(kb):
    store, config, inbox = kb.store, kb.config, kb.smtp
    long_ago = dt.datetime.now(UTC) - dt.timedelta(days=8)
    sub = subscribe_search(store, config, "a@laichau.example", "học phí", now=long_ago).subscription
    report = run_alerts(store, config)
    assert report.lapsed == 1 and report.confirmations == [] and inbox.messages == []
    assert subs.get(store, sub.id).ended_by == "expired"
    with pytest.raises(TokenError, match="hết hạn"):
        confirm(store, config, token(Links(config).confirm(sub)))


def test_an_alert_matches_every_word(kb):
    """The web search lets a long or question-like query match a share of its words, and falls back to
    "any word" when nothing has them all; an alert does neither."""
    store, config, inbox = kb.store, kb.config, kb.smtp
    subscribe_search(
        store,
        config,
        "a@laichau.example",
        "học phí đối với các trường đại học công lập",
        frequency="immediate",
        confirmed=True,
    )
    subscribe_search(
        store, config, "b@laichau.example", "học phí trường đại học", frequency="immediate", confirmed=True
    )
    store.upsert_many(documents("week.jsonl"))  # học phí, đối với, công lập … but no trường đại học
    reindex(kb)
    assert run_alerts(store, config).messages == []
    store.upsert_many(documents("after.jsonl"))
    reindex(kb)
    run_alerts(store, config)
    assert [(m["To"], doc_links(text_part(m))) for m in inbox.messages] == [
        ("a@laichau.example", ["vbpl:9120-2026-qd-ttg"]),
        ("b@laichau.example", ["vbpl:9120-2026-qd-ttg"]),
    ]


# --- subscriptions: refusals, limits, tokens ---------------------------------------------------------
@pytest.mark.parametrize(
    "query, filters",
    [
        ("", None),
        ("   ", {}),
        ("-phí", None),
        ('""', None),
        ("ngay:..", None),
        ("", {"doc_type": ["  "]}),
    ],
)
def test_match_all_searches_are_refused(kb, query, filters):
    with pytest.raises(SubscriptionError, match="Không thể theo dõi một tìm kiếm không có điều kiện"):
        subscribe_search(kb.store, kb.config, "a@laichau.example", query, filters)
    assert subs.list_subscriptions(kb.store) == []


@pytest.mark.parametrize(
    "query, filters",
    [
        ("học phí", None),
        ("", {"doc_type": ["Nghị quyết"], "scope": ["Địa phương"]}),
        ("nam:2026", None),
        ("so:12/2026/NQ-HĐND", None),
        ("ngay:2026-01-01..", None),
    ],
)
def test_searches_with_a_condition_are_accepted(kb, query, filters):
    check_query(query, filters)


@pytest.mark.parametrize(
    "query, filters, message",
    [
        ("mucluc:x", None, "Không hiểu trường “mucluc:”"),
        ("nam:20x5", None, "Năm “20x5” không hợp lệ"),
        ("học phí", {"nam": ["2025"]}, "Không có bộ lọc “nam”"),
        ("học phí", {"year": ["năm nay"]}, "Năm phải là số"),
        ("học phí", {"status": ["sắp hết"]}, "Không có tình trạng hiệu lực “sắp hết”"),
        ('học phí hieuluc:"sắp hết"', None, "Không có tình trạng hiệu lực “sắp hết”"),
    ],
)
def test_malformed_queries_are_refused_with_a_message(kb, query, filters, message):
    with pytest.raises((QueryError, SubscriptionError), match=message):
        subscribe_search(kb.store, kb.config, "a@laichau.example", query, filters)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "abc",
        "a@b",
        "a b@laichau.example",
        "a@@laichau.example",
        "a..b@laichau.example",
        "<script>@x.vn",
        "ban@laichau.example, b@x.vn",
        "nguyễn@laichau.example",
    ],
)
def test_invalid_addresses_are_refused(kb, address):
    with pytest.raises(SubscriptionError, match="không hợp lệ"):
        subscribe_search(kb.store, kb.config, address, "học phí")
    with pytest.raises(SubscriptionError, match="không hợp lệ"):
        follow_document(kb.store, kb.config, address, OLD_FEES)
    assert subs.list_subscriptions(kb.store, include_ended=True) == []


def test_unknown_document_and_bad_frequency(kb):
    with pytest.raises(SubscriptionError, match="Không có văn bản “vbpl:0” trong cơ sở dữ liệu"):
        follow_document(kb.store, kb.config, "a@laichau.example", "vbpl:0")
    with pytest.raises(SubscriptionError, match="Tần suất “hourly” không có"):
        follow_document(kb.store, kb.config, "a@laichau.example", OLD_FEES, frequency="hourly")


def test_subscriptions_per_address_are_limited(tmp_path, smtp):
    config = mail_config(tmp_path, smtp.port, KB_ALERTS_MAX_PER_ADDRESS="2")
    with Store(config.db_path) as store:
        store.upsert_many(documents("before.jsonl"))
        build.rebuild(store, config.index_dir)
        first = subscribe_search(store, config, "a@laichau.example", "học phí").subscription
        follow_document(store, config, "a@laichau.example", OLD_FEES)
        again = subscribe_search(store, config, "a@laichau.example", "học phí", frequency="weekly")
        assert not again.created and again.subscription.id == first.id and again.subscription.frequency == "weekly"
        with pytest.raises(SubscriptionError, match="Địa chỉ a@laichau.example đã có 2 mục theo dõi, tối đa là 2"):
            subscribe_search(store, config, "a@laichau.example", "lệ phí")
        subscribe_search(store, config, "b@laichau.example", "lệ phí")  # another address is not affected
        subs.remove(store, first.id)
        assert subscribe_search(store, config, "a@laichau.example", "lệ phí").created


def test_pending_confirmation_is_sent_once_and_again_only_on_a_later_request(kb):
    store, config, inbox = kb.store, kb.config, kb.smtp
    start = dt.datetime.now(UTC)
    sub = subscribe_search(store, config, "a@laichau.example", "học phí", now=start).subscription
    run_alerts(store, config)
    run_alerts(store, config)
    assert len(inbox.messages) == 1
    subscribe_search(store, config, "a@laichau.example", "học phí", now=start + dt.timedelta(minutes=5))
    run_alerts(store, config)
    assert len(inbox.messages) == 1  # asked a minute ago: not again
    subscribe_search(store, config, "a@laichau.example", "học phí", now=start + dt.timedelta(hours=2))
    run_alerts(store, config)
    assert len(inbox.messages) == 2 and subs.get(store, sub.id).status == subs.PENDING


def test_tokens_forged_misused_expired_or_foreign_are_refused(kb, tmp_path):
    store, config = kb.store, kb.config
    sub = subscribe_search(store, config, "a@laichau.example", "học phí").subscription
    good = token(Links(config).confirm(sub))
    body, sig = good.split(".")
    forged_payload = (
        base64.urlsafe_b64encode(json.dumps({"e": "a@laichau.example", "s": sub.id, "x": 0}).encode())
        .decode()
        .rstrip("=")
    )
    for bad in (
        f"{body}.{sig[:-2]}xy",
        f"{forged_payload}.{sig}",
        body,
        "",
        "abc.def",
        good + "x",
        f"{body}.{sig[:-1]}đ",
        "ừ.ừ",
    ):
        with pytest.raises(TokenError, match="Liên kết không hợp lệ"):
            confirm(store, config, bad)
    with pytest.raises(TokenError, match="Liên kết không hợp lệ"):  # a confirmation is no unsubscribe
        unsubscribe(store, config, good)
    with pytest.raises(TokenError, match="hết hạn"):
        confirm(store, config, good, now=dt.datetime.now(UTC) + dt.timedelta(days=8))
    other = mail_config(tmp_path / "other-instance", None)  # another instance, another key
    with pytest.raises(TokenError, match="Liên kết không hợp lệ"):
        read_token(other, good, "confirm")
    assert subs.get(store, sub.id).status == subs.PENDING
    assert confirm(store, config, good).status == subs.ACTIVE
    subs.remove(store, sub.id)
    with pytest.raises(SubscriptionError, match="đã bị hủy"):
        confirm(store, config, good)
    email, listed = subs.token_subscriptions(store, config, token(Links(config).manage("a@laichau.example")))
    assert email == "a@laichau.example" and listed == []


def test_unsubscribe_and_manage_links_expire_after_link_days(kb, tmp_path):
    store, config = kb.store, kb.config
    sub = subs.follow_document(store, config, "a@laichau.example", OLD_FEES, confirmed=True).subscription
    now = dt.datetime.now(UTC)
    made = now - dt.timedelta(days=100)
    for url, action in (
        (Links(config, now=made).unsubscribe(sub), "unsubscribe"),
        (Links(config, now=made).unsubscribe_all(sub.email), "unsubscribe"),
        (Links(config, now=made).manage(sub.email), "manage"),
    ):
        payload = read_token(config, token(url), action, at=now)  # 100 days on: still good
        assert payload["x"] == int(link_expiry(config, made).timestamp())
        lapse = dt.datetime.fromtimestamp(payload["x"], UTC)
        assert made + dt.timedelta(days=400) < lapse <= made + dt.timedelta(days=401)
        read_token(config, token(url), action, at=lapse - dt.timedelta(seconds=1))
        with pytest.raises(TokenError, match="đã hết hạn.*400 ngày.*thư gần nhất"):
            read_token(config, token(url), action, at=lapse + dt.timedelta(seconds=1))
    with pytest.raises(TokenError, match="Liên kết hủy theo dõi này đã hết hạn"):
        unsubscribe(store, config, token(Links(config, now=made).unsubscribe(sub)), now=made + dt.timedelta(days=402))
    assert subs.get(store, sub.id).status == subs.ACTIVE
    assert Links(config).unsubscribe(sub) == Links(config).unsubscribe(sub)  # one link per day
    legacy = make_token(config, "unsubscribe", sub.email, sub.id)  # mailed before links expired
    assert read_token(config, legacy, "unsubscribe", at=now + dt.timedelta(days=5000))["x"] == 0
    forever = mail_config(tmp_path / "forever", None, KB_ALERTS_LINK_DAYS="0")
    assert link_expiry(forever) is None


def test_secret_key_is_generated_once_privately_unless_configured(tmp_path):
    config = mail_config(tmp_path / "inst", None)
    key = tokens.secret_key(config)
    path = tmp_path / "inst" / "secret.key"
    assert len(key) == 64 and path.read_text().strip().encode() == key
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tokens.secret_key(mail_config(tmp_path / "inst", None)) == key
    configured = mail_config(tmp_path / "inst", None, KB_ALERTS_SECRET="cau-hinh-rieng")
    assert tokens.secret_key(configured) == b"cau-hinh-rieng"
    assert make_token(configured, "manage", "a@x.vn") != make_token(config, "manage", "a@x.vn")


def test_schedule_of_daily_and_weekly_alerts(kb):
    config = kb.config
    created = dt.datetime(2026, 3, 4, 5, 0, tzinfo=UTC)  # Wednesday 12:00 local
    daily = subs.Subscription(
        1, "a@x.vn", "search", "x", frequency="daily", created_at=created.isoformat(), confirmed_at=created.isoformat()
    )
    weekly = subs.Subscription(
        2, "a@x.vn", "search", "x", frequency="weekly", created_at=created.isoformat(), confirmed_at=created.isoformat()
    )
    at = lambda day, hour: dt.datetime(2026, 3, day, hour, 0, tzinfo=VN_TZ)  # noqa: E731
    due = kb_alerts.due
    assert not due(daily, config, at(4, 23)) and not due(daily, config, at(5, 6))
    assert due(daily, config, at(5, 7))
    daily.last_run_at = at(5, 7).isoformat()
    assert not due(daily, config, at(5, 22)) and due(daily, config, at(6, 8))
    assert not due(weekly, config, at(8, 23)) and not due(weekly, config, at(9, 6))
    assert due(weekly, config, at(9, 7))  # Monday 07:00
    weekly.last_run_at = at(9, 7).isoformat()
    assert not due(weekly, config, at(15, 12)) and due(weekly, config, at(16, 7))
    immediate = subs.Subscription(
        3,
        "a@x.vn",
        "search",
        "x",
        frequency="immediate",
        created_at=created.isoformat(),
        confirmed_at=created.isoformat(),
        last_run_at=at(9, 7).isoformat(),
    )
    assert due(immediate, config, at(9, 7))
    immediate.confirmed_at = None
    assert not due(immediate, config, at(9, 7))


def test_search_url_parameters_are_the_web_ui_s(tmp_path):
    assert FACET_PARAMS == index.search.FACET_PARAMS
    query, filters = subs.search_from_url(
        "https://vanban.laichau.example/tim-kiem?q=h%E1%BB%8Dc+ph%C3%AD&loai=Ngh%E1%BB%8B+quy%E1%BA%BFt"
        "&phamvi=%C4%90%E1%BB%8Ba+ph%C6%B0%C6%A1ng&hieuluc=con+hieu+luc&tu=01/01/2026&page=3&sort=issued"
    )
    assert query == "học phí ngay:2026-01-01.."
    assert filters == {"doc_type": ["Nghị quyết"], "status": ["Còn hiệu lực"], "scope": ["Địa phương"]}
    with pytest.raises(SubscriptionError, match="Ngày “32/01/2026”"):
        subs.search_from_url("?q=x&den=32/01/2026")
    assert Links(mail_config(tmp_path, None, KB_SITE_URL=SITE + "/")).search("học phí", filters) == (
        "https://vanban.laichau.example/tim-kiem?q=h%E1%BB%8Dc+ph%C3%AD&loai=Ngh%E1%BB%8B+quy%E1%BA%BFt"
        "&hieuluc=C%C3%B2n+hi%E1%BB%87u+l%E1%BB%B1c&phamvi=%C4%90%E1%BB%8Ba+ph%C6%B0%C6%A1ng&sort=issued"
    )


def test_text_diff_is_short_and_focused():
    old = [
        "Điều 1. Phạm vi",
        "Mức thu là 120.000 đồng mỗi tháng đối với học sinh mầm non ở thành phố Lai Châu và các thị trấn",
        "Điều 3. Hiệu lực",
        "Nghị quyết có hiệu lực từ ngày 01/8/2024.",
    ]
    new = [
        "Điều 1. Phạm vi",
        "Mức thu là 135.000 đồng mỗi tháng đối với học sinh mầm non ở thành phố Lai Châu và các thị trấn",
        "Điều 3. Hiệu lực",
        "Nghị quyết có hiệu lực từ ngày 15/3/2026.",
        "Điều 4. Tổ chức thực hiện",
    ]
    added, removed, lines, more = text_diff(old, new, limit=4)
    assert (added, removed, more) == (3, 2, 1)
    assert lines == [
        ("-", "Mức thu là 120.000 đồng mỗi tháng đối với học …"),
        ("+", "Mức thu là 135.000 đồng mỗi tháng đối với học …"),
        ("-", "Nghị quyết có hiệu lực từ ngày 01/8/2024."),
        ("+", "Nghị quyết có hiệu lực từ ngày 15/3/2026."),
    ]  # the 5th line is counted
    long = "Căn cứ " + " ".join(f"từ{n}" for n in range(60))
    _, _, (cut_old, cut_new), _ = text_diff([long + " cuối"], [long + " sau cùng"])
    assert cut_old == ("-", "… từ54 từ55 từ56 từ57 từ58 từ59 cuối") and cut_new[1].endswith("từ59 sau cùng")


# --- links mailed before itsdangerous: made with the hand-made HMAC format of commit ecfbb73 -------------
OLD_SECRET = "old-format-secret-2026"  # alerts.secret of the instance that mailed them; address a@laichau.example
OLD_CONFIRM = (  # subscription 1, expires 31/12/2099
    "eyJhIjoiY29uZmlybSIsImUiOiJhQGxhaWNoYXUuZXhhbXBsZSIsInMiOjEsIngiOjQxMDIzNTg0MDB9.QAZBCA5cPq0AVWpeons1elKfPKU"
)
OLD_UNSUBSCRIBE_ALL = (  # every subscription of the address, expires 31/12/2099
    "eyJhIjoidW5zdWJzY3JpYmUiLCJlIjoiYUBsYWljaGF1LmV4YW1wbGUiLCJzIjowLCJ4Ijo0MTAyMzU4NDAwfQ._a7WSaysAB6PmgRqDl6kQMwsSck"
)
OLD_MANAGE = (  # expires 31/12/2099
    "eyJhIjoibWFuYWdlIiwiZSI6ImFAbGFpY2hhdS5leGFtcGxlIiwicyI6MCwieCI6NDEwMjM1ODQwMH0.fSfwH44QcvcGCBTPmiT9A8ILFxw"
)
OLD_UNSUBSCRIBE_EXPIRED = (  # subscription 1, expired 01/01/2026
    "eyJhIjoidW5zdWJzY3JpYmUiLCJlIjoiYUBsYWljaGF1LmV4YW1wbGUiLCJzIjoxLCJ4IjoxNzY3MjI1NjAwfQ.biLBa4jQEhg0bXnlBBwFuwheJTw"
)
OLD_CONFIRM_EXPIRED = (  # subscription 1, expired 01/01/2026
    "eyJhIjoiY29uZmlybSIsImUiOiJhQGxhaWNoYXUuZXhhbXBsZSIsInMiOjEsIngiOjE3NjcyMjU2MDB9.yj6m7F6fHm2ttsK-clogzyDffQI"
)
OLD_UNSUBSCRIBE_FOREVER = (  # subscription 1, no expiry (mailed before links expired)
    "eyJhIjoidW5zdWJzY3JpYmUiLCJlIjoiYUBsYWljaGF1LmV4YW1wbGUiLCJzIjoxLCJ4IjowfQ.h9tETqW7Hi6rrW9yfo2KF5iVp28"
)


def test_links_mailed_in_the_old_format_work_until_they_expire(tmp_path):
    config = mail_config(tmp_path / "inst", None, KB_ALERTS_SECRET=OLD_SECRET)
    with Store(config.db_path) as store:
        store.upsert_many(documents("before.jsonl"))
        sub = follow_document(store, config, "a@laichau.example", OLD_FEES).subscription
        assert sub.id == 1
        with pytest.raises(TokenError, match="Liên kết xác nhận đã hết hạn"):
            confirm(store, config, OLD_CONFIRM_EXPIRED)
        with pytest.raises(TokenError, match="Liên kết hủy theo dõi này đã hết hạn"):
            unsubscribe(store, config, OLD_UNSUBSCRIBE_EXPIRED)
        assert confirm(store, config, OLD_CONFIRM).status == subs.ACTIVE
        assert subs.token_subscriptions(store, config, OLD_MANAGE) == ("a@laichau.example", [subs.get(store, 1)])
        assert read_token(config, OLD_UNSUBSCRIBE_FOREVER, "unsubscribe")["s"] == 1
        with pytest.raises(
            TokenError, match="Liên kết không hợp lệ"
        ):  # the action is signed: no confirm as unsubscribe
            read_token(config, OLD_CONFIRM, "unsubscribe")
        other = mail_config(tmp_path / "other", None, KB_ALERTS_SECRET="another-secret")
        with pytest.raises(TokenError, match="Liên kết không hợp lệ"):
            read_token(other, OLD_CONFIRM, "confirm")
        assert [s.id for s in unsubscribe(store, config, OLD_UNSUBSCRIBE_ALL)] == [1]
        # new links are itsdangerous tokens, and they are not the old format
        fresh = make_token(config, "confirm", "a@laichau.example", 1)
        assert fresh not in (OLD_CONFIRM, OLD_CONFIRM_EXPIRED) and read_token(config, fresh, "confirm")["s"] == 1
        with pytest.raises(TokenError, match="Liên kết không hợp lệ"):
            tokens._legacy_payload(config, fresh, "confirm")


# --- confirmation mail: one message per address (issue 20, item 5) ---------------------------------
def test_nine_subscriptions_of_one_address_make_one_confirmation_until_the_resend_window(kb):
    store, config, inbox = kb.store, kb.config, kb.smtp
    start = dt.datetime.now(UTC)
    words = ["học phí", "lệ phí", "hỗ trợ", "ngân sách", "giáo dục", "nông nghiệp", "đất đai", "y tế", "thuế"]
    for n, query in enumerate(words):  # within a second, as a person clicking or a script posting would
        at = start + dt.timedelta(milliseconds=100 * n)
        subscribe_search(store, config, "a@laichau.example", query, now=at)
        kb_alerts.send_confirmations(store, config, _mailer(config), email="a@laichau.example", now=at)
    first = kb_alerts.send_confirmations(store, config, _mailer(config), now=start + dt.timedelta(seconds=1))
    assert first.confirmations == []
    (msg,) = inbox.messages  # one e-mail, not nine
    assert len(links(msg, "/theo-doi/xac-nhan/")) == 1  # the first request, sent at once

    # within the window nothing more goes; after alerts.confirm_resend_hours one message lists all nine
    kb_alerts.send_confirmations(store, config, _mailer(config), now=start + dt.timedelta(minutes=59))
    assert len(inbox.messages) == 1
    again = kb_alerts.send_confirmations(store, config, _mailer(config), now=start + dt.timedelta(minutes=61))
    assert [c.email for c in again.confirmations] == ["a@laichau.example"] and len(inbox.messages) == 2
    listed = links(inbox.messages[1], "/theo-doi/xac-nhan/")
    assert len(listed) == 9
    assert {read_token(config, token(u), "confirm")["s"] for u in listed} == {
        s.id for s in subs.list_subscriptions(store, "a@laichau.example")
    }
    for query in words:
        assert f"Tìm kiếm “{query}”" in text_part(inbox.messages[1])
    kb_alerts.send_confirmations(store, config, _mailer(config), now=start + dt.timedelta(hours=3))
    assert len(inbox.messages) == 2  # everything asked: nothing until a new request


def test_nine_subscriptions_made_before_a_run_make_one_message_listing_all(kb):
    store, config, inbox = kb.store, kb.config, kb.smtp
    for n in range(9):
        subscribe_search(store, config, "b@laichau.example", f"học phí {n}")
    run_alerts(store, config)
    run_alerts(store, config)
    (msg,) = inbox.messages
    assert len(links(msg, "/theo-doi/xac-nhan/")) == 9


def test_confirm_resend_hours_is_a_setting(kb, tmp_path):
    config = mail_config(kb.config.instance, kb.smtp.port, KB_ALERTS_CONFIRM_RESEND_HOURS="0.5")
    store, inbox = kb.store, kb.smtp
    start = dt.datetime.now(UTC)
    subscribe_search(store, config, "c@laichau.example", "học phí", now=start)
    kb_alerts.send_confirmations(store, config, _mailer(config), now=start)
    subscribe_search(store, config, "c@laichau.example", "lệ phí", now=start)
    kb_alerts.send_confirmations(store, config, _mailer(config), now=start + dt.timedelta(minutes=29))
    assert len(inbox.messages) == 1
    kb_alerts.send_confirmations(store, config, _mailer(config), now=start + dt.timedelta(minutes=31))
    assert len(inbox.messages) == 2 and len(links(inbox.messages[1], "/theo-doi/xac-nhan/")) == 2


def _mailer(config):
    from kb.alerts.mail import Mailer

    return Mailer(config)


def test_alert_tables_of_a_store_made_before_records_existed_are_kept(tmp_path):
    """Stores made when the core created the alert tables (its migration 2) have them but no
    "schema:alerts" version: the first step (CREATE … IF NOT EXISTS) adopts them, rows and all."""
    config = mail_config(tmp_path / "inst", None)
    with Store(config.db_path) as store:
        store.upsert_many(documents("before.jsonl"))
        sub = follow_document(store, config, "a@laichau.example", OLD_FEES).subscription
        store.db.execute("DELETE FROM state WHERE name='schema:alerts'")
    with Store(config.db_path) as store:
        assert store.get_state("schema:alerts") is None
        assert [s.id for s in subs.list_subscriptions(store)] == [sub.id]
        assert store.get_state("schema:alerts") == "1"
