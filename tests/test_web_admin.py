"""The administration pages (/quan-tri/) and `kb admin`: the password kept only as a hash and set from
the command line, the login (wrong passwords, throttling, session rotation, expiry, logout, safe `next`),
every admin route closed without a login, CSRF on every admin POST, the dashboard, a refresh really
started as a separate `kb refresh` process, the sources written into config.toml, ending a subscription."""

import os
import re
import stat
import tempfile
import time
import tomllib
import unicodedata
from urllib.parse import parse_qs, urlsplit

import pytest
from web_fixtures import LAW, copy_instance, free_port, kb_instance, make_app, page, parse, texts  # noqa: F401
from werkzeug.security import check_password_hash

from kb import config as kbconfig
from kb.alerts import subscriptions as subs
from kb.locks import instance_lock
from kb.store import Store
from kbcli.main import cli
from web import admin as web_admin
from web import admin_state as kbadmin
from web import create_app
from web.security import CSRF_FIELD

PASSWORD = "Hội đồng nhân dân tỉnh 2026"
LOGIN = "/quan-tri/dang-nhap"
CONFIG = '# the instance of the tests\n[mail]\noutbox = "outbox"   # no SMTP\n\n[sources]\n# what kb refresh visits\nenabled = ["vbpl", "congbao"]\npriority = ["vbpl", "congbao", "congbao_tinh"]\n'


def _admin_rules() -> list[tuple[str, str, str]]:
    """(endpoint, rule, method) of every route of the admin blueprint, read from a real app's url_map."""
    app = create_app({"INSTANCE": tempfile.mkdtemp(prefix="kb-admin-rules-"), "TESTING": True})
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            found += [(rule.endpoint, rule.rule, m) for m in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return found


ADMIN_RULES = _admin_rules()
OPEN = {"admin.login", "admin.logout"}


@pytest.fixture
def instance(kb_instance, tmp_path):
    """A writable copy of the test knowledge base, with two subscriptions and the admin password set."""
    folder = copy_instance(kb_instance, tmp_path / "instance", CONFIG)
    config = kbconfig.load(folder, environ={})
    with Store(folder / "kb.sqlite") as store:
        subs.follow_document(store, config, "ban.vhxh@laichau.gov.vn", LAW, label="Học phí", confirmed=True)
        subs.subscribe_digest(store, config, "chuyenvien@laichau.gov.vn")
    kbadmin.set_password(config, PASSWORD)
    return folder


@pytest.fixture
def app(instance):
    return make_app(instance)


@pytest.fixture
def client(app):
    return app.test_client()


def token_of(client, url: str = LOGIN) -> str:
    """The CSRF token of the session (from a page's form)."""
    tree = parse(client.get(url))
    return tree.find("input", attrs={"name": CSRF_FIELD})["value"]


def login(client, password: str = PASSWORD, next_: str = "", **kwargs):
    tree = page(client, LOGIN + (f"?next={next_}" if next_ else ""))
    form = tree.select_one("form.admin-login")
    fields = {i["name"]: i.get("value", "") for i in form.find_all("input", type="hidden")}
    fields["password"] = password
    return client.post(form["action"], data=fields, **kwargs)


@pytest.fixture
def admin(client):
    """A client logged in as the administrator."""
    response = login(client)
    assert response.status_code == 302 and response.headers["Location"] == "/quan-tri/"
    return client


def subscriptions_of(instance) -> list[subs.Subscription]:
    with Store(instance / "kb.sqlite") as store:
        return subs.list_subscriptions(store, include_ended=True)


def sample(rule: str) -> str:
    assert "<" not in rule, f"{rule}: give the admin tests a sample value for its parameter"
    return rule


# --- the password, from the command line ----------------------------------------------------------------
def test_kb_admin_password_stores_only_a_scrypt_hash_and_replaces_and_disables(tmp_path):
    from click.testing import CliRunner

    folder = tmp_path / "instance"
    runner = CliRunner()
    env = {"KB_INSTANCE": str(folder)}
    short = runner.invoke(cli, ["admin", "password", "--password-stdin"], input="ngắn quá\n", env=env)
    assert short.exit_code == 1 and "ít nhất 10 ký tự" in short.output
    assert not (folder / "admin.json").exists()

    first = runner.invoke(cli, ["admin", "password", "--password-stdin"], input=PASSWORD + "\n", env=env)
    assert first.exit_code == 0, first.output
    assert "Đã đặt mật khẩu quản trị trong" in first.output and "/quan-tri/dang-nhap" in first.output
    path = folder / "admin.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    creds = kbadmin.load_credentials(kbconfig.load(folder, environ={}))
    assert creds.password_hash.startswith("scrypt:")
    assert check_password_hash(creds.password_hash, PASSWORD)
    assert creds.verify(PASSWORD) and creds.verify(unicodedata.normalize("NFD", PASSWORD))  # typed decomposed
    assert not creds.verify(PASSWORD.upper()) and not creds.verify("") and not creds.verify(PASSWORD[:-1])

    # asked twice on a terminal; a short one is asked again at once
    second = runner.invoke(
        cli, ["admin", "password"], env=env, input="ngắn\nmột mật khẩu khác hẳn\nmột mật khẩu khác hẳn\n"
    )
    assert second.exit_code == 0, second.output
    assert "ít nhất 10 ký tự" in second.output and "Đã thay mật khẩu quản trị" in second.output
    replaced = kbadmin.load_credentials(kbconfig.load(folder, environ={}))
    assert replaced.verify("một mật khẩu khác hẳn") and not replaced.verify(PASSWORD)
    assert replaced.epoch != creds.epoch
    mismatch = runner.invoke(cli, ["admin", "password"], env=env, input="mật khẩu thứ nhất\nmật khẩu thứ hai!\n")
    assert mismatch.exit_code != 0
    assert kbadmin.load_credentials(kbconfig.load(folder, environ={})).verify("một mật khẩu khác hẳn")

    assert "Mật khẩu quản trị đặt lúc" in runner.invoke(cli, ["admin", "status"], env=env).output
    off = runner.invoke(cli, ["admin", "disable"], env=env)
    assert off.exit_code == 0 and "Đã xóa mật khẩu quản trị" in off.output and not path.exists()
    again = runner.invoke(cli, ["admin", "disable"], env=env)
    assert again.exit_code == 0 and "Chưa có mật khẩu quản trị" in again.output
    assert "Chưa có mật khẩu quản trị" in runner.invoke(cli, ["admin", "status"], env=env).output
    assert [p.name for p in folder.iterdir() if p.name.startswith(".")] == []  # no temporary file left


def test_the_password_is_nowhere_in_the_instance_nor_in_the_cookie(instance, admin):
    admin.get("/quan-tri/")
    forms = [PASSWORD, unicodedata.normalize("NFD", PASSWORD), PASSWORD.encode("utf-8").hex()]
    for path in instance.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for form in forms:
                assert form.encode("utf-8") not in data, path
    cookie = admin.get_cookie("session").value
    assert "2026" not in cookie and "scrypt" not in cookie
    text = (instance / "admin.json").read_text(encoding="utf-8")
    assert set(re.findall(r'"(\w+)":', text)) == {"version", "password_hash", "set_at", "epoch"}


# --- closed without a password ---------------------------------------------------------------------------
def test_without_a_password_nothing_is_reachable_and_the_page_says_how_to_set_one(instance):
    kbadmin.disable(kbconfig.load(instance, environ={}))
    client = make_app(instance).test_client()
    response = client.get("/quan-tri/")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == LOGIN
    tree = page(client, LOGIN)
    assert "chưa đặt mật khẩu quản trị" in tree.select_one(".admin-closed").get_text()
    assert tree.select_one(".admin-closed code").get_text() == "KB_INSTANCE"
    assert "kb admin password" in texts(tree.select(".admin-closed pre"))
    assert not tree.select("input[type=password]") and not tree.select(".admin-nav")
    token = token_of(client, "/kiem-tra-can-cu")
    for password in (PASSWORD, "", "x" * 20):
        response = client.post(LOGIN, data={CSRF_FIELD: token, "password": password})
        assert response.status_code == 403
        assert "chưa đặt mật khẩu" in parse(response).get_text()
        assert client.get("/quan-tri/nguon").status_code == 302


def test_a_damaged_password_file_keeps_the_administration_closed(instance, admin):
    (instance / "admin.json").write_text("{ không phải JSON", encoding="utf-8")
    assert admin.get("/quan-tri/").status_code == 302  # the open session ends too
    tree = page(admin, LOGIN)
    assert "bị hỏng" in tree.select_one(".admin-closed").get_text()
    token = token_of(admin, "/kiem-tra-can-cu")
    assert admin.post(LOGIN, data={CSRF_FIELD: token, "password": PASSWORD}).status_code == 403


# --- every route closed without the login ---------------------------------------------------------------
def test_the_admin_blueprint_has_the_expected_routes():
    endpoints = {endpoint for endpoint, _, _ in ADMIN_RULES}
    assert {
        "admin.dashboard",
        "admin.refresh",
        "admin.sources",
        "admin.subscriptions",
        "admin.end_subscription",
    } | OPEN <= endpoints
    assert OPEN == web_admin.OPEN_ENDPOINTS


@pytest.mark.parametrize(
    "endpoint, rule, method",
    [r for r in ADMIN_RULES if r[0] not in OPEN],
    ids=[f"{m} {r}" for e, r, m in ADMIN_RULES if e not in OPEN],
)
def test_every_admin_route_refuses_without_login(instance, client, endpoint, rule, method):
    url = sample(rule)
    config_before = (instance / "config.toml").read_text(encoding="utf-8")
    if method == "GET":
        response = client.get(url + "?tat-ca=1")
        assert response.status_code == 302
        location = urlsplit(response.headers["Location"])
        assert location.path == LOGIN and parse_qs(location.query)["next"] == [url + "?tat-ca=1"]
    else:
        token = token_of(client)  # a session with a CSRF token, not logged in
        response = client.post(url, data={CSRF_FIELD: token, "id": "1", "source": "vbpl"})
        assert response.status_code == 403, (url, response.status_code)
        assert "Cần đăng nhập quản trị" in parse(response).select_one(".error-message").get_text()
    assert response.headers["Cache-Control"] == "no-store"
    assert (instance / "config.toml").read_text(encoding="utf-8") == config_before
    assert [s.status for s in subscriptions_of(instance)] == ["active", "pending"]
    assert not (instance / kbadmin.REFRESH_LOG).exists()


@pytest.mark.parametrize(
    "endpoint, rule, method",
    [r for r in ADMIN_RULES if r[2] == "POST"],
    ids=[f"POST {r}" for e, r, m in ADMIN_RULES if m == "POST"],
)
def test_every_admin_post_requires_the_csrf_token_even_when_logged_in(instance, admin, endpoint, rule, method):
    config_before = (instance / "config.toml").read_text(encoding="utf-8")
    for data in ({}, {CSRF_FIELD: "x" * 43}):
        response = admin.post(sample(rule), data={**data, "id": "1", "source": "vbpl", "password": PASSWORD})
        assert response.status_code == 400, (rule, response.status_code)
        assert "Biểu mẫu đã hết hạn" in parse(response).select_one(".error-message").get_text()
    assert (instance / "config.toml").read_text(encoding="utf-8") == config_before
    assert [s.status for s in subscriptions_of(instance)] == ["active", "pending"]
    assert not (instance / kbadmin.REFRESH_LOG).exists()
    assert admin.get("/quan-tri/").status_code == 200  # still logged in: not a logout


def test_the_json_api_is_untouched_by_the_login(client):
    assert client.get("/api/search?q=h%E1%BB%8Dc+ph%C3%AD").status_code == 200
    assert client.get(f"/api/documents/{LAW}").status_code == 200


# --- the login ---------------------------------------------------------------------------------------------
def test_login_rotates_the_session_and_the_pages_open(client):
    before = token_of(client)
    response = login(client, next_="/quan-tri/theo-doi")
    assert response.status_code == 302 and response.headers["Location"] == "/quan-tri/theo-doi"
    tree = page(client, "/quan-tri/")
    after = tree.find("input", attrs={"name": CSRF_FIELD})["value"]
    assert after != before  # a new session at login
    assert client.post("/quan-tri/cap-nhat", data={CSRF_FIELD: before}).status_code == 400  # the old token is gone
    assert texts(tree.select(".admin-nav a")) == ["Tổng quan", "Nguồn dữ liệu", "Theo dõi qua e-mail"]
    assert tree.select_one("meta[name=robots]")["content"] == "noindex, nofollow"
    assert client.get(LOGIN).headers["Location"] == "/quan-tri/"  # already logged in


def test_a_wrong_password_is_refused(instance, client):
    response = login(client, password=PASSWORD + "x")
    assert response.status_code == 403
    assert parse(response).select_one(".error-message").get_text() == "Mật khẩu không đúng."
    assert client.get("/quan-tri/").status_code == 302
    for wrong in ("", " " * 12, PASSWORD.lower()):
        assert login(client, password=wrong).status_code == 403


def test_failed_logins_are_throttled_per_address_with_429(instance):
    app = make_app(instance, ADMIN_LOGIN_LIMIT=3, ADMIN_LOGIN_WINDOW=600)
    client = app.test_client()
    for _ in range(3):
        assert login(client, password="không phải mật khẩu").status_code == 403
    blocked = login(client)  # even the right one, once blocked
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    message = parse(blocked).select_one(".error-message").get_text()
    assert message.startswith("Bạn đã đăng nhập sai quá nhiều lần") and "phút" in message
    assert client.get("/quan-tri/").status_code == 302
    other = app.test_client()  # another address is not blocked
    response = login(other, environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert response.status_code == 302 and response.headers["Location"] == "/quan-tri/"
    for _ in range(4):  # successes are not counted
        assert login(app.test_client(), environ_base={"REMOTE_ADDR": "10.0.0.7"}).status_code == 302


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/quan-tri/theo-doi", "/quan-tri/theo-doi"),
        ("/quan-tri/theo-doi?tat-ca=1", "/quan-tri/theo-doi?tat-ca=1"),
        ("//evil.example/quan-tri/", "/quan-tri/"),
        ("https://evil.example/", "/quan-tri/"),
        ("/\\evil.example", "/quan-tri/"),
        ("\\\\evil.example", "/quan-tri/"),
        ("javascript:alert(1)", "/quan-tri/"),
        ("http:/evil.example", "/quan-tri/"),
        ("evil.example", "/quan-tri/"),
        ("/\t/evil.example", "/quan-tri/"),
    ],
)
def test_next_only_leads_to_a_path_of_this_site(client, target, expected):
    tree = page(
        client,
        LOGIN
        + "?"
        + f"next={target}".replace("?", "%3F").replace("&", "%26").replace("\\", "%5C").replace("\t", "%09"),
    )
    form = tree.select_one("form.admin-login")
    fields = {i["name"]: i.get("value", "") for i in form.find_all("input", type="hidden")}
    fields.update(password=PASSWORD, next=target)
    response = client.post(LOGIN, data=fields)
    assert response.status_code == 302 and response.headers["Location"] == expected


def test_the_session_expires_after_the_lifetime(instance, admin, monkeypatch):
    assert admin.get("/quan-tri/").status_code == 200
    start = time.time()
    monkeypatch.setattr(web_admin, "now", lambda: start + 7.9 * 3600)
    assert admin.get("/quan-tri/").status_code == 200
    monkeypatch.setattr(web_admin, "now", lambda: start + 8 * 3600 + 5)
    response = admin.get("/quan-tri/theo-doi")
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == LOGIN
    monkeypatch.setattr(web_admin, "now", time.time)
    tree = page(admin, response.headers["Location"])
    assert "Phiên đăng nhập quản trị đã hết hạn" in " ".join(texts(tree.select(".notice")))
    assert admin.get("/quan-tri/").status_code == 302  # the expired login is gone for good


def test_a_new_password_ends_every_open_session(instance, admin):
    assert admin.get("/quan-tri/").status_code == 200
    kbadmin.set_password(kbconfig.load(instance, environ={}), PASSWORD)  # even the same password
    assert admin.get("/quan-tri/").status_code == 302
    assert login(admin).status_code == 302 and admin.get("/quan-tri/").status_code == 200
    kbadmin.disable(kbconfig.load(instance, environ={}))
    assert admin.get("/quan-tri/").status_code == 302


def test_logout_is_a_post_and_ends_the_session(admin):
    tree = page(admin, "/quan-tri/")
    assert admin.get("/quan-tri/dang-xuat").status_code == 405
    form = tree.select_one("form.admin-logout")
    token = form.find("input", attrs={"name": CSRF_FIELD})["value"]
    response = admin.post(form["action"], data={CSRF_FIELD: token})
    assert response.status_code == 302 and response.headers["Location"] == LOGIN
    assert "Đã đăng xuất" in " ".join(texts(page(admin, LOGIN).select(".notice")))
    assert admin.get("/quan-tri/").status_code == 302


def test_the_session_cookie_is_secure_over_https_only(instance):
    app = make_app(instance)
    plain = app.test_client()
    cookie = login(plain).headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = app.test_client()
    page_ = secure.get(LOGIN, base_url="https://vanban.laichau.example")
    assert "Secure" in page_.headers["Set-Cookie"]
    token = parse(page_).find("input", attrs={"name": CSRF_FIELD})["value"]
    response = secure.post(
        LOGIN, data={CSRF_FIELD: token, "password": PASSWORD}, base_url="https://vanban.laichau.example"
    )
    assert response.status_code == 302 and "Secure" in response.headers["Set-Cookie"]


# --- the dashboard ---------------------------------------------------------------------------------------
def test_the_dashboard_shows_sources_runs_and_subscriptions(instance, admin):
    with Store(instance / "kb.sqlite") as store:
        first = store.start_run("vbpl")
        store.finish_run(first, {"seen": 120, "new": 7, "changed": 2, "failed": 0})
        second = store.start_run("congbao")
        store.finish_run(second, {"seen": 3, "new": 0, "changed": 0, "failed": 1}, error="congbao: cannot connect")
        store.start_run("vbpl")  # killed: never finished
    tree = page(admin, "/quan-tri/")
    assert tree.h1.get_text(strip=True) == "Quản trị"
    rows = [texts(tr.select("td")) for tr in tree.select("table.runs tbody tr")]
    assert [(r[0], r[-1].split()[0]) for r in rows] == [("vbpl", "Bị"), ("congbao", "Lỗi"), ("vbpl", "Xong")]
    assert rows[2][3:7] == ["120", "7", "2", "0"] and "cannot connect" in rows[1][-1]
    sources = texts(tree.select(".admin-sources li"))
    assert sources[0].startswith("vbpl – Cơ sở dữ liệu quốc gia") and "Đang bật" in sources[0]
    assert "Đang bật" in sources[1]
    assert "Tắt" in sources[2] and "gazette.base_url" in sources[2]
    summary = tree.select_one("#theo-doi").find_next("p").get_text(" ", strip=True)
    assert "Chờ xác nhận: 1" in summary and "Đang theo dõi: 1" in summary and "Đã hủy: 0" in summary
    assert tree.select_one("form.admin-refresh button").get_text(strip=True) == "Cập nhật ngay"


def test_the_dashboard_of_an_empty_instance(tmp_path):
    folder = tmp_path / "empty"
    kbadmin.set_password(kbconfig.load(folder, environ={}), PASSWORD)
    client = make_app(folder).test_client()
    assert login(client).status_code == 302
    for url in ("/quan-tri/", "/quan-tri/nguon", "/quan-tri/theo-doi"):
        page(client, url)
    assert not (folder / "kb.sqlite").exists()  # the administration creates no store


# --- refresh ---------------------------------------------------------------------------------------------
def wait_for(predicate, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail("timed out")


def test_refresh_starts_kb_refresh_as_a_separate_process(instance, app, admin, monkeypatch):
    """The refresh runs `kb refresh` for real, against a local port where nothing listens (no network):
    the source fails at once, and the run is recorded in the store."""
    port = free_port()
    (instance / "config.toml").write_text(
        f'[sources]\nenabled = ["congbao"]\n[congbao]\nbase_url = "http://127.0.0.1:{port}"\n'
        "[http]\nretries = 0\ndelay = 0\ntimeout = 5\n",
        encoding="utf-8",
    )
    for name in list(os.environ):
        if name.startswith("KB_") and name != "KB_SHARED":
            monkeypatch.delenv(name)
    tree = page(admin, "/quan-tri/")
    form = tree.select_one("form.admin-refresh")
    token = form.find("input", attrs={"name": CSRF_FIELD})["value"]
    response = admin.post(form["action"], data={CSRF_FIELD: token})
    assert response.status_code == 302 and response.headers["Location"] == "/quan-tri/"
    child = app.extensions["kb_admin"].child
    assert child is not None and child.pid != os.getpid()
    notice = " ".join(texts(page(admin, "/quan-tri/").select(".notice")))
    assert f"Đã bắt đầu cập nhật từ các nguồn (tiến trình {child.pid})" in notice

    def finished_run():
        with Store(instance / "kb.sqlite") as store:
            runs = [r for r in store.runs() if r["source"] == "congbao" and r["finished"]]
        return runs[0] if runs else None

    run = wait_for(finished_run)
    assert run["error"] and "congbao" in run["error"]
    child.wait(timeout=60)
    log = instance / kbadmin.REFRESH_LOG
    wait_for(lambda: web_admin.LOG_END in log.read_text(encoding="utf-8"))
    text = log.read_text(encoding="utf-8")
    assert text.startswith(web_admin.LOG_START) and "congbao: " in text and "exit status 1" in text
    tree = page(admin, "/quan-tri/")
    row = texts(tree.select("table.runs tbody tr")[0].select("td"))
    assert row[0] == "congbao" and row[-1].startswith("Lỗi")
    assert "exit status 1" in tree.select_one(".admin-log pre").get_text()
    assert tree.select_one("form.admin-refresh")  # may start again


def test_no_second_refresh_while_one_runs(instance, app, admin):
    config = kbconfig.load(instance, environ={})
    token = page(admin, "/quan-tri/").find("input", attrs={"name": CSRF_FIELD})["value"]
    with instance_lock(config, "refresh", "kb refresh"):  # what `kb refresh` holds while it runs
        tree = page(admin, "/quan-tri/")
        assert f"Đang cập nhật từ các nguồn (tiến trình {os.getpid()})" in " ".join(texts(tree.select(".notice")))
        assert not tree.select("form.admin-refresh")
        response = admin.post("/quan-tri/cap-nhat", data={CSRF_FIELD: token})
        assert response.status_code == 302
        assert "đang chạy" in " ".join(texts(page(admin, "/quan-tri/").select(".notice")))
    assert app.extensions["kb_admin"].child is None
    assert not (instance / kbadmin.REFRESH_LOG).exists()
    assert kbadmin.refresh_running(config) is None
    assert page(admin, "/quan-tri/").select_one("form.admin-refresh")


# --- sources ---------------------------------------------------------------------------------------------
def sources_form(client):
    tree = page(client, "/quan-tri/nguon")
    form = tree.select_one("form.admin-sources-form")
    return tree, form, form.find("input", attrs={"name": CSRF_FIELD})["value"]


def test_sources_are_enabled_and_disabled_in_config_toml(instance, admin):
    tree, form, token = sources_form(admin)
    boxes = {i["value"]: i.has_attr("checked") for i in form.select("input[type=checkbox][name=source]")}
    assert boxes == {"vbpl": True, "congbao": True, "congbao_tinh": False}
    assert "chưa đặt" in form.get_text() and "gazette.base_url" in form.get_text()
    mode = stat.S_IMODE((instance / "config.toml").stat().st_mode)
    response = admin.post("/quan-tri/nguon", data={CSRF_FIELD: token, "source": ["congbao_tinh", "vbpl"]})
    assert response.status_code == 302 and response.headers["Location"] == "/quan-tri/nguon"
    text = (instance / "config.toml").read_text(encoding="utf-8")
    assert text == CONFIG.replace(
        'enabled = ["vbpl", "congbao"]', 'enabled = ["vbpl", "congbao_tinh"]'
    )  # comments kept
    assert stat.S_IMODE((instance / "config.toml").stat().st_mode) == mode
    assert kbconfig.load(instance, environ={}).get("sources", "enabled") == ["vbpl", "congbao_tinh"]
    tree, form, token = sources_form(admin)
    assert "Đã lưu. Lần cập nhật sau sẽ lấy từ: vbpl, congbao_tinh." in " ".join(texts(tree.select(".notice")))
    assert {i["value"] for i in form.select("input[checked]")} == {"vbpl", "congbao_tinh"}
    assert admin.post("/quan-tri/nguon", data={CSRF_FIELD: token}).status_code == 302  # none: allowed
    assert tomllib.loads((instance / "config.toml").read_text(encoding="utf-8"))["sources"]["enabled"] == []
    assert "Không nguồn nào được bật" in " ".join(texts(page(admin, "/quan-tri/nguon").select(".notice")))


def test_an_unknown_source_or_an_uneditable_file_changes_nothing(instance, admin):
    _, _, token = sources_form(admin)
    before = (instance / "config.toml").read_text(encoding="utf-8")
    response = admin.post("/quan-tri/nguon", data={CSRF_FIELD: token, "source": ["vbpl", "evil"]})
    assert response.status_code == 400
    assert "Không có nguồn evil" in parse(response).select_one(".error-message").get_text()
    assert (instance / "config.toml").read_text(encoding="utf-8") == before
    inline = 'sources = { enabled = ["vbpl"] }\n'  # valid TOML that cannot be edited line by line
    (instance / "config.toml").write_text(inline, encoding="utf-8")
    response = admin.post("/quan-tri/nguon", data={CSRF_FIELD: token, "source": ["congbao"]})
    assert response.status_code == 400
    assert "Không tự sửa được tệp cấu hình" in parse(response).select_one(".error-message").get_text()
    assert (instance / "config.toml").read_text(encoding="utf-8") == inline
    assert [p.name for p in instance.iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", '[sources]\nenabled = ["vbpl"]\n'),
        ('[site]\nurl = "https://x.example"', '[site]\nurl = "https://x.example"\n\n[sources]\nenabled = ["vbpl"]\n'),
        ('[sources]\npriority = ["congbao"]\n', '[sources]\nenabled = ["vbpl"]\npriority = ["congbao"]\n'),
        (
            '[sources]\nenabled = [\n  "congbao",  # national\n  "congbao_tinh",\n]\n[http]\ndelay = 2\n',
            '[sources]\nenabled = ["vbpl"]\n[http]\ndelay = 2\n',
        ),
    ],
)
def test_set_enabled_sources_changes_one_line(tmp_path, text, expected):
    (tmp_path / "config.toml").write_text(text, encoding="utf-8")
    kbadmin.set_enabled_sources(kbconfig.load(tmp_path, environ={}), ["vbpl"])
    assert (tmp_path / "config.toml").read_text(encoding="utf-8") == expected


def test_the_admin_source_list_is_the_scrapers_registry():
    from scrapers import SOURCES

    assert list(kbadmin.sources()) == list(SOURCES)
    for name, cls in SOURCES.items():
        assert kbadmin.sources()[name].section == (cls.config_section or name), name


# --- subscriptions ---------------------------------------------------------------------------------------
def test_every_subscription_is_listed_and_one_can_be_ended(instance, admin):
    tree = page(admin, "/quan-tri/theo-doi")
    rows = tree.select("table.subscriptions tbody tr")
    assert len(rows) == 2
    digest, document = (texts(r.select("td")) for r in rows)  # newest first
    assert document[1:3] == ["ban.vhxh@laichau.gov.vn", "Văn bản"]
    assert "Luật Giáo dục" in document[3] and "Ghi chú: Học phí" in document[3]
    assert (
        document[4] == "hằng ngày"
        and document[5] == "Đang theo dõi"
        and re.match(r"\d\d:\d\d \d\d/\d\d/20\d\d", document[6])
    )
    assert digest[1:3] == ["chuyenvien@laichau.gov.vn", "Bản tin tuần"] and digest[5] == "Chờ xác nhận"
    assert rows[1].select_one("td.sub-what a")["href"] == f"/van-ban/{LAW}"
    form = rows[1].select_one("form")
    fields = {i["name"]: i["value"] for i in form.find_all("input", type="hidden")}
    # "Kết thúc" asks first (a page, no JavaScript needed): nothing has ended yet
    asked = admin.post(form["action"], data=fields)
    assert asked.status_code == 200
    question = parse(asked)
    assert question.h1.get_text(strip=True) == f"Kết thúc mục theo dõi số {fields['id']}?"
    assert question.select_one(".sub-email").get_text(strip=True) == "ban.vhxh@laichau.gov.vn"
    assert question.select_one("a.button")["href"] == "/quan-tri/theo-doi"
    assert [s.status for s in subscriptions_of(instance)] == ["active", "pending"]
    confirm = question.select_one("form.confirm-end")
    fields = {i["name"]: i["value"] for i in confirm.find_all("input", type="hidden")}
    assert fields["xac-nhan"] == "1"
    response = admin.post(confirm["action"], data=fields)
    assert response.status_code == 302 and response.headers["Location"] == "/quan-tri/theo-doi"
    ended = [s for s in subscriptions_of(instance) if s.email == "ban.vhxh@laichau.gov.vn"][0]
    assert ended.status == "ended" and ended.ended_by == "admin"
    tree = page(admin, "/quan-tri/theo-doi")
    assert f"Đã kết thúc mục theo dõi số {ended.id} của ban.vhxh@laichau.gov.vn." in texts(tree.select(".notice"))
    assert len(tree.select("table.subscriptions tbody tr")) == 1
    everything = page(admin, "/quan-tri/theo-doi?tat-ca=1")
    row = everything.select_one(f"tr#muc-{ended.id}")
    assert "Đã hủy" in row.get_text() and "bởi quản trị" in row.get_text() and not row.select("form")
    response = admin.post("/quan-tri/theo-doi/ket-thuc", data=fields)  # twice: nothing more
    assert response.status_code == 302
    assert "đã kết thúc từ trước" in " ".join(texts(page(admin, "/quan-tri/theo-doi").select(".notice")))
    for bad, status in (("999", 404), ("abc", 400), ("", 400)):
        response = admin.post("/quan-tri/theo-doi/ket-thuc", data={**fields, "id": bad})
        assert response.status_code == status, bad
    assert [s.status for s in subscriptions_of(instance)] == ["ended", "pending"]


def test_a_config_toml_broken_while_serving_is_shown_to_the_administrator(instance, admin):
    path = instance / "config.toml"
    path.write_text(path.read_text(encoding="utf-8") + '\n[refresh]\nstop_after = "năm mươi"\n', encoding="utf-8")
    response = admin.get("/quan-tri/")
    assert response.status_code == 500
    message = parse(response).select_one("main").get_text(" ", strip=True)
    assert "refresh.stop_after" in message and "config.toml" in message and "phải là một số nguyên" in message
