"""The web UI in a real browser: Debian's headless Chromium driven by Selenium through
/usr/bin/chromedriver (never a downloaded browser), against the app served by waitress on
127.0.0.1. It searches from the focused box, clicks a facet, opens a document, follows article
anchors, checks the phone layout, follows a search by e-mail and confirms it, checks a draft's legal
bases, and saves screenshots under test-artifacts/. The Content-Security-Policy is in force: any
inline script or style would show as a console error."""

import email
import email.policy
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from web_fixtures import RESOLUTION, copy_instance, digest_week, kb_instance, make_app, weekly_instance  # noqa: F401

from index import build
from kb.legal import derived
from kb.model import Document
from kb.store import Store

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="Chromium is not installed: apt-get install chromium chromium-driver (.ci/run installs them)",
)


@pytest.fixture(scope="module")
def instance(weekly_instance, tmp_path_factory):
    """A copy of the test knowledge base (with a week of news) whose e-mails go to an outbox folder."""
    folder = copy_instance(
        weekly_instance, tmp_path_factory.mktemp("browser") / "instance", '[mail]\noutbox = "outbox"\n'
    )
    with Store(folder / "kb.sqlite") as store:  # for the highlighting of "Điều 9 Luật Ngân sách nhà nước"
        store.upsert(BUDGET_LAW)
        build.update(store, folder / "index")
        derived.refresh(store)
    return folder


BUDGET_LAW = Document.from_dict(
    {
        "uid": "vbpl:96122",
        "number": "83/2015/QH13",
        "title": "Luật Ngân sách nhà nước",
        "doc_type": "Luật",
        "issuer": "Quốc hội",
        "issued": "2015-06-25",
        "effective": "2017-01-01",
        "articles": [
            {
                "number": "9",
                "heading": "Dự phòng ngân sách nhà nước",
                "text": "1. Mức bố trí dự phòng từ 2% đến 4% tổng chi ngân sách mỗi cấp. Ngân sách địa phương đủ điều "
                "kiện thì được sử dụng dự phòng theo quy định tại Điều 9 của Luật Ngân sách nhà nước.",
            },
            {"number": "10", "heading": "Quỹ dự trữ tài chính", "text": "Nhà nước lập quỹ dự trữ tài chính."},
        ],
    }
)


@pytest.fixture(scope="module")
def app(instance):
    return make_app(instance)


@pytest.fixture(scope="module")
def base_url(app):
    """The app served by waitress in a thread on a free port of 127.0.0.1."""
    from waitress.server import create_server

    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.task_dispatcher.shutdown()
    server.close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser(base_url, tmp_path_factory, monkeypatch_module):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    monkeypatch_module.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        "--lang=vi",
        "--window-size=1366,900",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    ARTIFACTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def monkeypatch_module():
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


def wait(driver, condition, timeout=20):
    """Until `condition` holds; an element of the page being left (stale) counts as "not yet"."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(
        driver, timeout, ignored_exceptions=(NoSuchElementException, StaleElementReferenceException)
    ).until(condition)


def in_viewport(driver, element_id: str) -> dict:
    return driver.execute_script(
        "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
        "const bar = document.querySelector('.doc-sections').getBoundingClientRect();"
        "return {top: r.top, bottom: r.bottom, height: window.innerHeight, bar: bar.bottom};",
        element_id,
    )


def severe_console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_search_facet_document_and_article_anchor(browser, base_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = browser
    driver.get(base_url + "/")
    assert driver.switch_to.active_element.get_attribute("name") == "q"  # focus starts in the search box
    driver.switch_to.active_element.send_keys("học phí", Keys.ENTER)
    wait(driver, lambda d: "q=" in d.current_url)
    assert parse_qs(urlsplit(driver.current_url).query)["q"] == ["học phí"]
    count = driver.find_element(By.CSS_SELECTOR, ".results-count").text
    assert count == "Tìm thấy 5 văn bản"
    driver.save_screenshot(str(ARTIFACTS / "browser-search.png"))

    facet = next(
        a
        for a in driver.find_elements(By.CSS_SELECTOR, 'section.facet[data-facet="loai"] a.facet-value')
        if "Nghị quyết" in a.text
    )
    facet.click()
    wait(driver, lambda d: "loai=" in d.current_url)
    assert parse_qs(urlsplit(driver.current_url).query) == {"q": ["học phí"], "loai": ["Nghị quyết"]}
    assert driver.find_element(By.CSS_SELECTOR, ".results-count").text == "Tìm thấy 3 văn bản"
    assert driver.find_element(By.CSS_SELECTOR, "ul.chips a.chip").text.startswith("Loại văn bản: Nghị quyết")
    driver.save_screenshot(str(ARTIFACTS / "browser-search-facet.png"))

    excerpt = driver.find_element(By.CSS_SELECTOR, f'li.hit a.excerpt[href^="/van-ban/{RESOLUTION}#"]')
    anchor = excerpt.get_attribute("href").split("#", 1)[1]
    excerpt.click()
    wait(driver, lambda d: "/van-ban/" in d.current_url)
    assert unquote(urlsplit(driver.current_url).path) == f"/van-ban/{RESOLUTION}"
    assert urlsplit(driver.current_url).fragment == anchor
    box = in_viewport(driver, anchor)
    assert box["bar"] <= box["top"] < box["height"], box  # shown, and not under the sticky bar
    assert driver.execute_script("return document.querySelector(':target').id") == anchor
    driver.save_screenshot(str(ARTIFACTS / "browser-document-anchor.png"))

    toc_link = driver.find_element(By.CSS_SELECTOR, 'nav.toc a[href="#dieu-3"]')
    toc_link.click()
    wait(driver, lambda d: urlsplit(d.current_url).fragment == "dieu-3")
    box = in_viewport(driver, "dieu-3")
    assert box["bar"] <= box["top"] < box["height"], box
    heading = driver.find_element(By.CSS_SELECTOR, "#dieu-3 .article-heading").text
    assert heading.startswith("Điều 3.") and "Tổ chức thực hiện" in heading

    driver.get(base_url + f"/van-ban/{RESOLUTION}")
    assert driver.find_element(By.CSS_SELECTOR, ".doc-status .badge").text == "Hết hiệu lực toàn bộ"
    colour = driver.find_element(By.CSS_SELECTOR, ".doc-status .badge").value_of_css_property("color")
    assert colour in ("rgba(165, 29, 29, 1)", "rgb(165, 29, 29)")  # red for "hết hiệu lực toàn bộ"
    driver.save_screenshot(str(ARTIFACTS / "browser-document.png"))
    assert not severe_console_errors(driver)


def test_pages_fit_a_phone_screen(browser, base_url):
    from selenium.webdriver.common.by import By

    driver = browser
    driver.set_window_size(390, 844)
    try:
        for name, url in (
            ("search", "/tim-kiem?q=h%E1%BB%8Dc+ph%C3%AD"),
            ("document", f"/van-ban/{RESOLUTION}"),
            ("recent", "/van-ban-moi?khoang=30"),
        ):
            driver.get(base_url + url)
            if name == "search":  # options folded: results come first
                assert driver.find_element(By.CSS_SELECTOR, "details.search-more").get_attribute("open") is None
            width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1], (name, width)  # no sideways scrolling
            driver.save_screenshot(str(ARTIFACTS / f"browser-phone-{name}.png"))
        driver.get(base_url + f"/van-ban/{RESOLUTION}")
        toc = driver.find_element(By.CSS_SELECTOR, ".toc details")
        assert toc.get_attribute("open") is None  # folded on a phone (app.js)
    finally:
        driver.set_window_size(1366, 900)


def test_highlighting_follows_what_the_query_means(browser, base_url):
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get(base_url + "/tim-kiem?q=" + "Điều 9 Luật Ngân sách nhà nước" + "&unit=article")
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, ".hit mark"))
    hit = next(h for h in driver.find_elements(By.CSS_SELECTOR, ".hit") if h.find_elements(By.TAG_NAME, "mark"))
    marks = [m.text for m in hit.find_elements(By.TAG_NAME, "mark")]
    assert "Điều 9" in marks and "Luật Ngân sách nhà nước" in marks, marks
    assert not any(m.lower() in ("điều", "nhà") for m in marks), marks  # never a lone syllable of a unit
    html = hit.get_attribute("innerHTML")
    assert "điều kiện" in re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html))  # the text is there …
    assert not re.search(r"<mark>\s*điều\s*</mark>\s*kiện", html, re.I)  # … and not marked inside "điều kiện"
    driver.save_screenshot(str(ARTIFACTS / "browser-highlight.png"))
    assert not severe_console_errors(driver)


def test_scraped_script_does_not_run(browser, base_url):
    driver = browser
    driver.get(base_url + "/tim-kiem?q=tham+quan")
    driver.get(base_url + "/van-ban/import:xss-1")
    from selenium.common.exceptions import NoAlertPresentException

    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018  (reading it raises when no alert is open)
    assert "<script>alert(1)</script>" in driver.find_element("css selector", "h1").text


def test_follow_a_search_by_email_and_confirm_it(browser, base_url, instance):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = browser
    driver.get(base_url + "/")
    driver.switch_to.active_element.send_keys("học phí", Keys.ENTER)
    wait(driver, lambda d: "q=" in d.current_url)
    box = driver.find_element(By.CSS_SELECTOR, "details#theo-doi")
    assert box.get_attribute("open") is None  # folded until wanted
    box.find_element(By.TAG_NAME, "summary").click()
    form = box.find_element(By.TAG_NAME, "form")
    form.find_element(By.NAME, "email").send_keys("ban.vhxh@laichau.gov.vn")
    form.find_element(By.NAME, "label").send_keys("Học phí – kỳ họp cuối năm")
    form.find_element(By.CSS_SELECTOR, "input[name=frequency][value=weekly]").click()
    driver.save_screenshot(str(ARTIFACTS / "browser-follow-form.png"))
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait(driver, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Kiểm tra hộp thư của bạn")
    assert driver.find_element(By.CSS_SELECTOR, ".mail-sent").text == "Đã gửi thư xác nhận tới ban.vhxh@laichau.gov.vn."
    assert "hằng tuần" in driver.find_element(By.CSS_SELECTOR, ".sub-summary").text
    driver.save_screenshot(str(ARTIFACTS / "browser-follow-sent.png"))

    [eml] = (instance / "outbox").glob("*.eml")
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    confirm = urlsplit(re.search(r"https?://\S+/theo-doi/xac-nhan/\S+", text).group(0)).path
    driver.get(base_url + confirm)
    assert driver.find_element(By.TAG_NAME, "h1").text == "Xác nhận đăng ký theo dõi"
    driver.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait(driver, lambda d: d.find_element(By.TAG_NAME, "h1").text == "Đã xác nhận")
    driver.save_screenshot(str(ARTIFACTS / "browser-follow-confirmed.png"))
    driver.find_element(By.PARTIAL_LINK_TEXT, "quản lý").click()
    wait(driver, lambda d: "/theo-doi/cua-toi/" in d.current_url)
    assert "Đang theo dõi" in driver.find_element(By.CSS_SELECTOR, "table.subs").text
    driver.save_screenshot(str(ARTIFACTS / "browser-follow-manage.png"))
    assert not severe_console_errors(driver)


DRAFT = """Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;
Căn cứ Luật Giáo dục ngày 14 tháng 6 năm 2019;
Căn cứ Nghị định số 81/2021/NĐ-CP ngày 28 tháng 8 năm 2021 của Chính phủ quy định về cơ chế thu, quản lý học phí;
Căn cứ Nghị quyết số 05/2023/NQ-HĐND ngày 20 tháng 7 năm 2023 của Hội đồng nhân dân tỉnh Lai Châu;
Xét Tờ trình số 45/TTr-UBND ngày 01 tháng 6 năm 2026 của Ủy ban nhân dân tỉnh;"""


def test_check_a_pasted_draft(browser, base_url):
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get(base_url + "/")
    driver.find_element(By.LINK_TEXT, "Kiểm tra căn cứ").click()
    wait(driver, lambda d: d.current_url.endswith("/kiem-tra-can-cu"))
    driver.find_element(By.NAME, "text").send_keys(DRAFT)
    date = driver.find_element(By.NAME, "on")
    date.clear()
    date.send_keys("01/01/2025")
    driver.save_screenshot(str(ARTIFACTS / "browser-check-form.png"))
    driver.find_element(By.CSS_SELECTOR, "form#check-form button.primary").click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, "table.report"))
    rows = driver.find_elements(By.CSS_SELECTOR, "table.report tbody tr")
    assert len(rows) == 5
    assert [r.get_attribute("class") for r in rows] == ["sev-warning", "sev-ok", "sev-error", "sev-warning", "sev-info"]
    assert "Ngày ban hành ghi trong dự thảo (28/08/2021)" in rows[2].text
    header = driver.find_element(By.CSS_SELECTOR, "table.report thead").text
    assert "Tình trạng ngày 01/01/2025" in header
    copy = driver.find_element(By.CSS_SELECTOR, "[data-copy-table]")
    assert copy.is_displayed()  # app.js ran under the CSP and offers copying
    copy.click()
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, ".copy-status").text)
    driver.save_screenshot(str(ARTIFACTS / "browser-check-report.png"))
    driver.set_window_size(360, 740)
    try:
        width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        assert width[1] <= 360 and width[0] <= width[1], width  # no sideways scrolling at 360 px
        # one card per citation: no scrolling inside the table either, and every cell within the screen,
        # "Tình trạng" and "Nhận xét" included, each under its column's name
        box = driver.find_element(By.CSS_SELECTOR, ".table-scroll")
        assert driver.execute_script("return arguments[0].scrollWidth <= arguments[0].clientWidth", box)
        head = driver.find_element(By.CSS_SELECTOR, "table.report thead")
        assert driver.execute_script("return arguments[0].getBoundingClientRect().height", head) <= 1  # read aloud only
        card = driver.find_elements(By.CSS_SELECTOR, "table.report tbody tr")[2]
        cells = card.find_elements(By.TAG_NAME, "td")
        for cell in cells:
            right = driver.execute_script("return arguments[0].getBoundingClientRect().right", cell)
            assert right <= width[1], (cell.get_attribute("data-label"), right)
        labels = [c.get_attribute("data-label") for c in cells]
        assert labels[4] == "Tình trạng ngày 01/01/2025" and labels[5] == "Nhận xét"
        label = driver.execute_script("return getComputedStyle(arguments[0], '::before').content", cells[4])
        assert label.strip('"') == "Tình trạng ngày 01/01/2025"
        driver.save_screenshot(str(ARTIFACTS / "browser-phone-check.png"))
    finally:
        driver.set_window_size(1366, 900)
    assert not severe_console_errors(driver)
    # "API" is in the footer, not in the main navigation
    nav = [a.text for a in driver.find_elements(By.CSS_SELECTOR, "nav.site-nav a")]
    assert "API" not in nav and nav[-2:] == ["Giao HĐND quy định", "Rà soát"]
    driver.find_element(By.CSS_SELECTOR, "footer .footer-links a").click()
    wait(driver, lambda d: d.current_url.endswith("/api/"))


def test_digest_and_delegations_pages(browser, base_url):
    from selenium.webdriver.common.by import By

    driver = browser
    driver.get(base_url + f"/van-ban-moi/tuan/{digest_week()[0]}")
    assert driver.find_element(By.CSS_SELECTOR, "#giao-hdnd blockquote").text.startswith("Hội đồng nhân dân cấp tỉnh")
    driver.save_screenshot(str(ARTIFACTS / "browser-digest.png"))
    driver.find_element(By.LINK_TEXT, "Giao HĐND quy định").click()
    wait(driver, lambda d: "/giao-hdnd-quy-dinh" in d.current_url)
    assert len(driver.find_elements(By.CSS_SELECTOR, "ol.delegations > li")) == 3
    driver.save_screenshot(str(ARTIFACTS / "browser-delegations.png"))
    assert not severe_console_errors(driver)
