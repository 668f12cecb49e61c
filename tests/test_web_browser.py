"""The web UI in a real browser: Debian's headless Chromium driven by Selenium through
/usr/bin/chromedriver (never a downloaded browser), against the app served by waitress on
127.0.0.1. It searches from the focused box, clicks a facet, opens a document, follows article
anchors, checks the phone layout, and saves screenshots under test-artifacts/."""
import shutil
import threading
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from web_fixtures import RESOLUTION, app, kb_instance  # noqa: F401

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="Chromium is not installed: apt-get install chromium chromium-driver (.ci/run installs them)",
)


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

    monkeypatch_module.setenv("SE_OFFLINE", "true")          # Selenium Manager must never download anything
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
                 "--disable-extensions", "--lang=vi", "--window-size=1366,900",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
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


def wait(driver, condition, timeout=10):
    from selenium.webdriver.support.ui import WebDriverWait
    return WebDriverWait(driver, timeout).until(condition)


def in_viewport(driver, element_id: str) -> dict:
    return driver.execute_script(
        "const r = document.getElementById(arguments[0]).getBoundingClientRect();"
        "const bar = document.querySelector('.doc-sections').getBoundingClientRect();"
        "return {top: r.top, bottom: r.bottom, height: window.innerHeight, bar: bar.bottom};", element_id)


def severe_console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def test_search_facet_document_and_article_anchor(browser, base_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    driver = browser
    driver.get(base_url + "/")
    assert driver.switch_to.active_element.get_attribute("name") == "q"     # focus starts in the search box
    driver.switch_to.active_element.send_keys("học phí", Keys.ENTER)
    wait(driver, lambda d: "q=" in d.current_url)
    assert parse_qs(urlsplit(driver.current_url).query)["q"] == ["học phí"]
    count = driver.find_element(By.CSS_SELECTOR, ".results-count").text
    assert count == "Tìm thấy 5 văn bản"
    driver.save_screenshot(str(ARTIFACTS / "browser-search.png"))

    facet = next(a for a in driver.find_elements(By.CSS_SELECTOR, 'section.facet[data-facet="loai"] a.facet-value')
                 if "Nghị quyết" in a.text)
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
    assert box["bar"] <= box["top"] < box["height"], box           # shown, and not under the sticky bar
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
    assert colour in ("rgba(165, 29, 29, 1)", "rgb(165, 29, 29)")    # red for "hết hiệu lực toàn bộ"
    driver.save_screenshot(str(ARTIFACTS / "browser-document.png"))
    assert not severe_console_errors(driver)


def test_pages_fit_a_phone_screen(browser, base_url):
    from selenium.webdriver.common.by import By

    driver = browser
    driver.set_window_size(390, 844)
    try:
        for name, url in (("search", "/tim-kiem?q=h%E1%BB%8Dc+ph%C3%AD"), ("document", f"/van-ban/{RESOLUTION}"),
                          ("recent", "/van-ban-moi?khoang=30")):
            driver.get(base_url + url)
            if name == "search":                                        # options folded: results come first
                assert driver.find_element(By.CSS_SELECTOR, "details.search-more").get_attribute("open") is None
            width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
            assert width[0] <= width[1], (name, width)                  # no sideways scrolling
            driver.save_screenshot(str(ARTIFACTS / f"browser-phone-{name}.png"))
        driver.get(base_url + f"/van-ban/{RESOLUTION}")
        toc = driver.find_element(By.CSS_SELECTOR, ".toc details")
        assert toc.get_attribute("open") is None                        # folded on a phone (app.js)
    finally:
        driver.set_window_size(1366, 900)


def test_scraped_script_does_not_run(browser, base_url):
    driver = browser
    driver.get(base_url + "/tim-kiem?q=tham+quan")
    driver.get(base_url + "/van-ban/import:xss-1")
    from selenium.common.exceptions import NoAlertPresentException
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text
    assert "<script>alert(1)</script>" in driver.find_element("css selector", "h1").text
