"""The JSON API and its OpenAPI description (checked against what the endpoints really do), and the
OpenSearch description."""

import re
import xml.etree.ElementTree as ET
from urllib.parse import urlsplit

import pytest
from web_fixtures import (  # noqa: F401
    AMENDMENT,
    DECREE,
    LAW,
    REPLACEMENT,
    RESOLUTION,
    XSS,
    XSS_TEXT,
    app,
    client,
    conforms,
    kb_instance,
    make_app,
)

from kb import vocab


@pytest.fixture(scope="module")
def spec(app):
    response = app.test_client().get("/api/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    return response.get_json()


# --- /api/search ---------------------------------------------------------------------------
def test_search_returns_hits_with_everything_a_client_needs(client, spec):
    body = conforms(client.get("/api/search?q=học+phí"), spec, "/api/search")
    assert body["total"] == 5 and body["pages"] == 1 and body["links"]["next"] is None
    law = next(h for h in body["hits"] if h["uid"] == LAW)
    assert (law["number"], law["title"], law["doc_type"], law["issuer"]) == (
        "43/2019/QH14",
        "Luật Giáo dục",
        "Luật",
        "Quốc hội",
    )
    assert (law["issued"], law["effective"], law["status"]) == ("2019-06-14", "2020-07-01", vocab.IN_FORCE)
    assert law["url"] == f"http://localhost/van-ban/{LAW}"
    assert law["article"]["url"].startswith(f"http://localhost/van-ban/{LAW}#dieu-")
    assert "<mark>" in law["snippet"] and "<mark>" not in law["snippet_text"]
    assert law["score"] > 0
    assert {f["value"]: f["count"] for f in body["facets"]["loai"]} == {"Nghị quyết": 3, "Luật": 1, "Nghị định": 1}
    assert set(body["facets"]) == {"loai", "coquan", "hieuluc", "nam", "linhvuc", "phamvi"}


def test_search_limit_page_and_links(client, spec):
    body = conforms(client.get("/api/search?q=bến+xe&limit=10&page=3"), spec, "/api/search")
    assert (body["total"], body["pages"], body["page"], body["limit"], len(body["hits"])) == (25, 3, 3, 10, 5)
    assert body["links"]["next"] is None
    previous = urlsplit(body["links"]["prev"])
    assert previous.path == "/api/search" and "page=2" in previous.query and "limit=10" in previous.query
    first = conforms(client.get(body["links"]["prev"].replace("page=2", "page=1")), spec, "/api/search")
    assert first["links"]["next"].endswith("page=2&limit=10")


def test_search_facet_filters(client, spec):
    body = conforms(client.get("/api/search?q=học+phí&loai=Nghị+quyết&hieuluc=Còn+hiệu+lực"), spec, "/api/search")
    assert [h["uid"] for h in body["hits"]] == [AMENDMENT]
    assert body["filters"] == {"loai": ["Nghị quyết"], "hieuluc": [vocab.IN_FORCE]}
    both = conforms(client.get("/api/search?loai=Luật&loai=Nghị+định"), spec, "/api/search")
    assert {h["uid"] for h in both["hits"]} == {LAW, DECREE}


def test_search_date_range_and_sort(client, spec):
    body = conforms(client.get("/api/search?q=học+phí&tu=2023-01-01&den=31/12/2025&sort=issued"), spec, "/api/search")
    assert [h["uid"] for h in body["hits"]] == [REPLACEMENT, AMENDMENT, RESOLUTION]
    assert (body["date_from"], body["date_to"]) == ("2023-01-01", "2025-12-31")


def test_search_by_article(client, spec):
    body = conforms(client.get("/api/search?q=học+phí&unit=article&loai=Luật"), spec, "/api/search")
    assert body["unit"] == "article"
    urls = {h["url"] for h in body["hits"]}
    assert f"http://localhost/van-ban/{LAW}#dieu-99" in urls
    hit = next(h for h in body["hits"] if h["url"].endswith("#dieu-99"))
    assert (hit["uid"], hit["number"], hit["title"]) == (LAW, "43/2019/QH14", "Luật Giáo dục")
    assert (hit["article"]["number"], hit["article"]["heading"]) == ("99", "Học phí, chi phí dịch vụ giáo dục")


def test_search_by_number_gives_the_exact_document(client, spec):
    body = conforms(client.get("/api/search?q=05/2023/NQ-HĐND"), spec, "/api/search")
    assert [h["uid"] for h in body["exact"]] == [RESOLUTION]


def test_snippets_are_escaped_html(client, spec):
    body = conforms(client.get("/api/search?q=tham+quan"), spec, "/api/search")
    hit = next(h for h in body["hits"] if h["uid"] == XSS)
    assert XSS_TEXT in hit["title"]  # JSON carries the text as it is
    assert "<script>" not in hit["snippet"] and "&lt;script&gt;" in hit["snippet"]
    assert XSS_TEXT in hit["snippet_text"]


def test_search_page_json_is_the_api(client):
    assert client.get("/tim-kiem.json?q=học+phí").get_json()["total"] == 5


def test_cross_origin_reads_are_allowed(client):
    assert client.get("/api/search?q=x").headers["Access-Control-Allow-Origin"] == "*"


# --- /api/documents ------------------------------------------------------------------------
def test_document_is_the_whole_record_with_relations_both_ways(client, spec):
    body = conforms(client.get(f"/api/documents/{RESOLUTION}"), spec, "/api/documents/{uid}")
    assert body["uid"] == RESOLUTION and body["number"] == "05/2023/NQ-HĐND" and body["status"] == vocab.EXPIRED
    assert [a["anchor"] for a in body["articles"]] == ["dieu-1", "dieu-2", "dieu-3"]
    assert body["articles"][1]["url"] == f"http://localhost/van-ban/{RESOLUTION}#dieu-2"
    by_number = {r["target_number"]: r for r in body["relations"]}
    assert by_number["81/2021/NĐ-CP"]["stored_uid"] == DECREE and by_number["81/2021/NĐ-CP"]["label"] == "Căn cứ"
    assert by_number["77/2015/QH13"]["stored_uid"] is None and by_number["77/2015/QH13"]["url"] is None
    incoming = {(r["type"], r["uid"]) for r in body["incoming"]}
    assert incoming == {("sua_doi", AMENDMENT), ("thay_the", REPLACEMENT)}
    assert next(r for r in body["incoming"] if r["type"] == "sua_doi")["label"] == "Được sửa đổi, bổ sung bởi"
    assert body["attachments"][0]["scanned"] is True


@pytest.mark.parametrize("uid", [LAW, DECREE, AMENDMENT, REPLACEMENT, XSS, "vbpl:9001"])
def test_every_document_conforms(client, spec, uid):
    conforms(client.get(f"/api/documents/{uid}"), spec, "/api/documents/{uid}")


def test_unknown_document_is_a_json_404(client, spec):
    body = conforms(client.get("/api/documents/vbpl:khong-co"), spec, "/api/documents/{uid}")
    assert body["status"] == 404 and "vbpl:khong-co" in body["error"]


# --- the description matches the endpoints --------------------------------------------------
def test_every_api_route_is_described_and_every_description_is_a_route(app, spec):
    rules = {
        (re.sub(r"<(?:path:)?(\w+)>", r"{\1}", r.rule), method.lower())
        for r in app.url_map.iter_rules()
        if r.rule.startswith("/api/") and r.rule != "/api/"
        for method in r.methods - {"HEAD", "OPTIONS"}
    }  # "/api/": the human-readable page about the API
    assert rules == {(path, method) for path, item in spec["paths"].items() for method in item}


def test_every_documented_parameter_is_accepted_with_its_example(client, spec):
    for param in spec["paths"]["/api/search"]["get"]["parameters"]:
        values = param["example"] if isinstance(param["example"], list) else [param["example"]]
        response = client.get("/api/search", query_string=[(param["name"], str(v)) for v in values])
        body = conforms(response, spec, "/api/search")
        assert response.status_code == 200, (param["name"], body)


def test_every_documented_enum_value_is_accepted(client, spec):
    for param in spec["paths"]["/api/search"]["get"]["parameters"]:
        schema = param["schema"].get("items", param["schema"])
        for value in schema.get("enum", []):
            response = client.get("/api/search", query_string={param["name"]: value})
            assert response.status_code == 200, (param["name"], value, response.get_json())


def test_an_undocumented_parameter_is_refused_by_name(client, spec):
    body = conforms(client.get("/api/search?q=x&limt=5"), spec, "/api/search")
    assert body["status"] == 400 and "limt" in body["error"]
    documented = {p["name"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    accepted = set(body["error"].split("Các tham số dùng được: ")[1].rstrip(".").split(", "))
    assert accepted == documented  # what the endpoint says it takes is what is described


def test_documented_limits_are_enforced(client, spec):
    params = {p["name"]: p["schema"] for p in spec["paths"]["/api/search"]["get"]["parameters"]}
    for name in ("limit", "page"):
        low, high = params[name]["minimum"], params[name]["maximum"]
        assert client.get(f"/api/search?{name}={high}").status_code == 200
        for bad in (low - 1, high + 1):
            body = conforms(client.get(f"/api/search?{name}={bad}"), spec, "/api/search")
            assert body["status"] == 400 and name in body["error"]
    assert params["limit"]["default"] == conforms(client.get("/api/search"), spec, "/api/search")["limit"]


def test_the_description_is_valid_openapi_3_1_in_outline(spec):
    assert spec["openapi"].startswith("3.1")
    assert spec["info"]["title"] and spec["info"]["version"]
    for path, item in spec["paths"].items():
        assert item and set(item) <= {"get", "post"}, path
        for method, operation in item.items():
            assert operation["operationId"] and operation["responses"]
            assert ("requestBody" in operation) == (method == "post"), (path, method)
            for param in operation.get("parameters", []):
                assert param["in"] in ("query", "path") and "schema" in param
                if param["in"] == "path":
                    assert param["required"] is True and "{" + param["name"] + "}" in path
    refs = re.findall(r'"\$ref": "#/components/schemas/(\w+)"', str(spec).replace("'", '"'))
    assert refs and set(refs) <= set(spec["components"]["schemas"])


# --- OpenSearch -----------------------------------------------------------------------------
def test_opensearch_description(client):
    response = client.get("/opensearch.xml")
    assert response.status_code == 200 and response.mimetype == "application/opensearchdescription+xml"
    root = ET.fromstring(response.data)
    ns = "{http://a9.com/-/spec/opensearch/1.1/}"
    assert root.tag == f"{ns}OpenSearchDescription"
    short = root.find(f"{ns}ShortName").text
    assert 0 < len(short) <= 16
    urls = {u.get("type"): u.get("template") for u in root.findall(f"{ns}Url")}
    assert urls["text/html"] == "http://localhost/tim-kiem?q={searchTerms}"
    assert urls["application/atom+xml"] == "http://localhost/tim-kiem.atom?q={searchTerms}"
    assert urls["application/json"] == "http://localhost/api/search?q={searchTerms}"
    html = client.get(urls["text/html"].replace("{searchTerms}", "học phí").replace("http://localhost", ""))
    assert html.status_code == 200


def test_api_page_for_people(client):
    from web_fixtures import page

    tree = page(client, "/api/")
    assert tree.find("a", href="http://localhost/api/openapi.json")


# --- found by the schema-driven fuzz (tests/test_api_fuzz.py) ---------------------------------
def test_a_form_part_whose_name_cannot_be_read_is_a_400_not_a_500(client, spec):
    """A multipart part named with a line break comes out of Werkzeug named None; sorting the unknown
    field names with it raised TypeError (a 500)."""
    body = (
        b'--XYZ\r\nContent-Disposition: form-data; name="a\nb"\r\n\r\nnull\r\n'
        b'--XYZ\r\nContent-Disposition: form-data; name="text"\r\n\r\nC\xc4\x83n c\xe1\xbb\xa9\r\n--XYZ--\r\n'
    )
    response = client.post("/api/check", data=body, content_type="multipart/form-data; boundary=XYZ")
    body = conforms(response, spec, "/api/check", "post")
    assert body["status"] == 400 and "Trường không được hỗ trợ: (tên không đọc được)" in body["error"]
    alone = client.post(
        "/api/check",
        data=b'--XYZ\r\nContent-Disposition: form-data; name="\n"\r\n\r\nx\r\n--XYZ--\r\n',
        content_type="multipart/form-data; boundary=XYZ",
    )
    assert conforms(alone, spec, "/api/check", "post")["status"] == 400


@pytest.mark.parametrize("path", ["/api/search", "/api/delegations"])
def test_every_query_parameter_may_be_sent_empty_as_described(client, spec, path):
    """The description says an empty parameter counts as not given (allowEmptyValue; for repeatable
    ones, "" among the allowed items): the fuzz's negative cases hold the API to it."""
    for param in spec["paths"][path]["get"]["parameters"]:
        schema = param["schema"]
        if schema.get("type") == "array":
            items = schema["items"]
            assert "enum" not in items or "" in items["enum"], param["name"]
            assert "pattern" not in items or re.search(items["pattern"], ""), param["name"]
        else:
            assert param["allowEmptyValue"] is True, param["name"]
        response = client.get(path, query_string={param["name"]: ""})
        assert response.status_code == 200, (param["name"], response.get_json())
    everything = "&".join(f"{p['name']}=" for p in spec["paths"][path]["get"]["parameters"])
    assert conforms(client.get(f"{path}?{everything}"), spec, path)


def test_a_form_encoded_check_is_described(client, spec):
    content = spec["paths"]["/api/check"]["post"]["requestBody"]["content"]
    assert set(content["application/x-www-form-urlencoded"]["schema"]["properties"]) == {"text", "on"}
    body = conforms(
        client.post("/api/check", data={"text": "Căn cứ Luật Giáo dục ngày 14 tháng 6 năm 2019;"}),
        spec,
        "/api/check",
        "post",
    )
    assert body["citations"][0]["document"]["uid"] == LAW


def test_a_rate_limited_check_is_the_described_429(kb_instance, spec):
    client = make_app(kb_instance, CHECK_LIMIT=1).test_client()
    assert client.post("/api/check", json={"text": "Căn cứ"}).status_code == 200
    response = client.post("/api/check", json={"text": "Căn cứ"})
    body = conforms(response, spec, "/api/check", "post")
    assert body["status"] == 429
    header = spec["paths"]["/api/check"]["post"]["responses"]["429"]["headers"]["Retry-After"]
    assert int(response.headers["Retry-After"]) >= header["schema"]["minimum"]
