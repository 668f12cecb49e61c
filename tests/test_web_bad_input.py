"""Bad input never gives a 500: every page answers a normal page (saying what was ignored or what
is wrong), and the API a 400 JSON error naming the parameter."""

import pytest
from bs4 import BeautifulSoup
from web_fixtures import LAW, app, client, kb_instance, page  # noqa: F401

# (raw query string, what the API must say: None for a 200, else a word of its 400 message)
CASES = [
    ("q=%22h%E1%BB%8Dc+ph%C3%AD", None),  # "học phí   (unbalanced quote)
    ("q=-", None),  # a lone minus
    ("q=--+-+%22%22+OR", None),
    ("q=" + "x" * 10_000, "quá dài"),
    ("q=" + "h%E1%BB%8Dc+" * 2_000, "quá dài"),
    ("q=%00%01%07%1B%5B31m+h%E1%BB%8Dc", None),  # control characters
    ("q=%FF%FE%ED%A0%80", None),  # not UTF-8
    ("q=loai%3A%22%22", "loai"),  # a field without a value
    ("q=foo%3Abar", "foo"),  # an unknown field
    ("q=nam%3Aabcd", "abcd"),
    ("q=ngay%3A31%2F02%2F2025", "31/02/2025"),
    ("q=so%3Aabc", "abc"),
    ("q=((*%3F%5C))", None),
    ("loai=Kh%C3%B4ng+c%C3%B3", None),  # an unknown facet value: no results
    ("coquan=" + "a" * 5_000, None),
    ("hieuluc=bogus", "hieuluc"),
    ("nam=abc", "nam"),
    ("nam=99999", "nam"),
    ("page=-1", "page"),
    ("page=abc", "page"),
    ("page=0", "page"),
    ("page=1e3", "page"),
    ("page=" + "9" * 5_000, "page"),
    ("page=%D9%A1", "page"),  # an Arabic-Indic digit
    ("limit=abc", "limit"),
    ("limit=0", "limit"),
    ("limit=100000", "limit"),
    ("sort=bogus", "sort"),
    ("unit=paragraph", "unit"),
    ("tu=abc", "tu"),
    ("tu=2025-13-45", "tu"),
    ("tu=2025-06-01&den=2025-01-01", "tu"),
    ("q=x&" + "&".join(f"loai=v{i}" for i in range(500)), None),
]
IDS = [c[0][:40] for c in CASES]


@pytest.mark.parametrize("raw,problem", CASES, ids=IDS)
def test_search_page_is_a_normal_page(client, raw, problem):
    response = client.get("/tim-kiem?" + raw)
    assert response.status_code in (200, 400), response.status_code
    tree = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert tree.select_one("form.search-form input[name=q]").has_attr("autofocus")
    if response.status_code == 400:
        message = tree.select_one(".error-box .error-message").get_text()
        assert problem and problem in message
    elif problem and problem not in ("limit",):  # ignored on pages, and said so
        said = " ".join(n.get_text() for n in tree.select("p.notice"))
        assert problem in said, said


@pytest.mark.parametrize("raw,problem", CASES, ids=IDS)
def test_api_answers_200_or_a_400_saying_what_is_wrong(client, raw, problem):
    response = client.get("/api/search?" + raw)
    assert response.mimetype == "application/json"
    body = response.get_json()
    if problem is None:
        assert response.status_code == 200, body
        assert isinstance(body["hits"], list)
    else:
        assert response.status_code == 400, body
        assert body["status"] == 400 and problem in body["error"]


@pytest.mark.parametrize("raw,problem", CASES, ids=IDS)
def test_feed_csv_and_recent_never_fail(client, raw, problem):
    for url in ("/tim-kiem.atom?", "/tim-kiem.csv?", "/van-ban-moi?", "/van-ban-moi.atom?", "/?"):
        response = client.get(url + raw)
        assert response.status_code in (200, 400), (url, response.status_code)


def test_unknown_facet_value_is_an_empty_result_not_an_error(client):
    body = client.get("/api/search?q=học+phí&loai=Không+có").get_json()
    assert body["total"] == 0 and body["hits"] == []


def test_unbalanced_quote_still_searches(client):
    tree = page(client, '/tim-kiem?q="học+phí')
    assert tree.select("li.hit")


def test_long_query_message_is_shown_on_the_page(client):
    tree = page(client, "/tim-kiem?q=" + "x" * 10_000, status=400)
    assert "Câu truy vấn quá dài (10000 ký tự)" in tree.select_one(".error-message").get_text()
    assert tree.select_one("input[name=q]")["value"] == "x" * 10_000  # kept, so it can be shortened


@pytest.mark.parametrize(
    "path,status",
    [
        ("/van-ban/%00", 404),
        ("/van-ban/" + "x" * 5_000, 404),
        ("/van-ban/../../etc/passwd", 404),
        ("/van-ban/%FF%FE", 404),
        (f"/van-ban/{LAW}/phien-ban/abc", 404),
        (f"/van-ban/{LAW}/phien-ban/-1", 404),
        (f"/van-ban/{LAW}/phien-ban/99999999999999999999", 404),
        ("/khong-co-trang-nay", 404),
    ],
)
def test_odd_paths_are_404_pages(client, path, status):
    tree = page(client, path, status=status)
    assert tree.select_one("form.search-form input[name=q]")


@pytest.mark.parametrize("path", ["/api/documents/%00", "/api/documents/" + "x" * 5_000, "/api/khong-co"])
def test_odd_api_paths_are_json_404s(client, path):
    response = client.get(path)
    assert response.status_code == 404 and response.get_json()["status"] == 404


def test_wrong_method_is_a_405_page(client):
    response = client.post("/tim-kiem", data={"q": "x"})
    assert response.status_code == 405
    assert client.post("/api/search").get_json()["status"] == 405


# --- the pages added for alerts, the checker and the delegation tracker ------------------------------
@pytest.mark.parametrize("raw,problem", CASES, ids=IDS)
def test_follow_and_delegation_pages_never_fail(client, raw, problem):
    for url in ("/theo-doi/tim-kiem?", "/giao-hdnd-quy-dinh?"):
        response = client.get(url + raw)
        assert response.status_code in (200, 400), (url, response.status_code)
        assert response.mimetype == "text/html"
    response = client.get("/api/delegations?" + raw)
    assert (
        response.status_code in (200, 400)
        and response.get_json()["status" if response.status_code == 400 else "count"] is not None
    )


@pytest.fixture(scope="module")
def writable_client(kb_instance, tmp_path_factory):
    from web_fixtures import copy_instance, make_app

    folder = copy_instance(
        kb_instance, tmp_path_factory.mktemp("bad-input") / "instance", '[mail]\noutbox = "outbox"\n'
    )
    return make_app(folder, SUBSCRIBE_LIMIT=0, CHECK_LIMIT=0).test_client()


@pytest.mark.parametrize("raw,problem", CASES[::3], ids=IDS[::3])
def test_subscribing_to_any_search_is_a_page_or_a_refusal(writable_client, raw, problem):
    token = page(writable_client, "/kiem-tra-can-cu").find("input", attrs={"name": "csrf_token"})["value"]
    response = writable_client.post("/theo-doi/tim-kiem?" + raw, data={"csrf_token": token, "email": "a@b.vn"})
    assert response.status_code in (200, 400), response.status_code
    tree = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert tree.h1.get_text(strip=True) in (
        "Kiểm tra hộp thư của bạn",
        "Bạn đã theo dõi mục này",
        "Theo dõi tìm kiếm này",
    )


@pytest.mark.parametrize(
    "data",
    [
        {"email": "a@b.vn", "label": "\x00\x1b[31m", "frequency": "daily"},
        {"email": "a@b.vn\r\nBcc: x@y.vn"},
        {"email": "a" * 10_000 + "@b.vn"},
        {"email": "ä@b.vn"},
        {"email": ["a@b.vn", "c@d.vn"]},
        {"frequency": "\x00"},
    ],
)
def test_odd_subscription_fields_are_refused_or_cleaned(writable_client, data):
    token = page(writable_client, "/kiem-tra-can-cu").find("input", attrs={"name": "csrf_token"})["value"]
    response = writable_client.post(f"/theo-doi/van-ban/{LAW}", data={"csrf_token": token, **data})
    assert response.status_code in (200, 400)
    if "\r\n" in str(data.get("email")) or "ä" in str(data.get("email")):
        assert response.status_code == 400


@pytest.mark.parametrize(
    "text, on",
    [
        ("\x00" * 1000, ""),
        ("Căn cứ " * 10_000, "01/01/2025"),
        ("Căn cứ Luật số /QH; Nghị định số ;;; ngày 99 tháng 99 năm 9999", ""),
        ("Căn cứ Luật Giáo dục ngày 14 tháng 6 năm 2019;", "\x00"),
        ("Căn cứ", "9999-99-99"),
        ("Căn cứ", "0/0/0"),
        ("\ud800" if False else "Điều 5 " * 5000, "01/01/0001"),
    ],
)
def test_any_pasted_text_or_date_is_a_report_or_a_refusal(writable_client, text, on):
    token = page(writable_client, "/kiem-tra-can-cu").find("input", attrs={"name": "csrf_token"})["value"]
    response = writable_client.post("/kiem-tra-can-cu", data={"csrf_token": token, "text": text, "on": on})
    assert response.status_code in (200, 400), response.status_code
    api = writable_client.post("/api/check", json={"text": text, "on": on or None})
    assert api.status_code in (200, 400) and api.mimetype == "application/json"


@pytest.mark.parametrize(
    "path,status",
    [
        ("/theo-doi/xac-nhan/%00", 400),
        ("/theo-doi/huy/" + "x" * 5_000, 400),
        ("/theo-doi/cua-toi/.", 400),
        ("/theo-doi/cua-toi/%FF%FE.%FF", 400),
        ("/theo-doi/van-ban/%00", 404),
        ("/van-ban-moi/tuan/%00", 404),
        ("/van-ban-moi/tuan/0000-W01", 404),
        ("/van-ban-moi/tuan/9999-W52", 404),
        ("/van-ban-moi/tuan/2025-W00", 404),
        ("/van-ban-moi/tuan/" + "9" * 500 + "-W01", 404),
    ],
)
def test_odd_paths_of_the_new_pages(client, path, status):
    response = client.get(path)
    assert response.status_code == status, (path, response.status_code)
    assert response.mimetype == "text/html"
