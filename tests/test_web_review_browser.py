"""The rà soát pages in headless Chromium with JavaScript turned off, on a 360 px wide screen: the list, a
filter chosen from the form, an entry marked reviewed, the banner on the document's page — no sideways
scrolling, no console error. Screenshots go to test-artifacts/."""

import threading
from pathlib import Path

import pytest
from test_web_browser import ARTIFACTS, CHROMEDRIVER, CHROMIUM, wait
from test_web_review import A, C, build_review_instance
from web_fixtures import make_app

pytestmark = pytest.mark.skipif(
    not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()),
    reason="Chromium is not installed: apt-get install chromium chromium-driver (.ci/run installs them)",
)
WIDTH = 360


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    from waitress.server import create_server

    app = make_app(build_review_instance(tmp_path_factory.mktemp("review-browser") / "instance"))
    server = create_server(app, host="127.0.0.1", port=0, threads=4)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.effective_port}"
    server.task_dispatcher.shutdown()
    server.close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    patch = pytest.MonkeyPatch()
    patch.setenv("SE_OFFLINE", "true")  # Selenium Manager must never download anything
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
        f"--window-size={WIDTH},800",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    # headless Chromium's windows are at least 500 px wide: emulate the phone's screen instead
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": WIDTH, "height": 800, "deviceScaleFactor": 2, "mobile": True}
    )
    ARTIFACTS.mkdir(exist_ok=True)
    yield driver
    driver.quit()
    patch.undo()


def fits(driver, name: str) -> None:
    width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[1] == WIDTH, width  # the screen is a phone's
    assert width[0] <= width[1], (name, width)  # no sideways scrolling
    driver.save_screenshot(str(ARTIFACTS / f"review-{name}-{WIDTH}px.png"))


def test_review_pages_without_javascript_on_a_phone(browser, base_url):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    driver = browser
    driver.get(base_url + "/ra-soat")
    assert driver.find_element(By.TAG_NAME, "h1").text == "Văn bản của tỉnh cần rà soát"
    fits(driver, "list")
    # a filter from the form (GET, no script)
    Select(driver.find_element(By.ID, "rv-ban")).select_by_value("Ban Văn hóa – Xã hội")
    driver.find_element(By.CSS_SELECTOR, "form.review-filter button[type=submit]").click()
    wait(driver, lambda d: "ban=Ban" in d.current_url)  # the GET form's page has loaded
    links = [a.get_attribute("href") for a in driver.find_elements(By.CSS_SELECTOR, ".review-entry .hit-number")]
    assert [link.rsplit("/van-ban/", 1)[1] for link in links] == [C]
    fits(driver, "list-ban")
    # mark an entry reviewed (POST with the CSRF token, no script)
    driver.get(base_url + f"/ra-soat/van-ban/{A}")
    fits(driver, "entry")
    driver.find_element(By.CSS_SELECTOR, "input[name=verdict][value=de_xuat_sua_doi]").click()
    driver.find_element(By.ID, "rv-reviewer").send_keys("Trần Thị Bình")
    driver.find_element(By.ID, "rv-note").send_keys("Đề xuất UBND trình thay thế")
    driver.find_element(By.CSS_SELECTOR, "form.review-mark button[type=submit]").click()
    wait(driver, lambda d: "da_ghi=1" in d.current_url)  # redirected after the POST
    assert "Đã ghi nhận kết quả rà soát." in driver.find_element(By.TAG_NAME, "main").text
    history = driver.find_element(By.CSS_SELECTOR, ".review-history li").text
    assert history.startswith("Đã đề xuất sửa đổi") and "Trần Thị Bình" in history
    fits(driver, "entry-marked")
    driver.get(base_url + "/ra-soat")
    assert A not in driver.page_source.split('class="review-list"', 1)[-1]
    # the banner on a provincial document's page
    driver.get(base_url + f"/van-ban/{C}")
    assert "Văn bản cần rà soát" in driver.find_element(By.CSS_SELECTOR, ".review-banner").text
    fits(driver, "document-banner")
    severe = [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe
