"""E-mail alerts in the web UI: the "Theo dõi tìm kiếm này" and "Theo dõi văn bản" forms, the
confirmation e-mail received by a real SMTP server on a local port, the pages the e-mails link to
(confirm, one-click unsubscribe, the list of one's subscriptions), and every refusal with its message."""

import base64
import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from test_alerts import subscribe_search
from web_fixtures import (  # noqa: F401
    LAW,
    RESOLUTION,
    copy_instance,
    form_post,
    free_port,
    kb_instance,
    mail_settings,
    make_app,
    page,
    parse,
    smtp,
    text_part,
    texts,
)

from kb import config as kbconfig
from kb.alerts import subscriptions as subs
from kb.alerts.links import Links, redact_links
from kb.alerts.subscriptions import MATCH_ALL_MESSAGE
from kb.store import Store

ADDRESS = "ban.vhxh@laichau.gov.vn"
SEARCH = "/tim-kiem?q=h%E1%BB%8Dc+ph%C3%AD&loai=Ngh%E1%BB%8B+quy%E1%BA%BFt"  # q=học phí, loai=Nghị quyết


@pytest.fixture
def instance_copy(kb_instance, tmp_path, smtp):
    """A writable copy of the test knowledge base whose mail goes to the local SMTP server."""
    return copy_instance(kb_instance, tmp_path / "instance", mail_settings(smtp.port))


@pytest.fixture
def client(instance_copy):
    return make_app(instance_copy).test_client()


def stored(instance) -> list[subs.Subscription]:
    with Store(instance / "kb.sqlite") as store:
        return subs.list_subscriptions(store, include_ended=True)


def link_path(text: str, kind: str) -> str:
    """The path of the first /theo-doi/<kind>/ link in an e-mail's text."""
    match = re.search(r"https://vanban\.laichau\.example(/theo-doi/" + kind + r"/[A-Za-z0-9_.-]+)", text)
    assert match, text
    return match.group(1)


def subscribe_from_search(client, url=SEARCH, **data):
    tree = page(client, url)
    fields = {"email": ADDRESS, "label": "Học phí – thẩm tra kỳ họp cuối năm"}
    fields.update(data)
    return form_post(client, tree, "#theo-doi form", fields)


# --- the forms on the pages ----------------------------------------------------------------------
def test_every_search_with_a_query_or_filter_offers_the_follow_form(client):
    tree = page(client, SEARCH)
    box = tree.select_one("details#theo-doi")
    assert box.summary.get_text(strip=True) == "Theo dõi tìm kiếm này"
    form = box.form
    action = urlsplit(form["action"])
    assert action.path == "/theo-doi/tim-kiem"
    assert parse_qs(action.query) == {"q": ["học phí"], "loai": ["Nghị quyết"]}  # the page's search, no paging
    assert form.find("input", attrs={"name": "csrf_token"})["value"]
    email = form.find("input", attrs={"name": "email"})
    assert email["type"] == "email" and email.has_attr("required")
    radios = {r["value"]: r.has_attr("checked") for r in form.find_all("input", attrs={"name": "frequency"})}
    assert radios == {"immediate": False, "daily": True, "weekly": False}
    assert texts(form.select("fieldset.frequency label")) == ["ngay khi có thay đổi", "hằng ngày", "hằng tuần"]
    dated = page(client, "/tim-kiem?loai=Lu%E1%BA%ADt&tu=01/01/2019&sort=issued&page=1")
    assert parse_qs(urlsplit(dated.select_one("#theo-doi form")["action"]).query) == {
        "loai": ["Luật"],
        "tu": ["2019-01-01"],
    }


def test_a_search_that_cannot_be_an_alert_says_why_instead_of_a_form(client):
    tree = page(client, "/tim-kiem?q=-ph%C3%AD")  # exclusions only: nearly every document
    box = tree.select_one("details#theo-doi")
    assert box.select_one(".follow-refusal").get_text(strip=True) == MATCH_ALL_MESSAGE
    assert box.form is None
    assert page(client, "/").select_one("#theo-doi") is None  # browsing everything: nothing to follow


def test_every_document_page_offers_follow_document(client):
    tree = page(client, f"/van-ban/{LAW}")
    form = tree.select_one("details#theo-doi form")
    assert tree.select_one("details#theo-doi summary").get_text(strip=True) == "Theo dõi văn bản"
    assert form["action"] == f"/theo-doi/van-ban/{LAW}" and form["method"] == "post"
    assert form.find("input", attrs={"name": "csrf_token"})["value"]


# --- subscribe, confirm, list, unsubscribe ---------------------------------------------------------
def test_follow_a_search_confirm_by_email_list_and_remove(client, instance_copy, smtp):
    response = subscribe_from_search(client, frequency="weekly")
    assert response.status_code == 200
    tree = parse(response)
    assert tree.h1.get_text(strip=True) == "Kiểm tra hộp thư của bạn"
    assert tree.select_one(".mail-sent").get_text(" ", strip=True) == f"Đã gửi thư xác nhận tới {ADDRESS} ."
    summary = dict(zip(texts(tree.select(".sub-summary dt")), texts(tree.select(".sub-summary dd"))))
    assert summary == {
        "Theo dõi": "Tìm kiếm “học phí” (Loại văn bản: Nghị quyết)",
        "Ghi chú": "Học phí – thẩm tra kỳ họp cuối năm",
        "Gửi thông báo": "hằng tuần",
    }
    back = urlsplit(tree.select_one(".outcome a.button")["href"])
    assert back.path == "/tim-kiem" and parse_qs(back.query) == {"q": ["học phí"], "loai": ["Nghị quyết"]}
    [sub] = stored(instance_copy)
    assert (sub.kind, sub.query, sub.filters, sub.frequency, sub.status) == (
        "search",
        "học phí",
        {"doc_type": ["Nghị quyết"]},
        "weekly",
        "pending",
    )
    assert sub.confirm_sent_at  # recorded as asked

    [message] = smtp.to(ADDRESS)
    assert message["Subject"].startswith("Xác nhận đăng ký theo dõi văn bản")
    confirm = link_path(text_part(message), "xac-nhan")

    tree = page(client, confirm)  # GET shows, does not confirm
    assert tree.h1.get_text(strip=True) == "Xác nhận đăng ký theo dõi"
    assert "Tìm kiếm “học phí” (Loại văn bản: Nghị quyết)" in texts(tree.select(".sub-summary dd"))
    assert stored(instance_copy)[0].status == "pending"
    tree = parse(form_post(client, tree, "main form", url=confirm))
    assert tree.h1.get_text(strip=True) == "Đã xác nhận"
    assert stored(instance_copy)[0].status == "active"

    manage = tree.find("a", string=re.compile("quản lý"))["href"]
    assert manage.startswith("/theo-doi/cua-toi/")
    tree = page(client, manage)
    assert tree.h1.get_text(strip=True) == f"Các mục theo dõi của {ADDRESS}"
    [row] = tree.select("table.subs tbody tr")
    assert "Học phí – thẩm tra kỳ họp cuối năm" in row.get_text(" ", strip=True)
    assert row.select_one(".tag").get_text(strip=True) == "Đang theo dõi"
    response = form_post(client, tree, "table.subs tbody tr form")
    assert response.status_code == 303 and response.headers["Location"] == manage
    tree = page(client, manage)
    assert texts(tree.select(".notice.ok")) == ["Đã hủy theo dõi: Học phí – thẩm tra kỳ họp cuối năm"]
    assert not tree.select("table.subs") and stored(instance_copy)[0].status == "ended"


def test_asking_twice_sends_one_message_and_a_followed_item_says_so(client, instance_copy, smtp):
    subscribe_from_search(client)
    tree = parse(subscribe_from_search(client))
    assert tree.h1.get_text(strip=True) == "Kiểm tra hộp thư của bạn"
    assert "đã được gửi tới" in tree.select_one(".mail-earlier").get_text(" ", strip=True)
    assert len(smtp.to(ADDRESS)) == 1 and len(stored(instance_copy)) == 1
    client.post(
        link_path(text_part(smtp.to(ADDRESS)[0]), "xac-nhan"),
        data={"csrf_token": page(client, SEARCH).find("input", attrs={"name": "csrf_token"})["value"]},
    )
    tree = parse(subscribe_from_search(client, frequency="immediate"))
    assert tree.h1.get_text(strip=True) == "Bạn đã theo dõi mục này"
    [sub] = stored(instance_copy)
    assert (sub.status, sub.frequency) == ("active", "immediate") and len(smtp.to(ADDRESS)) == 1


def test_follow_a_document_and_the_digest(client, instance_copy, smtp):
    tree = page(client, f"/van-ban/{RESOLUTION}")
    tree = parse(form_post(client, tree, "#theo-doi form", {"email": ADDRESS, "frequency": "immediate"}))
    assert tree.h1.get_text(strip=True) == "Kiểm tra hộp thư của bạn"
    assert tree.select_one(".outcome a.button")["href"] == f"/van-ban/{RESOLUTION}"
    tree = page(client, "/theo-doi/ban-tin")
    assert tree.h1.get_text(strip=True) == "Nhận bản tin “Văn bản mới” hằng tuần"
    tree = parse(form_post(client, tree, "form.follow-form", {"email": ADDRESS}))
    assert tree.h1.get_text(strip=True) == "Kiểm tra hộp thư của bạn"
    assert "trong thư xác nhận tiếp theo" in tree.select_one(".mail-queued").get_text()
    kinds = {(s.kind, s.uid, s.frequency) for s in stored(instance_copy)}
    assert kinds == {("document", RESOLUTION, "immediate"), ("digest", None, "weekly")}
    assert len(smtp.to(ADDRESS)) == 1  # one confirmation per address within alerts.confirm_resend_hours


def test_one_click_unsubscribe_without_cookie_or_csrf_token(instance_copy):
    config = kbconfig.load(instance_copy, environ={})
    with Store(instance_copy / "kb.sqlite") as store:
        sub = subs.follow_document(store, config, ADDRESS, LAW, confirmed=True).subscription
    path = urlsplit(Links(config).unsubscribe(sub)).path
    client = make_app(instance_copy).test_client()
    tree = page(client, path)  # GET: a page with a button; nothing ends
    assert tree.h1.get_text(strip=True) == "Hủy theo dõi" and tree.select_one("button.danger")
    assert stored(instance_copy)[0].status == "active"
    mail_client = make_app(instance_copy).test_client(use_cookies=False)
    response = mail_client.post(
        path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert parse(response).h1.get_text(strip=True) == "Đã hủy theo dõi"
    assert stored(instance_copy)[0].status == "ended"
    again = mail_client.post(path, data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert again.status_code == 200 and parse(again).h1.get_text(strip=True) == "Đã hủy từ trước"
    assert "đã được hủy từ trước" in page(client, path).select_one(".notice").get_text()


def test_unsubscribe_all_of_an_address(instance_copy):
    config = kbconfig.load(instance_copy, environ={})
    with Store(instance_copy / "kb.sqlite") as store:
        subs.follow_document(store, config, ADDRESS, LAW, confirmed=True)
        subs.follow_document(store, config, ADDRESS, RESOLUTION, confirmed=True)
    client = make_app(instance_copy).test_client()
    manage = page(client, urlsplit(Links(config).manage(ADDRESS)).path)
    assert len(manage.select("table.subs tbody tr")) == 2
    tree = page(client, manage.find("a", string="Hủy tất cả")["href"])
    assert "tất cả" in tree.select_one("main p").get_text() and len(tree.select(".sub-list li")) == 2
    tree = parse(form_post(client, tree, "main form", url=manage.find("a", string="Hủy tất cả")["href"]))
    assert len(tree.select(".sub-list li")) == 2
    assert {s.status for s in stored(instance_copy)} == {"ended"}


# --- refusals: a clear message, nothing stored, nothing sent ------------------------------------
@pytest.mark.parametrize(
    "url, data, message",
    [
        (SEARCH, {"email": "khong-phai-email"}, "Địa chỉ e-mail “khong-phai-email” không hợp lệ."),
        (SEARCH, {"email": "a@b..vn"}, "không hợp lệ"),
        (SEARCH, {"email": ""}, "Địa chỉ e-mail “(trống)” không hợp lệ."),
        (SEARCH, {"label": "x" * 260}, "Ghi chú dài quá 200 ký tự."),
        (SEARCH, {"frequency": "hourly"}, "Tần suất “hourly” không có"),
    ],
)
def test_refused_subscriptions_show_the_form_again_with_the_reason(client, instance_copy, smtp, url, data, message):
    response = subscribe_from_search(client, url, **data)
    assert response.status_code == 400
    tree = parse(response)
    assert message in tree.select_one(".error-box .error-message").get_text()
    form = tree.select_one("form.follow-form")
    expected_email = data.get("email", ADDRESS)
    assert form.find("input", attrs={"name": "email"})["value"] == expected_email  # what was typed stays
    assert not stored(instance_copy) and not smtp.received


@pytest.mark.parametrize("query", ["", "q=-ph%C3%AD", "q=+++"])
def test_a_match_all_search_is_refused(client, instance_copy, query):
    tree = page(client, f"/theo-doi/tim-kiem?{query}")
    assert tree.select_one(".refusal .error-message").get_text(strip=True) == MATCH_ALL_MESSAGE
    assert tree.select_one("form.follow-form") is None
    token = page(client, SEARCH).find("input", attrs={"name": "csrf_token"})["value"]
    response = client.post(f"/theo-doi/tim-kiem?{query}", data={"csrf_token": token, "email": ADDRESS})
    assert response.status_code == 400
    assert parse(response).select_one(".error-box .error-message").get_text(strip=True) == MATCH_ALL_MESSAGE
    assert not stored(instance_copy)


def test_an_unreadable_query_is_refused_with_the_parser_message(client, instance_copy):
    token = page(client, SEARCH).find("input", attrs={"name": "csrf_token"})["value"]
    response = client.post("/theo-doi/tim-kiem?q=nam%3Aabcd", data={"csrf_token": token, "email": ADDRESS})
    assert response.status_code == 400
    assert "nam" in parse(response).select_one(".error-box .error-message").get_text()
    assert not stored(instance_copy)


def test_too_many_subscriptions_for_one_address(kb_instance, tmp_path, smtp):
    folder = copy_instance(kb_instance, tmp_path / "i", mail_settings(smtp.port, alerts={"max_per_address": 2}))
    client = make_app(folder).test_client()
    for query in ("học phí", "bến xe"):
        assert subscribe_from_search(client, f"/tim-kiem?q={query}").status_code == 200
    response = subscribe_from_search(client, "/tim-kiem?q=danh+th%E1%BA%AFng")
    assert response.status_code == 400
    message = parse(response).select_one(".error-box .error-message").get_text()
    assert message.startswith(f"Địa chỉ {ADDRESS} đã có 2 mục theo dõi, tối đa là 2.")
    assert len(stored(folder)) == 2


def test_an_unknown_document_cannot_be_followed(client):
    page(client, "/theo-doi/van-ban/vbpl:khong-co", status=404)
    token = page(client, SEARCH).find("input", attrs={"name": "csrf_token"})["value"]
    assert (
        client.post("/theo-doi/van-ban/vbpl:khong-co", data={"csrf_token": token, "email": ADDRESS}).status_code == 404
    )


def test_a_post_without_the_csrf_token_is_refused_and_changes_nothing(client, instance_copy, smtp):
    page(client, SEARCH)
    for token in (None, "forged-token"):
        data = {"email": ADDRESS, **({"csrf_token": token} if token else {})}
        response = client.post("/theo-doi/tim-kiem?q=h%E1%BB%8Dc+ph%C3%AD", data=data)
        assert response.status_code == 400
        tree = parse(response)
        assert tree.h1.get_text(strip=True) == "Chưa gửi được biểu mẫu"
        assert "tải lại trang" in tree.select_one(".error-message").get_text()
        back = urlsplit(tree.find("a", string="Quay lại biểu mẫu")["href"])
        assert back.path == "/theo-doi/tim-kiem" and parse_qs(back.query) == {"q": ["học phí"]}
    other = make_app(instance_copy).test_client()  # another browser's token
    token = page(other, SEARCH).find("input", attrs={"name": "csrf_token"})["value"]
    assert client.post("/theo-doi/tim-kiem?q=x", data={"csrf_token": token, "email": ADDRESS}).status_code == 400
    assert not stored(instance_copy) and not smtp.received


# --- the links: forged, cut, expired, for another action -----------------------------------------------
def test_bad_links_are_explained_never_an_error_page(client, instance_copy):
    config = kbconfig.load(instance_copy, environ={})
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    with Store(instance_copy / "kb.sqlite") as store:
        old = subscribe_search(store, config, ADDRESS, "học phí", now=past).subscription
        fresh = subs.follow_document(store, config, ADDRESS, LAW).subscription
    expired = urlsplit(Links(config).confirm(old)).path
    for method in ("get", "post"):
        response = getattr(client, method)(
            expired, **({"data": {"csrf_token": csrf(client)}} if method == "post" else {})
        )
        assert response.status_code == 410
        tree = parse(response)
        assert tree.h1.get_text(strip=True) == "Liên kết đã hết hạn"
        assert "hết hạn" in tree.select_one(".error-message").get_text()
    good = urlsplit(Links(config).confirm(fresh)).path
    body, _, signature = good.rsplit("/", 1)[1].partition(".")
    forged_payload = base64.urlsafe_b64encode(b'{"e":"ke.gian@example.com","s":2,"x":0}').decode().rstrip("=")
    bad_links = [
        good[:-6],  # cut when copied
        f"/theo-doi/xac-nhan/{forged_payload}.{signature}",  # another payload, the old signature
        "/theo-doi/xac-nhan/khong-phai-token",
        good.replace("/xac-nhan/", "/huy/"),  # a confirmation token used to unsubscribe
        good.replace("/xac-nhan/", "/cua-toi/"),
        "/theo-doi/cua-toi/" + "A" * 3000,
    ]
    for link in bad_links:
        tree = page(client, link, status=400)
        assert tree.h1.get_text(strip=True) == "Liên kết không dùng được", link
        assert "Liên kết không hợp lệ" in tree.select_one(".error-message").get_text(), link
    assert (
        client.post(
            bad_links[3], data="List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
        ).status_code
        == 400
    )
    assert {s.status for s in stored(instance_copy)} == {"pending"}  # nothing confirmed, nothing ended


def csrf(client) -> str:
    return page(client, SEARCH).find("input", attrs={"name": "csrf_token"})["value"]


# --- delivery problems ----------------------------------------------------------------------------
def test_mail_server_down_the_page_says_it_will_be_sent_later(kb_instance, tmp_path):
    folder = copy_instance(kb_instance, tmp_path / "i", mail_settings(free_port()))  # nothing listens there
    client = make_app(folder).test_client()
    tree = parse(subscribe_from_search(client))
    assert tree.h1.get_text(strip=True) == "Kiểm tra hộp thư của bạn"
    assert "hệ thống sẽ tự gửi" in tree.select_one(".mail-later").get_text()
    [sub] = stored(folder)
    assert sub.status == "pending" and sub.confirm_sent_at is None  # kb alerts run will send it


def test_outbox_folder_instead_of_smtp(kb_instance, tmp_path):
    folder = copy_instance(kb_instance, tmp_path / "i", '[mail]\noutbox = "outbox"\n')
    client = make_app(folder).test_client()
    assert parse(subscribe_from_search(client)).select_one(".mail-sent")
    [eml] = (folder / "outbox").glob("*.eml")
    assert f"To: {ADDRESS}" in eml.read_text(encoding="ascii", errors="replace")


def test_subscription_requests_are_rate_limited_per_address(kb_instance, tmp_path, smtp):
    folder = copy_instance(kb_instance, tmp_path / "i", mail_settings(smtp.port))
    client = make_app(folder, SUBSCRIBE_LIMIT=2).test_client()
    for i in range(2):
        assert subscribe_from_search(client, email=f"a{i}@laichau.gov.vn").status_code == 200
    response = subscribe_from_search(client, email="a3@laichau.gov.vn")
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "quá nhiều lần" in parse(response).select_one(".error-message").get_text()
    assert len(stored(folder)) == 2
    tree = page(client, SEARCH)
    other = form_post(
        client, tree, "#theo-doi form", {"email": "b@laichau.gov.vn"}, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert other.status_code == 200  # another computer is not held back
    assert page(client, "/theo-doi/tim-kiem?q=x").select_one("form.follow-form")  # GET is never limited


# --- escaping and redirects -----------------------------------------------------------------------
def test_what_was_typed_is_shown_escaped(client):
    tree = parse(subscribe_from_search(client, label="<script>alert(1)</script> <b>đậm</b>"))
    assert not tree.find("script", src=False) and not tree.find("b")
    assert "<script>alert(1)</script> <b>đậm</b>" in texts(tree.select(".sub-summary dd"))
    tree = parse(subscribe_from_search(client, email="a<img src=x>b@x.vn"))
    assert not tree.find("img") and "a<img src=x>b@x.vn" in tree.select_one(".error-message").get_text()


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        " //evil.example",
        "/%0a/evil",
        "\t/\t/evil.example",
    ],
)
def test_unsubscribe_never_redirects_off_site(instance_copy, target):
    config = kbconfig.load(instance_copy, environ={})
    with Store(instance_copy / "kb.sqlite") as store:
        sub = subs.follow_document(store, config, ADDRESS, LAW, confirmed=True).subscription
    client = make_app(instance_copy).test_client()
    path = urlsplit(Links(config).unsubscribe(sub)).path
    response = client.post(path, data={"next": target})
    if target == "/%0a/evil":  # a path of this site: allowed
        assert response.status_code == 303 and response.headers["Location"] == "/%0a/evil"
    else:
        assert response.status_code == 200, response.headers.get("Location")
        assert parse(response).h1.get_text(strip=True) == "Đã hủy theo dõi"


def test_the_list_unsubscribe_header_of_the_confirmation_works_in_one_click(client, instance_copy, smtp):
    subscribe_from_search(client)
    [message] = smtp.to(ADDRESS)
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = re.search(r"<(https://[^>]+)>", message["List-Unsubscribe"]).group(1)
    mail_client = make_app(instance_copy).test_client(use_cookies=False)
    response = mail_client.post(urlsplit(url).path, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and parse(response).h1.get_text(strip=True) == "Đã hủy theo dõi"
    assert [s.status for s in stored(instance_copy)] == ["ended"]


# --- unsubscribe and "manage" links expire (alerts.link_days) ----------------------------------------
def test_old_unsubscribe_and_manage_links_lapse_and_say_how_to_get_fresh_ones(instance_copy):
    config = kbconfig.load(instance_copy, environ={})
    now = dt.datetime.now(dt.UTC)
    with Store(instance_copy / "kb.sqlite") as store:
        sub = subs.follow_document(store, config, ADDRESS, LAW, confirmed=True).subscription
    mail_client = make_app(instance_copy).test_client(use_cookies=False)
    old = now - dt.timedelta(days=402)  # a message of more than 400 days ago
    for link in (
        Links(config, now=old).unsubscribe(sub),
        Links(config, now=old).unsubscribe_all(ADDRESS),
        Links(config, now=old).manage(ADDRESS),
    ):
        tree = page(mail_client, urlsplit(link).path, status=410)
        assert tree.h1.get_text(strip=True) == "Liên kết đã hết hạn"
        message = tree.select_one(".error-message").get_text()
        assert "400 ngày" in message and "thư gần nhất" in message and "quản trị viên" in message
    one_click = mail_client.post(
        urlsplit(Links(config, now=old).unsubscribe(sub)).path, data={"List-Unsubscribe": "One-Click"}
    )
    assert one_click.status_code == 410 and [s.status for s in stored(instance_copy)] == ["active"]
    recent = now - dt.timedelta(days=398)  # a message within the window: one click still works
    one_click = mail_client.post(
        urlsplit(Links(config, now=recent).unsubscribe(sub)).path, data={"List-Unsubscribe": "One-Click"}
    )
    assert one_click.status_code == 200 and [s.status for s in stored(instance_copy)] == ["ended"]


def test_an_unexpected_error_on_a_link_page_logs_the_path_without_its_token(instance_copy, monkeypatch, caplog):
    config = kbconfig.load(instance_copy, environ={})
    with Store(instance_copy / "kb.sqlite") as store:
        sub = subs.follow_document(store, config, ADDRESS, LAW, confirmed=True).subscription
    path = urlsplit(Links(config).unsubscribe(sub)).path
    token = path.rsplit("/", 1)[1]

    def broken(*args, **kwargs):
        raise RuntimeError("simulated failure")

    monkeypatch.setattr(subs, "unsubscribe_preview", broken)
    client = make_app(instance_copy, TESTING=False).test_client()
    with caplog.at_level("ERROR"):
        assert client.get(path).status_code == 500
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "unexpected error on /theo-doi/huy/…" in logged and token not in logged
    assert (
        redact_links(f"GET https://vanban.example{path}?x=1 HTTP/1.1")
        == "GET https://vanban.example/theo-doi/huy/…?x=1 HTTP/1.1"
    )


def test_nine_subscriptions_in_a_second_send_one_confirmation(client, instance_copy, smtp):
    """Issue 20: nine quick requests for one unconfirmed address sent nine e-mails; one now, and the
    others wait for the next message of that address (after alerts.confirm_resend_hours)."""
    token = page(client, SEARCH).find("input", attrs={"name": "csrf_token"})["value"]
    outcomes = []
    for word in ("học phí", "lệ phí", "hỗ trợ", "ngân sách", "giáo dục", "nông nghiệp", "đất đai", "y tế", "thuế"):
        response = client.post(f"/theo-doi/tim-kiem?q={word}", data={"csrf_token": token, "email": ADDRESS})
        assert response.status_code == 200
        outcomes.append([c for c in ("mail-sent", "mail-queued") if parse(response).select_one(f".{c}")])
    assert outcomes == [["mail-sent"]] + [["mail-queued"]] * 8
    assert len(stored(instance_copy)) == 9 and len(smtp.to(ADDRESS)) == 1


def test_links_mailed_in_the_old_format_still_open_on_the_site(instance_copy, monkeypatch):
    """Tokens made by the hand-made HMAC format (before itsdangerous), as mailed: see test_alerts.py."""
    from test_alerts import OLD_MANAGE, OLD_SECRET, OLD_UNSUBSCRIBE_EXPIRED

    monkeypatch.setenv("KB_ALERTS_SECRET", OLD_SECRET)
    config = kbconfig.load(instance_copy)
    with Store(instance_copy / "kb.sqlite") as store:
        subs.follow_document(store, config, "a@laichau.example", LAW, confirmed=True)
    client = make_app(instance_copy).test_client()
    tree = page(client, f"/theo-doi/cua-toi/{OLD_MANAGE}")
    assert "a@laichau.example" in tree.select_one("main").get_text() and len(tree.select("table.subs tbody tr")) == 1
    expired = page(client, f"/theo-doi/huy/{OLD_UNSUBSCRIBE_EXPIRED}", status=410)
    assert expired.h1.get_text(strip=True) == "Liên kết đã hết hạn"
