"""Kiểm tra căn cứ pháp lý in the web UI: a draft in the style of a real HĐND resolution, pasted or
uploaded (DOCX), against the test knowledge base where the cited documents have known states (one not
stored, one cited with a wrong date, one expired and replaced, one amended with the amendment not cited,
one not yet in force); the report table, its CSV/TSV downloads, every refusal, and POST /api/check
against its OpenAPI description."""

import csv
import datetime as dt
import io

import pytest
from web_fixtures import (  # noqa: F401
    AMENDMENT,
    DECREE,
    LAW,
    RESOLUTION,
    XSS_TEXT,
    conforms,
    kb_instance,
    make_app,
    page,
    parse,
    texts,
)

DRAFT = """HỘI ĐỒNG NHÂN DÂN
TỈNH LAI CHÂU
Số:      /2026/NQ-HĐND
NGHỊ QUYẾT
Quy định mức thu học phí đối với cơ sở giáo dục công lập trên địa bàn tỉnh Lai Châu năm học 2026-2027
HỘI ĐỒNG NHÂN DÂN TỈNH LAI CHÂU
KHÓA XV, KỲ HỌP THỨ HAI MƯƠI
Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;
Căn cứ Luật Giáo dục ngày 14 tháng 6 năm 2019;
Căn cứ Nghị định số 81/2021/NĐ-CP ngày 28 tháng 8 năm 2021 của Chính phủ quy định về cơ chế thu, quản lý học phí;
Căn cứ Nghị quyết số 05/2023/NQ-HĐND ngày 20 tháng 7 năm 2023 của Hội đồng nhân dân tỉnh Lai Châu;
Căn cứ Nghị quyết số 20/2025/NQ-HĐND ngày 10 tháng 7 năm 2025 của Hội đồng nhân dân tỉnh Lai Châu;
Xét Tờ trình số 45/TTr-UBND ngày 01 tháng 6 năm 2026 của Ủy ban nhân dân tỉnh;
QUYẾT NGHỊ:
Điều 1. Phạm vi điều chỉnh
Nghị quyết này quy định mức thu học phí theo khoản 2 Điều 99 Luật Giáo dục số 43/2019/QH14.
"""
HEADERS = ["STT", "Văn bản được viện dẫn", "Vị trí", "Văn bản trong CSDL", "Tình trạng ngày 01/01/2025", "Nhận xét"]


@pytest.fixture(scope="module")
def client(kb_instance):
    return make_app(kb_instance, CHECK_LIMIT=0).test_client()


@pytest.fixture(scope="module")
def spec(client):
    return client.get("/api/openapi.json").get_json()


def token(client) -> str:
    return page(client, "/kiem-tra-can-cu").find("input", attrs={"name": "csrf_token"})["value"]


def check(client, data: dict, **kwargs):
    return client.post("/kiem-tra-can-cu", data={"csrf_token": token(client), **data}, **kwargs)


def table(tree) -> list[list[str]]:
    return [texts(tr.find_all(["th", "td"])) for tr in tree.select("table.report tr")]


def test_the_form(client):
    tree = page(client, "/kiem-tra-can-cu")
    assert tree.h1.get_text(strip=True) == "Kiểm tra căn cứ pháp lý"
    assert tree.select_one("nav.site-nav a[aria-current=page]").get_text(strip=True) == "Kiểm tra căn cứ"
    form = tree.select_one("form#check-form")
    assert (form["method"], form["enctype"], form["action"]) == ("post", "multipart/form-data", "/kiem-tra-can-cu")
    assert form.find("textarea", attrs={"name": "text"}) is not None
    upload = form.find("input", attrs={"name": "file"})
    assert upload["type"] == "file" and {".docx", ".pdf", ".txt"} <= set(upload["accept"].split(","))
    today = dt.datetime.now(dt.timezone(dt.timedelta(hours=7))).strftime("%d/%m/%Y")
    assert form.find("input", attrs={"name": "on"})["value"] == today
    assert "tối đa 20 MB" in form.find("label", attrs={"for": "check-file"}).get_text()
    assert form.find("input", attrs={"name": "csrf_token"})["value"]
    assert not tree.select("table.report")


def test_a_pasted_draft_gives_the_report_table(client):
    response = check(client, {"text": DRAFT, "on": "01/01/2025"})
    assert response.status_code == 200
    tree = parse(response)
    rows = table(tree)
    assert rows[0] == HEADERS
    assert [r[:3] for r in rows[1:]] == [
        ["1", "Luật Tổ chức chính quyền địa phương ngày 19/06/2015", "Căn cứ"],
        ["2", "Luật Giáo dục ngày 14/06/2019", "Căn cứ"],
        ["3", "Nghị định số 81/2021/NĐ-CP ngày 28/08/2021", "Căn cứ"],
        ["4", "Nghị quyết số 05/2023/NQ-HĐND ngày 20/07/2023", "Căn cứ"],
        ["5", "Nghị quyết số 20/2025/NQ-HĐND ngày 10/07/2025", "Căn cứ"],
        ["6", "Tờ trình số 45/TTr-UBND ngày 01/06/2026", "Xét"],
        ["7", "khoản 2 Điều 99 Luật Giáo dục số 43/2019/QH14", "Nội dung"],
    ]
    states = [r[4] for r in rows[1:]]
    assert states == [
        "Không có trong CSDL",
        "Còn hiệu lực",
        "Hết hiệu lực một phần",
        "Còn hiệu lực",
        "Chưa có hiệu lực (từ ngày 01/09/2099)",
        "Không kiểm tra",
        "Còn hiệu lực",
    ]
    notes = [r[5] for r in rows[1:]]
    assert notes[0].startswith("[Cảnh báo] Không tìm thấy văn bản này trong cơ sở dữ liệu")
    assert notes[1] == "Không phát hiện vấn đề"
    assert notes[2].startswith(
        "[Lỗi] Ngày ban hành ghi trong dự thảo (28/08/2021) khác ngày ban hành của văn bản trong CSDL (27/08/2021)."
    )
    assert "[Cảnh báo] Văn bản đã được sửa đổi, bổ sung bởi Nghị quyết số 12/2024/NQ-HĐND" in notes[3]
    assert "dự thảo chưa viện dẫn văn bản này" in notes[3]
    assert notes[4].startswith("[Lỗi]") and "01/09/2099" in notes[4]
    body = tree.select("table.report tbody tr")
    assert body[1].find("a")["href"] == f"/van-ban/{LAW}"  # the stored document, linked
    assert body[2].find("a")["href"] == f"/van-ban/{DECREE}"
    assert body[3].find("a")["href"] == f"/van-ban/{RESOLUTION}"
    assert [tr["class"][0] for tr in body] == [
        "sev-warning",
        "sev-ok",
        "sev-error",
        "sev-warning",
        "sev-error",
        "sev-info",
        "sev-ok",
    ]
    assert texts(tree.select(".report-counts li")) == [
        "7 trích dẫn",
        "5 tìm thấy trong CSDL",
        "2 lỗi",
        "3 cảnh báo",
        "3 lưu ý",
    ]
    assert tree.select_one(".report-date strong").get_text() == "01/01/2025"
    assert tree.select_one("textarea[name=text]").get_text() == DRAFT  # kept, to correct and check again
    assert tree.select_one("input[name=on]")["value"] == "01/01/2025"
    assert response.headers["Cache-Control"] == "no-store"


def test_the_planned_date_changes_the_findings(client):
    rows = table(parse(check(client, {"text": DRAFT, "on": "2026-09-01"})))
    assert rows[0][4] == "Tình trạng ngày 01/09/2026"
    assert rows[4][4] == "Hết hiệu lực từ ngày 01/08/2025" and rows[4][5].startswith("[Lỗi] Đã hết hiệu lực")
    assert check(client, {"text": DRAFT, "on": ""}).status_code == 200  # empty: today


def test_an_uploaded_docx_is_read_and_shown(client):
    import docx

    document = docx.Document()
    for line in DRAFT.splitlines():
        document.add_paragraph(line)
    data = io.BytesIO()
    document.save(data)
    response = check(
        client,
        {"file": (io.BytesIO(data.getvalue()), "du-thao-nghi-quyet.docx"), "on": "01/01/2025"},
        content_type="multipart/form-data",
    )
    tree = parse(response)
    assert tree.select_one("#report-title").get_text(strip=True) == "Kết quả kiểm tra: du-thao-nghi-quyet.docx"
    assert [r[4] for r in table(tree)[1:]][:3] == ["Không có trong CSDL", "Còn hiệu lực", "Hết hiệu lực một phần"]
    assert "Căn cứ Luật Giáo dục ngày 14 tháng 6 năm 2019;" in tree.select_one("textarea[name=text]").get_text()


def test_a_file_wins_over_pasted_text_and_says_so(client):
    response = check(
        client,
        {
            "text": "Căn cứ Luật Đất đai ngày 18 tháng 01 năm 2024;",
            "on": "01/01/2025",
            "file": (io.BytesIO(DRAFT.encode()), "du-thao.txt"),
        },
        content_type="multipart/form-data",
    )
    tree = parse(response)
    assert "Đã kiểm tra nội dung tệp du-thao.txt" in tree.select_one("p.notice").get_text()
    assert len(table(tree)) == 8


def test_downloads_csv_for_excel_and_tsv_for_word(client):
    tree = parse(check(client, {"text": DRAFT, "on": "01/01/2025"}))
    buttons = {b["value"]: b for b in tree.select(".report-actions button[name=format]")}
    assert set(buttons) == {"csv", "tsv"} and all(b["form"] == "check-form" for b in buttons.values())
    response = check(client, {"text": DRAFT, "on": "01/01/2025", "format": "csv"})
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == "attachment; filename=kiem-tra-can-cu-2025-01-01.csv"
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0] == HEADERS and len(rows) == 8
    assert rows[3][5].startswith("[Lỗi] Ngày ban hành ghi trong dự thảo (28/08/2021)")
    tsv = check(client, {"text": DRAFT, "on": "01/01/2025", "format": "tsv"})
    assert tsv.mimetype == "text/tab-separated-values"
    lines = tsv.get_data(as_text=True).lstrip("\ufeff").split("\r\n")
    assert lines[0].split("\t") == HEADERS and len([x for x in lines if x]) == 8
    assert all(len(line.split("\t")) == 6 for line in lines if line)


def test_a_draft_without_citations_says_so(client):
    tree = parse(check(client, {"text": "Kính gửi: Thường trực Hội đồng nhân dân tỉnh.", "on": "01/01/2025"}))
    assert "Không tìm thấy trích dẫn văn bản nào" in tree.select_one(".check-report .notice").get_text()
    assert not tree.select("table.report") and not tree.select(".report-actions")


@pytest.mark.parametrize(
    "data, message",
    [
        ({"text": "   ", "on": "01/01/2025"}, "Chưa có nội dung để kiểm tra"),
        ({"text": DRAFT, "on": "31/02/2026"}, "Ngày dự kiến có hiệu lực không hợp lệ"),
        ({"text": DRAFT, "on": "mai"}, "Ngày dự kiến có hiệu lực không hợp lệ"),
        (
            {"file": (io.BytesIO(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 600), "du-thao.doc")},
            "Tệp Word cũ (.doc)",
        ),
        ({"file": (io.BytesIO(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"), "du-thao.pdf")}, "PDF"),
        ({"file": (io.BytesIO(b"PK\x03\x04 not really a zip"), "du-thao.docx")}, "Tệp Word (.docx) bị hỏng"),
        ({"file": (io.BytesIO(bytes(range(256)) * 40), "anh.txt")}, "không phải là văn bản"),
        ({"file": (io.BytesIO(b""), "rong.txt")}, "Tệp rỗng"),
    ],
)
def test_refusals_say_what_to_do_and_keep_the_form(client, data, message):
    response = check(client, data, content_type="multipart/form-data")
    assert response.status_code == 400
    tree = parse(response)
    assert message in tree.select_one(".error-box .error-message").get_text()
    assert tree.select_one("form#check-form") and not tree.select("table.report")
    if "text" in data and data["text"].strip():
        assert tree.select_one("textarea[name=text]").get_text() == data["text"]


def test_scraped_and_pasted_markup_is_escaped(client):
    draft = f"{XSS_TEXT}\nCăn cứ Quyết định số 99/2024/QĐ-UBND ngày 01 tháng 3 năm 2024 của Ủy ban nhân dân tỉnh {XSS_TEXT};"
    tree = parse(check(client, {"text": draft, "on": "01/01/2025"}))
    assert not tree.find("script", src=False)
    assert tree.select_one("textarea[name=text]").get_text() == draft
    assert XSS_TEXT in tree.select_one("table.report tbody").get_text()  # the stored title, as text


def test_a_post_without_the_csrf_token_is_refused(client):
    response = client.post("/kiem-tra-can-cu", data={"text": DRAFT})
    assert response.status_code == 400 and parse(response).h1.get_text(strip=True) == "Chưa gửi được biểu mẫu"


def test_an_oversized_upload_is_a_413_that_names_the_limit(kb_instance):
    client = make_app(kb_instance, MAX_UPLOAD_MB=1).test_client()
    data = {"csrf_token": token(client), "file": (io.BytesIO(b"a" * (2 * 1024 * 1024)), "lon.txt")}
    response = client.post("/kiem-tra-can-cu", data=data, content_type="multipart/form-data")
    assert response.status_code == 413
    tree = parse(response)
    assert tree.h1.get_text(strip=True) == "Nội dung gửi lên quá lớn"
    assert "giới hạn là 1 MB" in tree.select_one(".error-message").get_text()
    pasted = client.post("/kiem-tra-can-cu", data={"csrf_token": token(client), "text": "Căn cứ " * 200_000})
    assert pasted.status_code == 413
    assert client.post("/kiem-tra-can-cu", data={"csrf_token": token(client), "text": DRAFT * 20}).status_code == 200


def test_checks_are_rate_limited_per_address(kb_instance):
    client = make_app(kb_instance, CHECK_LIMIT=2).test_client()
    for _ in range(2):
        assert check(client, {"text": DRAFT}).status_code == 200
    response = check(client, {"text": DRAFT})
    assert response.status_code == 429 and response.headers["Retry-After"]
    assert "kiểm tra căn cứ quá nhiều lần" in parse(response).select_one(".error-message").get_text()
    api = client.post("/api/check", json={"text": DRAFT})
    assert api.status_code == 429 and "quá nhiều lần" in api.get_json()["error"]
    assert page(client, "/kiem-tra-can-cu").select_one("form#check-form")  # GET is never limited


def test_an_empty_instance_explains_how_to_fill_it(tmp_path):
    client = make_app(tmp_path / "empty").test_client()
    assert page(client, "/kiem-tra-can-cu").h1.get_text() == "Cơ sở dữ liệu chưa có văn bản"
    assert client.post("/api/check", json={"text": DRAFT}).status_code == 503
    assert not (tmp_path / "empty" / "kb.sqlite").exists()


# --- POST /api/check ---------------------------------------------------------------------------
def test_api_check_with_json(client, spec):
    fresh = make_app(client.application.config["INSTANCE"]).test_client(use_cookies=False)  # no session, no token
    response = fresh.post("/api/check", json={"text": DRAFT, "on": "2025-01-01"})
    body = conforms(response, spec, "/api/check", "post")
    assert response.status_code == 200 and response.headers["Access-Control-Allow-Origin"] == "*"
    assert (body["on"], body["source"], body["text_chars"]) == ("2025-01-01", None, len(DRAFT))
    assert body["counts"] == {"citations": 7, "error": 2, "warning": 3, "info": 3, "resolved": 5}
    decree = body["citations"][2]
    assert (decree["citation"]["number"], decree["citation"]["date"], decree["document"]["uid"]) == (
        "81/2021/NĐ-CP",
        "2021-08-28",
        DECREE,
    )
    assert [f["code"] for f in decree["findings"]] == ["date_mismatch", "partly_expired"]
    resolution = body["citations"][3]
    assert resolution["amendments"][0]["document"]["uid"] == AMENDMENT
    assert resolution["amendments"][0]["cited"] is False
    assert "amended_not_cited" in [f["code"] for f in resolution["findings"]]
    assert body["citations"][0]["state"] == "not_found" and body["citations"][0]["document"] is None


def test_api_check_with_an_upload(client, spec):
    response = client.post(
        "/api/check",
        data={"file": (io.BytesIO(DRAFT.encode("utf-8")), "du-thao.txt"), "on": "01/01/2025"},
        content_type="multipart/form-data",
    )
    body = conforms(response, spec, "/api/check", "post")
    assert (body["source"], body["on"], body["counts"]["citations"]) == ("du-thao.txt", "2025-01-01", 7)
    form = conforms(client.post("/api/check", data={"text": DRAFT}), spec, "/api/check", "post")
    assert form["counts"]["citations"] == 7 and form["on"] == dt.date.today().isoformat()


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"json": {"text": DRAFT, "ngay": "2025-01-01"}}, "Trường không được hỗ trợ: ngay"),
        ({"json": {"text": 5}}, "Trường text phải là chuỗi ký tự."),
        ({"json": {"on": "2025-01-01"}}, "Không có nội dung để kiểm tra"),
        ({"json": ["Căn cứ"]}, "Nội dung JSON không hợp lệ"),
        ({"data": "{not json", "content_type": "application/json"}, "Nội dung JSON không hợp lệ"),
        ({"json": {"text": DRAFT, "on": "2025-02-30"}}, "Ngày dự kiến có hiệu lực không hợp lệ"),
        ({"data": DRAFT, "content_type": "text/plain"}, "multipart/form-data"),
        (
            {
                "data": {"file": (io.BytesIO(b"\xd0\xcf\x11\xe0" + b"\0" * 100), "a.doc")},
                "content_type": "multipart/form-data",
            },
            "Tệp Word cũ",
        ),
        ({"data": {"text": DRAFT, "extra": "x"}}, "Trường không được hỗ trợ: extra"),
    ],
)
def test_api_check_refusals(client, spec, kwargs, message):
    body = conforms(client.post("/api/check", **kwargs), spec, "/api/check", "post")
    assert body["status"] == 400 and message in body["error"]


def test_api_check_oversized_is_a_json_413(kb_instance, spec):
    client = make_app(kb_instance, MAX_UPLOAD_MB=1).test_client()
    body = conforms(client.post("/api/check", json={"text": "Căn cứ " * 300_000}), spec, "/api/check", "post")
    assert body["status"] == 413 and "giới hạn là 1 MB" in body["error"]
    assert client.get("/api/check").status_code == 405


def test_a_long_pasted_draft_is_accepted(client):
    long_draft = DRAFT + "Nội dung chi tiết của dự thảo, không viện dẫn văn bản nào. " * 12_000  # about 0.8 MB
    assert len(long_draft.encode()) > 500_000  # beyond Werkzeug's default form field limit
    response = check(client, {"text": long_draft, "on": "01/01/2025"})
    assert response.status_code == 200 and len(table(parse(response))) == 8


def test_the_documented_request_example_works(client, spec):
    operation = spec["paths"]["/api/check"]["post"]
    example = operation["requestBody"]["content"]["application/json"]["example"]
    request_schema = spec["components"]["schemas"]["CheckRequest"]
    assert set(example) <= set(request_schema["properties"]) and set(request_schema["required"]) <= set(example)
    body = conforms(client.post("/api/check", json=example), spec, "/api/check", "post")
    assert body["on"] == example["on"] and body["citations"][0]["document"]["uid"] == LAW
    form_fields = set(operation["requestBody"]["content"]["multipart/form-data"]["schema"]["properties"])
    assert form_fields == {"file", "text", "on"}


# --- hostile uploads (tests/test_readers_safety.py has the details) ------------------------------
def test_a_hostile_upload_is_a_400_saying_why(client, spec):
    from test_readers_safety import LOL, document_xml, docx_package, paragraph, pdf, zip_bomb

    bomb = client.post(
        "/api/check", data={"file": (io.BytesIO(zip_bomb(120)), "du-thao.docx")}, content_type="multipart/form-data"
    )
    assert conforms(bomb, spec, "/api/check", "post")["status"] == 400
    assert "giải nén ra quá lớn (120 MB; giới hạn là 100 MB)" in bomb.get_json()["error"]
    entities = docx_package(document_xml(paragraph("&lol9;"), f"<!DOCTYPE w:document [{LOL}]>"))
    response = check(client, {"file": (io.BytesIO(entities), "du-thao.docx")}, content_type="multipart/form-data")
    assert response.status_code == 400 and "DOCTYPE/ENTITY" in parse(response).select_one(".error-message").get_text()
    assert (
        "Tệp PDF có 501 trang; giới hạn là 500 trang"
        in client.post(
            "/api/check",
            data={"file": (io.BytesIO(pdf(b"BT ET", pages=501)), "dai.pdf")},
            content_type="multipart/form-data",
        ).get_json()["error"]
    )


def test_the_readers_settings_of_the_instance_apply_to_uploads(kb_instance, tmp_path):
    from test_readers_safety import LINE, pdf
    from web_fixtures import copy_instance

    instance = copy_instance(kb_instance, tmp_path / "instance", "[readers]\npdf_max_pages = 2\n")
    client = make_app(instance, CHECK_LIMIT=0).test_client()
    upload = {"file": (io.BytesIO(pdf(LINE, pages=3)), "ba-trang.pdf")}
    body = client.post("/api/check", data=upload, content_type="multipart/form-data").get_json()
    assert body["status"] == 400 and "Tệp PDF có 3 trang; giới hạn là 2 trang" in body["error"]
