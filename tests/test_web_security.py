"""Web security on every route: security headers on every kind of response, a CSRF token in every POST
form and required by every POST route but the two documented exceptions, 413 for oversized bodies, the
session cookie, the rate limiter, the proxy setting, on-site redirect targets, no inline script or style."""

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from web_fixtures import (  # noqa: F401
    LAW,
    RESOLUTION,
    copy_instance,
    digest_week,
    kb_instance,
    make_app,
    page,
    parse,
    weekly_instance,
)

from kb import config as kbconfig
from kb.alerts import subscriptions as subs
from kb.alerts.links import Links
from kb.store import Store
from web.security import CSRF_FIELD, RateLimiter, safe_next

ROOT = Path(__file__).resolve().parent.parent
EXEMPT = {"alerts.unsubscribe", "api.check"}  # RFC 8058 one-click; an API that changes nothing


@pytest.fixture
def instance_copy(kb_instance, tmp_path):
    return copy_instance(kb_instance, tmp_path / "instance", '[mail]\noutbox = "outbox"\n')


@pytest.fixture
def links(instance_copy):
    """The three kinds of e-mail link of one pending subscription (paths)."""
    config = kbconfig.load(instance_copy, environ={})
    with Store(instance_copy / "kb.sqlite") as store:
        sub = subs.follow_document(store, config, "a@laichau.gov.vn", LAW).subscription
    return {
        "confirm": urlsplit(Links(config).confirm(sub)).path,
        "unsubscribe": urlsplit(Links(config).unsubscribe(sub)).path,
        "manage": urlsplit(Links(config).manage(sub.email)).path,
    }


def sample_url(rule, links: dict) -> str:
    """A URL of the rule with real values."""
    values = {"uid": RESOLUTION, "version": "2", "week": digest_week()[0]}
    url = rule.rule
    for name, value in values.items():
        url = re.sub(rf"<(?:\w+:)?{name}>", value, url)
    for kind, path in links.items():
        prefix = {"confirm": "/theo-doi/xac-nhan/", "unsubscribe": "/theo-doi/huy/", "manage": "/theo-doi/cua-toi/"}[
            kind
        ]
        if url.startswith(prefix):
            url = path
    assert "<" not in url, url
    return url


# --- headers ---------------------------------------------------------------------------------------
def assert_security_headers(response, where):
    csp = response.headers.get("Content-Security-Policy", "")
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";") if d.strip())
    assert directives.get("script-src") == "'self'", where
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, where
    assert directives.get("frame-ancestors") == "'none'" and directives.get("object-src") == "'none'", where
    assert directives.get("default-src") == "'self'" and directives.get("form-action") == "'self'", where
    assert response.headers["X-Frame-Options"] == "DENY", where
    assert response.headers["X-Content-Type-Options"] == "nosniff", where
    assert response.headers["Referrer-Policy"] == "same-origin", where


def test_every_route_answers_with_the_security_headers(instance_copy, links):
    app = make_app(instance_copy)
    client = app.test_client()
    seen = 0
    for rule in app.url_map.iter_rules():
        url = sample_url(rule, links) if rule.endpoint != "static" else "/static/style.css"
        response = client.get(url)
        assert response.status_code in (200, 301, 302, 405), (url, response.status_code)
        assert_security_headers(response, url)
        seen += 1
    assert seen > 25
    for url, status in (
        ("/khong-co-trang-nay", 404),
        ("/api/documents/vbpl:khong", 404),
        ("/tim-kiem.csv?q=x", 200),
        ("/tim-kiem.atom?q=x", 200),
    ):
        response = client.get(url)
        assert response.status_code == status
        assert_security_headers(response, url)


def test_pages_with_links_or_drafts_are_not_cached(instance_copy, links):
    client = make_app(instance_copy).test_client()
    for url in links.values():
        assert client.get(url).headers["Cache-Control"] == "no-store", url
    assert client.get("/kiem-tra-can-cu").headers["Cache-Control"] == "no-store"
    assert "no-store" not in client.get("/tim-kiem?q=x").headers.get("Cache-Control", "")


def test_no_template_has_an_inline_script_style_or_handler():
    for path in sorted((ROOT / "web" / "templates").rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), path.name
        assert not re.search(r"\sstyle\s*=", text) and "<style" not in text, path.name
        assert not re.search(r"\son[a-z]+\s*=", text), path.name
        assert "javascript:" not in text, path.name


# --- CSRF ------------------------------------------------------------------------------------------
def test_every_post_form_of_every_page_carries_the_token(instance_copy, links, weekly_instance):
    client = make_app(instance_copy).test_client()
    urls = [
        "/tim-kiem?q=h%E1%BB%8Dc+ph%C3%AD",
        f"/van-ban/{LAW}",
        "/kiem-tra-can-cu",
        "/theo-doi/tim-kiem?q=x",
        f"/theo-doi/van-ban/{LAW}",
        "/theo-doi/ban-tin",
        *links.values(),
    ]
    forms = 0
    for url in urls:
        tree = page(client, url)
        for form in tree.select("form"):
            if form.get("method", "get").lower() == "post":
                token = form.find("input", attrs={"name": CSRF_FIELD, "type": "hidden"})
                assert token and len(token["value"]) >= 32, (url, form.get("action"))
                forms += 1
    digest = make_app(weekly_instance).test_client()
    assert page(digest, f"/van-ban-moi/tuan/{digest_week()[0]}").select_one("form[method=post] input[name=csrf_token]")
    assert forms >= len(urls)


def test_every_post_route_requires_the_token_but_the_documented_exceptions(instance_copy, links):
    app = make_app(instance_copy)
    posts = [r for r in app.url_map.iter_rules() if "POST" in r.methods]
    exempt = {r.endpoint for r in posts if getattr(app.view_functions[r.endpoint], "csrf_exempt", False)}
    assert exempt == EXEMPT
    client = app.test_client()
    page(client, "/kiem-tra-can-cu")  # a session with a token exists
    for rule in posts:
        if rule.endpoint in EXEMPT:
            continue
        url = sample_url(rule, links)
        for data in ({}, {CSRF_FIELD: "x" * 43}):
            response = client.post(url, data=data)
            assert response.status_code == 400, (url, response.status_code)
            assert "Biểu mẫu đã hết hạn" in parse(response).select_one(".error-message").get_text()
    with Store(instance_copy / "kb.sqlite") as store:
        assert [s.status for s in subs.list_subscriptions(store)] == ["pending"]  # nothing changed


def test_the_session_cookie_is_httponly_samesite_and_signed(instance_copy):
    client = make_app(instance_copy).test_client()
    response = client.get("/kiem-tra-can-cu")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    token = parse(response).find("input", attrs={"name": CSRF_FIELD})["value"]
    name, value = cookie.split(";")[0].split("=", 1)
    client.set_cookie(name, value[:-4] + "AAAA")  # tampered: not accepted
    assert client.post("/kiem-tra-can-cu", data={CSRF_FIELD: token, "text": "x"}).status_code == 400


def test_two_workers_of_one_instance_accept_each_others_forms(instance_copy):
    (instance_copy / "secret.key").unlink(missing_ok=True)
    first, second = make_app(instance_copy), make_app(instance_copy)
    assert not (instance_copy / "secret.key").exists()  # nothing written until a form is shown
    client = first.test_client()
    token = page(client, "/kiem-tra-can-cu").find("input", attrs={"name": CSRF_FIELD})["value"]
    assert (instance_copy / "secret.key").exists()
    client.application = second  # the same browser, another process
    response = client.post(
        "/kiem-tra-can-cu", data={CSRF_FIELD: token, "text": "Căn cứ Luật Giáo dục ngày 14 tháng 6 năm 2019;"}
    )
    assert response.status_code == 200
    configured = make_app(instance_copy, SECRET_KEY="khóa riêng của máy chủ").test_client()
    configured.set_cookie("session", client.get_cookie("session").value)  # signed with the other key: refused
    assert configured.post("/kiem-tra-can-cu", data={CSRF_FIELD: token, "text": "x"}).status_code == 400


# --- sizes ----------------------------------------------------------------------------------------
def test_every_post_route_refuses_an_oversized_body_with_413(instance_copy, links):
    app = make_app(instance_copy, MAX_UPLOAD_MB=0.1)
    client = app.test_client()
    body = b"a" * 300_000
    for rule in app.url_map.iter_rules():
        if "POST" not in rule.methods:
            continue
        url = sample_url(rule, links)
        for content_type in ("application/x-www-form-urlencoded", "application/json"):
            response = client.post(url, data=body, content_type=content_type)
            assert response.status_code == 413, (url, response.status_code)
            message = (
                response.get_json()["error"]
                if url.startswith("/api/")
                else parse(response).select_one(".error-message").get_text()
            )
            assert "giới hạn là 0,1 MB" in message, url
    assert client.get("/tim-kiem?q=x", data=body).status_code == 413  # a GET with a body too


# --- rate limits and the proxy ------------------------------------------------------------------------
def test_the_rate_limiter_slides_and_stays_small():
    now = [1000.0]
    limiter = RateLimiter(2, 60, max_keys=3, clock=lambda: now[0])
    assert limiter.hit("a") == 0 and limiter.hit("a") == 0
    assert limiter.hit("a") == pytest.approx(60)
    now[0] += 30
    assert limiter.hit("a") == pytest.approx(30) and limiter.hit("b") == 0
    now[0] += 31  # the first two hits left the window
    assert limiter.hit("a") == 0
    for key in "cdef":
        limiter.hit(key)
    assert len(limiter._hits) == 3 and "a" not in limiter._hits
    unlimited = RateLimiter(0, 60)
    assert all(unlimited.hit("x") == 0 for _ in range(100))


def test_behind_a_proxy_the_forwarded_address_counts_and_is_not_trusted_otherwise(kb_instance):
    direct = make_app(kb_instance, CHECK_LIMIT=1).test_client()
    assert direct.post("/api/check", json={"text": "x"}, headers={"X-Forwarded-For": "10.0.0.1"}).status_code == 200
    spoofed = direct.post("/api/check", json={"text": "x"}, headers={"X-Forwarded-For": "10.0.0.2"})
    assert spoofed.status_code == 429  # a forged header does not escape the limit
    proxied = make_app(kb_instance, CHECK_LIMIT=1, PROXY_COUNT=1).test_client()
    for address in ("10.0.0.1", "10.0.0.2"):
        assert proxied.post("/api/check", json={"text": "x"}, headers={"X-Forwarded-For": address}).status_code == 200
    assert proxied.post("/api/check", json={"text": "x"}, headers={"X-Forwarded-For": "10.0.0.1"}).status_code == 429


# --- redirects ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target, expected",
    [
        ("/theo-doi/cua-toi/abc", "/theo-doi/cua-toi/abc"),
        ("/tim-kiem?q=h%E1%BB%8Dc+ph%C3%AD#ket-qua", "/tim-kiem?q=h%E1%BB%8Dc+ph%C3%AD#ket-qua"),
        ("", "/"),
        (None, "/"),
        ("//evil.example", "/"),
        ("///evil.example", "/"),
        ("https://evil.example/", "/"),
        ("http:/evil.example", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
        ("/\t/evil.example", "/"),
        ("/\r\n/evil.example", "/"),
        ("  //evil.example", "/"),
        ("/%2F%2Fevil", "/%2F%2Fevil"),
    ],
)
def test_safe_next_keeps_redirects_on_the_site(target, expected):
    assert safe_next(target, "/") == expected
