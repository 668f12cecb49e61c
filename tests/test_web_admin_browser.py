"""The administration pages (/quan-tri/) in a real browser: Debian's headless Chromium driven through
/usr/bin/chromedriver against the app served by waitress on 127.0.0.1 (the server and browser fixtures
of test_web_browser.py), over a copy of the test knowledge base whose password is set by the real
`kb admin password --password-stdin`. Closed without a login, a wrong password refused, the dashboard,
a source turned off and written into config.toml, a subscription ended, logout by its POST button.
The Content-Security-Policy is in force: every violation is recorded (a listener added by the driver,
outside the page) and must be none; no other console error is allowed. No refresh is started (it
would use the network). Screenshots go to test-artifacts/admin-*.png."""

import json
import os
import subprocess
import sys
import tomllib
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from test_web_browser import (  # noqa: F401
    ARTIFACTS,
    CHROMEDRIVER,
    CHROMIUM,
    base_url,
    browser,
    monkeypatch_module,
    severe_console_errors,
    wait,
)
from web_fixtures import LAW, copy_instance, kb_instance, make_app  # noqa: F401

from kb import config as kbconfig
from kb.alerts import subscriptions as subs
from kb.store import Store

pytestmark = pytest.mark.skipif(
    not (Path(CHROMEDRIVER).exists() and Path(CHROMIUM).exists()),
    reason=f"{CHROMEDRIVER} or {CHROMIUM} is missing: apt-get install chromium chromium-driver (.ci/run installs them)",
)

PASSWORD = "Mật khẩu quản trị Lai Châu 2026"
LOGIN = "/quan-tri/dang-nhap"
FOLLOWER, DIGEST_READER = "ban.vhxh@laichau.gov.vn", "chuyenvien@laichau.gov.vn"
CONFIG = (
    '# the instance of the admin browser test\n[mail]\noutbox = "outbox"   # no SMTP\n\n'
    '[sources]\n# what kb refresh visits\nenabled = ["vbpl", "congbao"]\n'
    'priority = ["vbpl", "congbao", "congbao_tinh"]\n'
)
# Injected by the driver before any script of each page (CDP scripts are not bound by the page's CSP):
# every CSP violation is kept in localStorage, which outlives the navigations of the same origin.
CSP_RECORDER = """
document.addEventListener("securitypolicyviolation", function (e) {
  var seen = JSON.parse(localStorage.getItem("csp-violations") || "[]");
  seen.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " at " + e.documentURI);
  localStorage.setItem("csp-violations", JSON.stringify(seen));
});
"""


def kb_command(instance: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """The installed `kb` command (the venv's entry point, else the same CLI through this Python)."""
    script = Path(sys.executable).with_name("kb")
    command = (
        [str(script)] if script.exists() else [sys.executable, "-c", "from kbcli.main import cli; cli(prog_name='kb')"]
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    env["KB_INSTANCE"] = str(instance)
    return subprocess.run(command + list(args), input=stdin, env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def instance(kb_instance, tmp_path_factory, monkeypatch_module):
    """A copy of the test knowledge base with two sources on, two subscriptions (one followed document,
    confirmed; one weekly digest, pending) and the administrator password set from the command line."""
    for name in list(os.environ):
        if name.startswith("KB_") and name != "KB_SHARED":  # e.g. KB_SOURCES_ENABLED would win over the file
            monkeypatch_module.delenv(name)
    folder = copy_instance(kb_instance, tmp_path_factory.mktemp("admin-browser") / "instance", CONFIG)
    config = kbconfig.load(folder, environ={})
    with Store(folder / "kb.sqlite") as store:
        subs.follow_document(store, config, FOLLOWER, LAW, label="Học phí", confirmed=True)
        subs.subscribe_digest(store, config, DIGEST_READER)
    done = kb_command(folder, "admin", "password", "--password-stdin", stdin=PASSWORD + "\n")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (folder / "admin.json").exists()
    return folder


@pytest.fixture(scope="module")
def app(instance):
    return make_app(instance)


@pytest.fixture(scope="module")
def driver(browser):
    """The shared browser, recording CSP violations on every page it opens."""
    browser.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": CSP_RECORDER})
    return browser


def csp_violations(driver) -> list[str]:
    return json.loads(driver.execute_script("return localStorage.getItem('csp-violations') || '[]'"))


def console_errors(driver, *expected: str) -> list[str]:
    """Severe console messages, less those that contain one of `expected` (e.g. a 403 page's status)."""
    return [m for m in severe_console_errors(driver) if not any(e in m for e in expected)]


def path_of(driver) -> str:
    parts = urlsplit(driver.current_url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def notices(driver) -> list[str]:
    from selenium.webdriver.common.by import By

    return [n.text for n in driver.find_elements(By.CSS_SELECTOR, "p.notice")]


def log_in(driver, base_url: str) -> None:
    """Open the dashboard, logging in first when needed."""
    from selenium.webdriver.common.by import By

    driver.get(base_url + "/quan-tri/")
    if urlsplit(driver.current_url).path == LOGIN:
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        driver.find_element(By.CSS_SELECTOR, "form.admin-login button[type=submit]").click()
        wait(driver, lambda d: urlsplit(d.current_url).path == "/quan-tri/")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Quản trị"


def assert_at_login(driver, next_: str = "/quan-tri/") -> None:
    from selenium.webdriver.common.by import By

    url = urlsplit(driver.current_url)
    assert url.path == LOGIN and parse_qs(url.query).get("next") == [next_], driver.current_url
    assert driver.find_element(By.TAG_NAME, "h1").text == "Đăng nhập quản trị"
    assert not driver.find_elements(By.CSS_SELECTOR, ".admin-nav")


def test_closed_without_login_then_wrong_and_right_password(driver, base_url):
    from selenium.webdriver.common.by import By

    driver.get(base_url + "/quan-tri/")
    assert_at_login(driver)
    assert driver.execute_script("return [document.documentElement.lang, document.characterSet]") == ["vi", "UTF-8"]
    assert driver.title.startswith("Đăng nhập – Quản trị – ")
    assert driver.find_element(By.CSS_SELECTOR, "label[for=password]").text == "Mật khẩu quản trị"
    assert driver.find_element(By.CSS_SELECTOR, "form.admin-login button[type=submit]").text == "Đăng nhập"
    hint = driver.find_elements(By.CSS_SELECTOR, ".narrow p.muted")[-1].text
    assert hint == "Quên mật khẩu? Đặt mật khẩu mới trên máy chủ bằng lệnh kb admin password."
    assert driver.switch_to.active_element.get_attribute("id") == "password"  # autofocus
    driver.save_screenshot(str(ARTIFACTS / "admin-login.png"))

    driver.find_element(By.ID, "password").send_keys(PASSWORD + "x")
    driver.find_element(By.CSS_SELECTOR, "form.admin-login button[type=submit]").click()
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".error-box .error-message").text == "Mật khẩu không đúng.")
    assert urlsplit(driver.current_url).path == LOGIN
    assert driver.find_element(By.ID, "password").get_attribute("value") == ""  # not sent back
    driver.save_screenshot(str(ARTIFACTS / "admin-login-refused.png"))
    # the refusal is a 403 page, which Chromium reports in the console; nothing else is allowed
    assert console_errors(driver, LOGIN + " - Failed to load resource: the server responded with a status of 403") == []

    driver.find_element(By.ID, "password").send_keys(PASSWORD)  # `next` was kept
    driver.find_element(By.CSS_SELECTOR, "form.admin-login button[type=submit]").click()
    wait(driver, lambda d: urlsplit(d.current_url).path == "/quan-tri/")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Quản trị"
    assert [a.text for a in driver.find_elements(By.CSS_SELECTOR, ".admin-nav a")] == [
        "Tổng quan",
        "Nguồn dữ liệu",
        "Theo dõi qua e-mail",
    ]
    assert driver.find_element(By.ID, "nguon").text == "Nguồn dữ liệu"
    sources = [li.text for li in driver.find_elements(By.CSS_SELECTOR, ".admin-sources li")]
    assert sources[0].startswith("vbpl – ") and "Đang bật" in sources[0]
    assert sources[1].startswith("congbao – ") and "Đang bật" in sources[1]
    assert driver.find_element(By.ID, "theo-doi").text == "Theo dõi qua e-mail"
    counts = driver.find_element(By.CSS_SELECTOR, "#theo-doi + p").text
    assert "Đang theo dõi: 1" in counts and "Chờ xác nhận: 1" in counts
    assert driver.find_element(By.CSS_SELECTOR, "form.admin-refresh button").text == "Cập nhật ngay"  # not pressed
    driver.save_screenshot(str(ARTIFACTS / "admin-dashboard.png"))
    assert console_errors(driver) == [] and csp_violations(driver) == []


def test_turn_a_source_off(driver, base_url, instance):
    from selenium.webdriver.common.by import By

    log_in(driver, base_url)
    driver.find_element(By.LINK_TEXT, "Nguồn dữ liệu").click()
    wait(driver, lambda d: urlsplit(d.current_url).path == "/quan-tri/nguon")

    def boxes():
        return {
            b.get_attribute("value"): b.is_selected()
            for b in driver.find_elements(By.CSS_SELECTOR, "form.admin-sources-form input[name=source]")
        }

    assert boxes() == {"vbpl": True, "congbao": True, "congbao_tinh": False}
    driver.find_element(By.CSS_SELECTOR, "form.admin-sources-form input[name=source][value=congbao]").click()
    assert boxes()["congbao"] is False
    driver.find_element(By.CSS_SELECTOR, "form.admin-sources-form button[type=submit]").click()
    wait(driver, lambda d: "Đã lưu. Lần cập nhật sau sẽ lấy từ: vbpl." in notices(d))
    assert urlsplit(driver.current_url).path == "/quan-tri/nguon"
    assert boxes() == {"vbpl": True, "congbao": False, "congbao_tinh": False}
    driver.save_screenshot(str(ARTIFACTS / "admin-sources-saved.png"))

    text = (instance / "config.toml").read_text(encoding="utf-8")
    assert tomllib.loads(text)["sources"]["enabled"] == ["vbpl"]
    assert text == CONFIG.replace('enabled = ["vbpl", "congbao"]', 'enabled = ["vbpl"]')  # the rest kept

    driver.find_element(By.LINK_TEXT, "Tổng quan").click()
    wait(driver, lambda d: urlsplit(d.current_url).path == "/quan-tri/")
    sources = [li.text for li in driver.find_elements(By.CSS_SELECTOR, ".admin-sources li")]
    assert "Đang bật" in sources[0] and sources[1].startswith("congbao – ") and "Tắt" in sources[1]
    assert console_errors(driver) == [] and csp_violations(driver) == []


def test_end_a_subscription(driver, base_url, instance):
    from selenium.webdriver.common.by import By

    with Store(instance / "kb.sqlite") as store:
        followed = next(s for s in subs.list_subscriptions(store) if s.email == FOLLOWER)
    log_in(driver, base_url)
    driver.find_element(By.LINK_TEXT, "Theo dõi qua e-mail").click()
    wait(driver, lambda d: urlsplit(d.current_url).path == "/quan-tri/theo-doi")
    rows = driver.find_elements(By.CSS_SELECTOR, "table.subscriptions tbody tr")
    assert [r.find_element(By.CSS_SELECTOR, ".sub-email").text for r in rows] == [DIGEST_READER, FOLLOWER]
    row = driver.find_element(By.ID, f"muc-{followed.id}")
    assert "Luật Giáo dục" in row.text and "Ghi chú: Học phí" in row.text and "Đang theo dõi" in row.text
    driver.save_screenshot(str(ARTIFACTS / "admin-subscriptions.png"))

    row.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "form.confirm-end"))  # asks first
    assert driver.find_element(By.TAG_NAME, "h1").text == f"Kết thúc mục theo dõi số {followed.id}?"
    driver.save_screenshot(str(ARTIFACTS / "admin-subscription-confirm.png"))
    driver.find_element(By.CSS_SELECTOR, "form.confirm-end button[type=submit]").click()
    message = f"Đã kết thúc mục theo dõi số {followed.id} của {FOLLOWER}."
    wait(driver, lambda d: message in notices(d))
    assert path_of(driver) == "/quan-tri/theo-doi"
    assert not driver.find_elements(By.ID, f"muc-{followed.id}")  # the ended one is hidden
    assert [
        r.find_element(By.CSS_SELECTOR, ".sub-email").text
        for r in driver.find_elements(By.CSS_SELECTOR, "table.subscriptions tbody tr")
    ] == [DIGEST_READER]

    driver.find_element(By.LINK_TEXT, "Hiện cả mục đã hủy").click()
    wait(driver, lambda d: parse_qs(urlsplit(d.current_url).query) == {"tat-ca": ["1"]})
    row = driver.find_element(By.ID, f"muc-{followed.id}")
    assert "Đã hủy" in row.text and "bởi quản trị" in row.text
    assert not row.find_elements(By.TAG_NAME, "form")  # no second "Kết thúc"
    driver.save_screenshot(str(ARTIFACTS / "admin-subscriptions-ended.png"))
    with Store(instance / "kb.sqlite") as store:
        ended = subs.get(store, followed.id)
        pending = next(s for s in subs.list_subscriptions(store) if s.email == DIGEST_READER)
    assert ended.status == "ended" and ended.ended_by == "admin"
    assert pending.status == "pending"
    assert console_errors(driver) == [] and csp_violations(driver) == []


def test_logout_closes_the_pages_again(driver, base_url):
    from selenium.webdriver.common.by import By

    log_in(driver, base_url)
    driver.find_element(By.CSS_SELECTOR, "form.admin-logout button[type=submit]").click()
    wait(driver, lambda d: "Đã đăng xuất khỏi trang quản trị." in notices(d))
    assert path_of(driver) == LOGIN
    assert not driver.find_elements(By.CSS_SELECTOR, ".admin-nav")
    driver.save_screenshot(str(ARTIFACTS / "admin-logged-out.png"))

    driver.back()  # the dashboard is no-store: Back asks the server again
    wait(driver, lambda d: urlsplit(d.current_url).path == LOGIN)
    assert_at_login(driver)
    for url in ("/quan-tri/", "/quan-tri/nguon", "/quan-tri/theo-doi"):
        driver.get(base_url + url)
        assert_at_login(driver, next_=url)
    assert console_errors(driver) == [] and csp_violations(driver) == []
