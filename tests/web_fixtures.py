"""A small, realistic knowledge base for the web tests, built once per test session.

Documents of a provincial HĐND's daily work on học phí (a law, a decree guiding it, the province's
resolution, its amendment and its replacement), relations both ways (one target stored only by
number, one not stored at all), a status change with a new text version, attachments, 25 UBND
decisions for paging and facets, and a document whose title and text hold <script>. Change events
are dated in the past (kb.store.now patched) so that "Văn bản mới" has several days to group.

Test modules import the fixtures they use: `from web_fixtures import kb_instance, app, client`.
Tests that write (subscriptions) work on a copy (`copy_instance`); `smtp` is a real SMTP server on a
local port (aiosmtpd) that keeps what it receives; `form_post` submits a page's form as a browser would.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path
from unittest import mock

import pytest
from test_mail import free_port, smtp  # noqa: F401  (the local SMTP server; smtp: fixture)

from index import build
from kb import config as kbconfig
from kb import vocab
from kb.legal import derived
from kb.model import Document
from kb.store import Store
from web import create_app

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)
LAW, DECREE, RESOLUTION, AMENDMENT, REPLACEMENT, XSS = (
    "vbpl:1001",
    "vbpl:2001",
    "congbao_tinh:LC-2023-05",
    "vbpl:3001",
    "vbpl:3002",
    "import:xss-1",
)
XSS_TEXT = "<script>alert(1)</script>"
FILLERS = 25


def _at(days_ago: float) -> str:
    return (NOW - dt.timedelta(days=days_ago)).isoformat(timespec="seconds")


def _doc(**data) -> Document:
    return Document.from_dict(data)


def law() -> Document:
    return _doc(
        uid=LAW,
        source_url="https://vbpl.vn/TW/Pages/vbpqen-toanvan.aspx?ItemID=1001",
        number="43/2019/QH14",
        title="Luật Giáo dục",
        doc_type="Luật",
        issuer="Quốc hội",
        signers=[{"name": "Nguyễn Thị Kim Ngân", "title": "Chủ tịch Quốc hội"}],
        issued="2019-06-14",
        effective="2020-07-01",
        status=vocab.IN_FORCE,
        fields=["Giáo dục"],
        articles=[
            {
                "number": "1",
                "heading": "Phạm vi điều chỉnh",
                "chapter": "Chương I. NHỮNG QUY ĐỊNH CHUNG",
                "text": "Luật này quy định về hệ thống giáo dục quốc dân; cơ sở giáo dục, nhà giáo, người học;"
                " quản lý nhà nước về giáo dục.",
            },
            {
                "number": "2",
                "heading": "Mục tiêu giáo dục",
                "chapter": "Chương I. NHỮNG QUY ĐỊNH CHUNG",
                "text": "Mục tiêu giáo dục nhằm phát triển toàn diện con người Việt Nam có đạo đức, tri thức.",
            },
            {
                "number": "99",
                "heading": "Học phí, chi phí dịch vụ giáo dục",
                "chapter": "Chương VIII. ĐẦU TƯ VÀ TÀI CHÍNH TRONG GIÁO DỤC",
                "text": "1. Học phí là khoản tiền mà người học phải nộp để chi trả một phần hoặc toàn bộ chi phí"
                " của dịch vụ giáo dục, đào tạo.\n2. Hội đồng nhân dân cấp tỉnh quyết định khung học phí"
                " đối với cơ sở giáo dục công lập trên địa bàn.",
            },
            {
                "number": "100",
                "heading": "Chế độ thu, quản lý học phí",
                "chapter": "Chương VIII. ĐẦU TƯ VÀ TÀI CHÍNH TRONG GIÁO DỤC",
                "text": "Chính phủ quy định chi tiết chế độ thu, quản lý và sử dụng học phí.",
            },
        ],
        provenance={"status": "congbao"},
    )


def decree() -> Document:
    return _doc(
        uid=DECREE,
        source_url="https://vbpl.vn/TW/Pages/vbpq-toanvan.aspx?ItemID=2001",
        number="81/2021/NĐ-CP",
        title="Nghị định quy định về cơ chế thu, quản lý học phí đối với cơ sở giáo dục thuộc hệ thống giáo dục quốc dân",
        doc_type="Nghị định",
        issuer="Chính phủ",
        issued="2021-08-27",
        effective="2021-10-15",
        status=vocab.PARTLY_EXPIRED,
        fields=["Giáo dục", "Tài chính"],
        articles=[
            {
                "number": "1",
                "heading": "Phạm vi điều chỉnh",
                "text": "Nghị định này quy định về cơ chế thu, quản lý học phí đối với cơ sở giáo dục.",
            },
            {
                "number": "9",
                "heading": "Khung học phí",
                "text": "Hội đồng nhân dân cấp tỉnh quyết định mức học phí cụ thể trong khung học phí.",
            },
        ],
        relations=[
            {"type": "huong_dan", "target_uid": LAW, "target_number": "43/2019/QH14", "note": "Điều 99, Điều 100"},
            {"type": "can_cu", "target_uid": LAW, "target_number": "43/2019/QH14"},
        ],
    )


def resolution(version: int) -> Document:
    """The province's học phí resolution; version 2 lost force and had its text corrected."""
    level = "300.000 đồng/tháng" if version == 1 else "320.000 đồng/tháng"
    return _doc(
        uid=RESOLUTION,
        source_url="https://congbao.laichau.gov.vn/congbao.nsf/LC-2023-05",
        number="05/2023/NQ-HĐND",
        title="Nghị quyết quy định mức thu học phí đối với cơ sở giáo dục công lập trên địa bàn tỉnh Lai Châu"
        " năm học 2023-2024",
        doc_type="Nghị quyết",
        issuer="Hội đồng nhân dân tỉnh Lai Châu",
        signers=[{"name": "Giàng A Tính", "title": "Chủ tịch"}],
        issued="2023-07-20",
        effective="2023-08-01",
        expires="2025-08-01" if version == 2 else None,
        status=vocab.IN_FORCE if version == 1 else vocab.EXPIRED,
        fields=["Giáo dục"],
        province="Lai Châu",
        gazette="Công báo tỉnh Lai Châu số 15, ngày 01/08/2023",
        text="HỘI ĐỒNG NHÂN DÂN TỈNH LAI CHÂU\nKHÓA XV, KỲ HỌP THỨ MƯỜI HAI\n"
        "Căn cứ Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015;\n"
        "Căn cứ Nghị định số 81/2021/NĐ-CP của Chính phủ;\nQUYẾT NGHỊ:\n"
        "Điều 1. Phạm vi điều chỉnh\nNghị quyết này quy định mức thu học phí đối với cơ sở giáo dục công lập.\n"
        f"Điều 2. Mức thu học phí\n1. Mức thu học phí đối với giáo dục mầm non khu vực thành thị là {level}.\n"
        "2. Mức thu học phí đối với trung học cơ sở khu vực nông thôn là 100.000 đồng/tháng.\n"
        "Điều 3. Tổ chức thực hiện\nGiao Ủy ban nhân dân tỉnh tổ chức thực hiện Nghị quyết này.",
        articles=[
            {
                "number": "1",
                "heading": "Phạm vi điều chỉnh",
                "text": "Nghị quyết này quy định mức thu học phí đối với cơ sở giáo dục công lập.",
            },
            {
                "number": "2",
                "heading": "Mức thu học phí",
                "text": f"1. Mức thu học phí đối với giáo dục mầm non khu vực thành thị là {level}.\n"
                "2. Mức thu học phí đối với trung học cơ sở khu vực nông thôn là 100.000 đồng/tháng.",
            },
            {
                "number": "3",
                "heading": "Tổ chức thực hiện",
                "text": "Giao Ủy ban nhân dân tỉnh tổ chức thực hiện Nghị quyết này.",
            },
        ],
        relations=[
            {"type": "can_cu", "target_number": "81/2021/NĐ-CP"},  # stored, found by number
            {"type": "can_cu", "target_uid": LAW, "target_number": "43/2019/QH14"},
            {
                "type": "can_cu",
                "target_number": "77/2015/QH13",  # not stored
                "target_title": "Luật Tổ chức chính quyền địa phương",
            },
        ],
        attachments=[
            {
                "name": "05-2023-NQ-HDND.pdf",
                "url": "https://congbao.laichau.gov.vn/files/05-2023.pdf",
                "kind": "original",
                "scanned": True,
            },
            {
                "name": "Phụ lục mức thu.docx",
                "url": "https://congbao.laichau.gov.vn/files/05-2023-pl.docx",
                "kind": "appendix",
                "text": "Phụ lục: mức thu học phí theo vùng.",
            },
        ],
    )


def amendment() -> Document:
    return _doc(
        uid=AMENDMENT,
        number="12/2024/NQ-HĐND",
        title="Nghị quyết sửa đổi, bổ sung một số điều của Nghị quyết số 05/2023/NQ-HĐND về mức thu học phí",
        doc_type="Nghị quyết",
        issuer="Hội đồng nhân dân tỉnh Lai Châu",
        issued="2024-08-15",
        effective="2024-09-01",
        status=vocab.IN_FORCE,
        fields=["Giáo dục"],
        province="Lai Châu",
        articles=[
            {
                "number": "1",
                "heading": "Sửa đổi Điều 2",
                "text": "Sửa đổi khoản 1 Điều 2 Nghị quyết số 05/2023/NQ-HĐND về mức thu học phí mầm non.",
            }
        ],
        relations=[
            {"type": "sua_doi", "target_uid": RESOLUTION, "target_number": "05/2023/NQ-HĐND", "note": "khoản 1 Điều 2"}
        ],
    )


def replacement() -> Document:
    return _doc(
        uid=REPLACEMENT,
        number="20/2025/NQ-HĐND",
        title="Nghị quyết quy định mức thu học phí năm học 2025-2026 trên địa bàn tỉnh Lai Châu",
        doc_type="Nghị quyết",
        issuer="Hội đồng nhân dân tỉnh Lai Châu",
        issued="2025-07-10",
        effective="2099-09-01",
        status=vocab.NOT_YET,
        fields=["Giáo dục"],
        province="Lai Châu",
        articles=[
            {
                "number": "1",
                "heading": "Mức thu học phí",
                "text": "Mức thu học phí năm học 2025-2026 áp dụng theo Phụ lục kèm theo Nghị quyết này.",
            }
        ],
        relations=[{"type": "thay_the", "target_uid": RESOLUTION, "target_number": "05/2023/NQ-HĐND"}],
    )


def hostile() -> Document:
    return _doc(
        uid=XSS,
        number="99/2024/QĐ-UBND",
        title=f"{XSS_TEXT} Quyết định thu phí tham quan <b>danh thắng</b>",
        doc_type="Quyết định",
        issuer="Ủy ban nhân dân tỉnh Lai Châu",
        issued="2024-03-01",
        status=vocab.SUSPENDED,
        text=f"Điều 1. Phí tham quan\nThu phí tham quan {XSS_TEXT} danh thắng <img src=x onerror=alert(2)> Pu Sam Cáp.",
    )


def filler(i: int) -> Document:
    year = 2018 + i % 7
    status = (vocab.IN_FORCE, vocab.EXPIRED, vocab.OBSOLETE, vocab.UNKNOWN)[i % 4]
    return _doc(
        uid=f"vbpl:9{i:03d}",
        number=f"{i + 1}/{year}/QĐ-UBND",
        title=f"Quyết định ban hành giá dịch vụ xe ra, vào bến xe khách số {i + 1} trên địa bàn tỉnh Lai Châu",
        doc_type="Quyết định",
        issuer="Ủy ban nhân dân tỉnh Lai Châu",
        issued=f"{year}-0{1 + i % 9}-1{i % 10}",
        status=status,
        fields=["Giao thông vận tải"],
        articles=[
            {
                "number": "1",
                "heading": "Giá dịch vụ",
                "text": f"Giá dịch vụ xe ra, vào bến xe khách loại {i + 1} là {10 + i}.000 đồng/lượt.",
            }
        ],
    )


def fill_store(store: Store) -> None:
    """Store every document at its own (past) time, then the status and text change of the resolution."""
    steps = [
        (45, [filler(i) for i in range(FILLERS - 3)]),
        (12, [filler(i) for i in range(FILLERS - 3, FILLERS)]),
        (20, [law(), decree()]),
        (10, [resolution(1)]),
        (3, [hostile()]),
        (2, [amendment()]),
        (1.5, [resolution(2)]),
        (0.02, [replacement()]),
    ]
    for days_ago, docs in steps:
        with mock.patch("kb.store.now", return_value=_at(days_ago)):
            for doc in docs:
                store.upsert(doc)


def build_instance(folder: Path) -> Path:
    conf = kbconfig.load(folder, environ={})
    with Store(conf.db_path) as store:
        fill_store(store)
        build.rebuild(store, conf.index_dir)
        derived.refresh(store)  # as the writing commands do (kbcli/sync.py)
    return folder


# --- a week of news for the digest and the delegation tracker -------------------------------------
VN_TZ = dt.timezone(dt.timedelta(hours=7))
CENTRAL, LOCAL, OTHER_PROVINCE, CIRCULAR = "vbpl:5001", "congbao_tinh:LC-W-30", "vbpl:5003", "vbpl:5004"


def digest_week() -> tuple[str, dt.date]:
    """The last complete ISO week (Vietnam time) and its Monday: the week the news below happened in."""
    from kb.alerts.digest import last_week, parse_week

    week = last_week(dt.datetime.now(VN_TZ).date())
    return week, parse_week(week)[0]


def _local(day: dt.date, hour: int = 10) -> str:
    return dt.datetime.combine(day, dt.time(hour), VN_TZ).astimezone(dt.UTC).isoformat(timespec="seconds")


def weekly_news(monday: dt.date) -> list[tuple[str, Document]]:
    """(when stored, document): a new central decree that assigns the provincial HĐND (also coming into
    force soon), a new resolution of the province (with <script> in its title), one of another province,
    and a circular that expired during the week."""
    d = lambda days: (monday + dt.timedelta(days=days)).isoformat()  # noqa: E731
    year = monday.year
    central = _doc(
        uid=CENTRAL,
        number=f"15/{year}/NĐ-CP",
        doc_type="Nghị định",
        issuer="Chính phủ",
        title="Nghị định quy định chính sách hỗ trợ phát triển hợp tác xã nông nghiệp",
        issued=d(-10),
        effective=d(26),
        status=vocab.NOT_YET,
        fields=["Nông nghiệp"],
        scope=vocab.CENTRAL,
        articles=[
            {
                "number": "1",
                "heading": "Phạm vi điều chỉnh",
                "text": "Nghị định này quy định chính sách hỗ trợ hợp tác xã.",
            },
            {
                "number": "5",
                "heading": "Mức hỗ trợ",
                "text": "1. Hội đồng nhân dân cấp tỉnh quy định mức hỗ trợ cụ thể cho hợp tác xã trên địa bàn.\n"
                "2. Ngân sách trung ương hỗ trợ theo quy định của Luật Ngân sách nhà nước.",
            },
        ],
    )
    local = _doc(
        uid=LOCAL,
        number=f"30/{year}/NQ-HĐND",
        doc_type="Nghị quyết",
        issuer="Hội đồng nhân dân tỉnh Lai Châu",
        title=f"{XSS_TEXT} Nghị quyết quy định mức chi công tác phí trên địa bàn tỉnh Lai Châu",
        issued=d(-3),
        effective=d(1),
        status=vocab.IN_FORCE,
        fields=["Tài chính"],
        province="Lai Châu",
        scope=vocab.LOCAL,
    )
    other = _doc(
        uid=OTHER_PROVINCE,
        number=f"31/{year}/NQ-HĐND",
        doc_type="Nghị quyết",
        issuer="Hội đồng nhân dân tỉnh Sơn La",
        title="Nghị quyết quy định mức chi tiếp khách trên địa bàn tỉnh Sơn La",
        issued=d(-2),
        status=vocab.IN_FORCE,
        province="Sơn La",
        scope=vocab.LOCAL,
    )
    circular = dict(
        uid=CIRCULAR,
        number="40/2017/TT-BTC",
        doc_type="Thông tư",
        issuer="Bộ Tài chính",
        title="Thông tư quy định chế độ công tác phí, chế độ chi hội nghị",
        issued="2017-04-28",
        effective="2017-07-01",
        fields=["Tài chính"],
        scope=vocab.CENTRAL,
    )
    return [
        (_local(monday - dt.timedelta(days=21)), _doc(**circular, status=vocab.IN_FORCE)),
        (_local(monday + dt.timedelta(days=2)), central),
        (_local(monday + dt.timedelta(days=3)), local),
        (_local(monday + dt.timedelta(days=3), 11), other),
        (_local(monday + dt.timedelta(days=4)), _doc(**circular, status=vocab.EXPIRED, expires=d(4))),
    ]


def build_weekly_instance(folder: Path) -> Path:
    """The test knowledge base plus `weekly_news` of the last complete week."""
    build_instance(folder)
    conf = kbconfig.load(folder, environ={})
    with Store(conf.db_path) as store:
        for at, doc in weekly_news(digest_week()[1]):
            with mock.patch("kb.store.now", return_value=at):
                store.upsert(doc)
        build.update(store, conf.index_dir)
        derived.refresh(store)
    return folder


_BUILT: dict[str, Path] = {}


@pytest.fixture(scope="session")
def kb_instance(tmp_path_factory) -> Path:
    """The instance folder of the test knowledge base (built once for all web test modules)."""
    if "kb" not in _BUILT:
        _BUILT["kb"] = build_instance(tmp_path_factory.mktemp("web-kb") / "instance")
    return _BUILT["kb"]


@pytest.fixture(scope="session")
def weekly_instance(tmp_path_factory) -> Path:
    if "weekly" not in _BUILT:
        _BUILT["weekly"] = build_weekly_instance(tmp_path_factory.mktemp("web-weekly") / "instance")
    return _BUILT["weekly"]


def make_app(instance: Path, **extra):
    return create_app({"INSTANCE": str(instance), "TESTING": True, "SITE_URL_SET": False, **extra})


@pytest.fixture(scope="session")
def app(kb_instance):
    return make_app(kb_instance)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def empty_app(tmp_path):
    return make_app(tmp_path / "empty-instance")


def copy_instance(source: Path, target: Path, config: str = "") -> Path:
    """A copy of an instance folder (store and index) to write to, with `config` as its config.toml."""
    shutil.copytree(source, target)
    if config:
        (target / "config.toml").write_text(config, encoding="utf-8")
    return target


def mail_settings(port: int, site: str = "https://vanban.laichau.example", **sections: dict) -> str:
    """A config.toml sending mail through 127.0.0.1:`port`, with links under `site`."""
    text = (
        f'[site]\nurl = "{site}"\n[smtp]\nhost = "127.0.0.1"\nport = {port}\ntimeout = 5\n'
        '[mail]\nfrom = "Văn phòng HĐND tỉnh <vanban@laichau.example>"\n'
    )
    for name, values in sections.items():
        text += f"[{name}]\n" + "".join(f"{k} = {v!r}\n".replace("'", '"') for k, v in values.items())
    return text


def text_part(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def html_part(msg) -> str:
    return msg.get_body(("html",)).get_content()


# --- helpers for assertions on pages ------------------------------------------------------------
def page(client, url: str, status: int = 200):
    """GET an HTML page, check what every page must have, return its parsed tree."""
    from bs4 import BeautifulSoup

    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.data[:500])
    assert response.mimetype == "text/html"
    tree = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    assert tree.html["lang"] == "vi"
    assert tree.find("meta", attrs={"name": "viewport"})["content"].startswith("width=device-width")
    assert tree.title and tree.title.get_text(strip=True)
    assert tree.find("link", rel="search", type="application/opensearchdescription+xml")
    assert not tree.find("script", src=False), "inline scripts are not allowed"
    return tree


# --- a small JSON Schema checker for the subset the OpenAPI description uses (tests of the API) ---
def check(value, schema, spec, path="$"):
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return check(value, spec["components"]["schemas"][name], spec, path)
    if "oneOf" in schema:
        passing = 0
        for option in schema["oneOf"]:
            try:
                check(value, option, spec, path)
                passing += 1
            except AssertionError:
                pass
        assert passing == 1, f"{path}: {value!r} matches {passing} of oneOf"
        return
    types = schema.get("type")
    if types:
        types = types if isinstance(types, list) else [types]
        kinds = {
            "string": str,
            "integer": int,
            "number": (int, float),
            "boolean": bool,
            "object": dict,
            "array": list,
            "null": type(None),
        }
        ok = any(
            isinstance(value, kinds[t]) and not (t in ("integer", "number") and isinstance(value, bool)) for t in types
        )
        assert ok, f"{path}: {value!r} is not {types}"
    if value is None:
        return
    if "enum" in schema:
        assert value in schema["enum"], f"{path}: {value!r} not in {schema['enum']}"
    if schema.get("format") == "date":
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", value), f"{path}: {value!r} is not a date"
    if "pattern" in schema:
        assert re.search(schema["pattern"], value), f"{path}: {value!r} !~ {schema['pattern']}"
    if "minimum" in schema:
        assert value >= schema["minimum"], path
    if "maximum" in schema:
        assert value <= schema["maximum"], path
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        for name in schema.get("required", []):
            assert name in value, f"{path}: missing {name}"
        extra = schema.get("additionalProperties", True)
        for name, item in value.items():
            if name in properties:
                check(item, properties[name], spec, f"{path}.{name}")
            elif extra is False:
                raise AssertionError(f"{path}: undocumented property {name}")
            elif isinstance(extra, dict):
                check(item, extra, spec, f"{path}.{name}")
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            check(item, schema["items"], spec, f"{path}[{i}]")


def conforms(response, spec, path: str, method: str = "get"):
    """The response is one the description lists for this path, with a body of its schema."""
    documented = spec["paths"][path][method]["responses"]
    assert str(response.status_code) in documented, (path, response.status_code, response.data[:300])
    assert response.mimetype == "application/json"
    schema = documented[str(response.status_code)]["content"]["application/json"]["schema"]
    body = response.get_json()
    check(body, schema, spec)
    return body


def form_post(client, tree, selector: str, data: dict | None = None, **kwargs):
    """Submit the form `selector` of a parsed page: its hidden fields (the CSRF token among them), its
    checked radio buttons, then `data`; to its action (or the page's own address)."""
    form = tree.select_one(selector)
    assert form is not None, selector
    assert form["method"].lower() == "post"
    fields = {i["name"]: i.get("value", "") for i in form.find_all("input", type="hidden")}
    fields.update({i["name"]: i["value"] for i in form.find_all("input", type="radio") if i.has_attr("checked")})
    fields.update(data or {})
    return client.post(form.get("action") or kwargs.pop("url"), data=fields, **kwargs)


def parse(response):
    from bs4 import BeautifulSoup

    assert response.mimetype == "text/html", response.mimetype
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def texts(elements) -> list[str]:
    return [" ".join(e.get_text(" ", strip=True).split()) for e in elements]
