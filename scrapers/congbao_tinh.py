"""congbao_tinh — a provincial Official Gazette (Công báo tỉnh) running the Lotus Domino `congbao.nsf`
product, configured by host (config [gazette]: `base_url`, `path`, `province`). The real pages of
Sơn La's (congbao.sonla.gov.vn, a neighbour of Lai Châu) are the reference; whether Lai Châu runs
the same product is not verified.

Walk, newest first, per year (`GazettesByYearMonth?openView&Count=-1&RestrictToCategory={year}`):
the gazette issues (`span[doccate][value="Số 47 Ngày 25/7/2026"]`), then for each issue its
documents (`DocumentsByGazette?openView&Count=-1&RestrictToCategory={doccate}`: rows with the
issue date, `a[href*=ParentUNID]` holding `span.doc-cate` and `span.doc-notation`, the trích yếu,
`div.download-links a` attachments and the page; `th.level1-heading` / `th.level2-heading` give the
part of the gazette and the issuing body). For a new document, the attributes view
(`ThuocTinh?openForm&ParentUNID={UNID}`: `table.tbl-attributes` rows `<th>label</th><td>value</td>`
with Số, ký hiệu · Ngày ban hành · Cơ quan ban hành · Người ký · Loại văn bản · Lĩnh vực · Trích yếu ·
Ngày hiệu lực · Ngày hết hiệu lực · Tình trạng hiệu lực · Công báo · Trang) and the attachments
(`/{UNID}/$file/{name}`: .doc, .docx, .pdf) for the text.

Limits: a status change of an old document does not show in the issue lists; `kb refresh --full`
re-reads them (vbpl, which ranks higher, carries statuses of local documents too). The server is
fragile: keep `http.delay` at 1.5 s or more for it. The attributes view is known from a scraper's
code (SOURCES.md §5.1), not from a saved page: tests use a hand-made page of that structure.

History:
- 2026-11-26: written against the real Sơn La pages of August 2026 saved in shared/pages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import unquote, urljoin

from bs4 import BeautifulSoup

from kb import vocab
from kb.config import Setting, SourceInfo
from kb.model import Attachment, Document
from kb.numbers import parse_number
from kb.text import fold
from scrapers import attachments
from scrapers.base import (
    Entry,
    Feed,
    FileRef,
    Source,
    clean,
    file_kind,
    fingerprint_of,
    guarded,
    iso_date,
    require_one,
    split_signer,
)
from scrapers.errors import LayoutChanged

NAME = "congbao_tinh"
INFO = SourceInfo(  # declared by scrapers/__init__.py
    NAME,
    "Công báo tỉnh (Lotus Domino congbao.nsf)",
    "gazette",
    (
        Setting("gazette", "base_url", "", "e.g. https://congbao.sonla.gov.vn; empty: not configured"),
        Setting("gazette", "path", "congbao.nsf", "the Domino database under base_url"),
        Setting("gazette", "province", "", "empty: province.name"),
        Setting("gazette", "first_year", 0, "oldest year of the first walk (0: last year)", minimum=0),
    ),
)
_UNID = re.compile(r"ParentUNID=([0-9A-Fa-f]{32})")
_ISSUE = re.compile(r"Số\s+(?P<no>.+?)\s+Ngày\s+(?P<date>\d{1,2}/\d{1,2}/\d{4})", re.I)
_EMPTY_VIEW = re.compile(r"No documents found|Không tìm thấy", re.I)
_LABELS = {
    "so ky hieu": "number",
    "so, ky hieu": "number",
    "ngay ban hanh": "issued",
    "co quan ban hanh": "issuer",
    "nguoi ky": "signer",
    "loai van ban": "doc_type",
    "linh vuc": "fields",
    "trich yeu": "title",
    "ngay hieu luc": "effective",
    "ngay co hieu luc": "effective",
    "ngay het hieu luc": "expires",
    "tinh trang hieu luc": "status",
    "cong bao": "gazette",
    "trang": "page",
}


@dataclass
class Issue:
    doccate: str  # the view category, URL-encoded as the page writes it: '2026%2FNo.%7B47%7D'
    label: str  # 'Số 47 Ngày 25/7/2026'
    number: str | None  # '47', '44 + 45'
    date: str | None  # ISO
    url: str | None


# --- pure parsers -----------------------------------------------------------------------------------
@guarded(NAME, listing=True)
def parse_issues(html: str, url: str) -> list[Issue]:
    """Gazette issues of one `GazettesByYearMonth` view, newest first."""
    soup = BeautifulSoup(html, "lxml")
    spans = soup.select("span[doccate]")
    if not spans:
        if _EMPTY_VIEW.search(soup.get_text(" ")):
            return []
        raise LayoutChanged(NAME, "selector 'span[doccate]'", url)
    issues = []
    for span in spans:
        label = clean(span.get("value") or "")
        match = _ISSUE.search(label)
        link = span.find_parent("a")
        issues.append(
            Issue(
                doccate=span["doccate"],
                label=label,
                number=clean(match.group("no")) if match else None,
                date=iso_date(match.group("date")) if match else None,
                url=urljoin(url, link["href"]) if link and link.get("href") else None,
            )
        )
    return issues


@guarded(NAME, listing=True)
def parse_gazette_documents(html: str, url: str, issue: Issue | None = None) -> list[Entry]:
    """Documents of one gazette issue (`DocumentsByGazette` view), in the order printed."""
    if "<table" not in html.lower():
        html = f"<table>{html}</table>"  # the view answers bare rows
    soup = BeautifulSoup(html, "lxml")
    links = soup.select("a[href*='ParentUNID=']")
    if not links:
        if _EMPTY_VIEW.search(soup.get_text(" ")):
            return []
        raise LayoutChanged(NAME, "selector \"a[href*='ParentUNID=']\"", url)
    if not soup.select("span.doc-notation"):
        raise LayoutChanged(NAME, "selector 'span.doc-notation'", url)
    section = issuer = None
    entries = []
    for row in soup.select("tr"):
        heading = row.select_one("th.level1-heading")
        if heading:
            section = clean(heading.get_text())
            continue
        heading = row.select_one("th.level2-heading")
        if heading:
            issuer = clean(heading.get_text())
            continue
        link = row.select_one("a[href*='ParentUNID=']")
        if link is None:
            continue
        unid = _UNID.search(link["href"]).group(1).upper()
        cells = row.find_all("td", recursive=False)
        cate = link.select_one("span.doc-cate")
        notation = link.select_one("span.doc-notation")
        cate_text = clean(cate.get_text()) if cate else None
        notation_text = clean(notation.get_text()) if notation else ""
        title_parts = [t for t in link.find_all(string=True, recursive=False)]
        title = clean(" ".join(title_parts))
        parsed = parse_number(notation_text)
        number = parsed.canonical if parsed else (notation_text or None)
        issued = (
            iso_date(clean(cells[0].get_text()))
            if cells and re.fullmatch(r"\d{1,2}/\d{1,2}/\d{4}", clean(cells[0].get_text()))
            else None
        )
        files = [
            FileRef(
                name=clean(a.get_text()) or unquote(a["href"].rsplit("/", 1)[-1]),
                url=urljoin(url, a["href"]),
                kind=file_kind(clean(a.get_text())),
            )
            for a in row.select("div.download-links a[href]")
        ]
        page = clean(cells[-1].get_text()) if cells and clean(cells[-1].get_text()).isdigit() else None
        data = {
            "unid": unid,
            "issued": issued,
            "cate": cate_text,
            "issuer": issuer,
            "section": section,
            "page": page,
            "gazette": issue.label if issue else None,
            "files": [{"name": f.name, "url": f.url, "kind": f.kind} for f in files],
        }
        entries.append(
            Entry(
                source_id=unid,
                fingerprint=fingerprint_of(number, issued, cate_text, title, [f.name for f in files]),
                sort_key=(issue.date if issue and issue.date else issued),
                url=urljoin(url, f"NoiDung?openForm&ParentUNID={unid}"),
                number=number,
                title=title,
                doc_type=cate_text,
                issuer=issuer,
                data=data,
            )
        )
    return entries


@guarded(NAME, listing=False)
def parse_attributes(html: str, url: str) -> dict[str, str]:
    """Label -> value of the attributes view (`ThuocTinh`), keyed by canonical names."""
    soup = BeautifulSoup(html, "lxml")
    table = require_one(soup, "table.tbl-attributes", NAME, url)
    values: dict[str, str] = {}
    for row in table.select("tr"):
        label, value = row.find("th"), row.find("td")
        if label is None or value is None:
            continue
        key = _LABELS.get(" ".join(fold(clean(label.get_text())).lower().rstrip(":").split()))
        text = clean(value.get_text(" "))
        if key and text:
            values[key] = text
    if "number" not in values and "title" not in values:
        raise LayoutChanged(NAME, "rows 'Số, ký hiệu' and 'Trích yếu' in table.tbl-attributes", url)
    return values


def build_document(entry: Entry, attributes: dict[str, str], province: str, source_url: str) -> Document:
    """The document from its listing row and its attributes (the attributes win)."""
    data = entry.data
    issuer = _full_issuer(attributes.get("issuer") or data.get("issuer"), province)
    signer = split_signer(attributes.get("signer"), issuer)
    gazette = attributes.get("gazette") or data.get("gazette")
    page = attributes.get("page") or data.get("page")
    if gazette and page:
        gazette = f"{gazette}, trang {page}"
    fields = [clean(f) for f in re.split(r"[;,]", attributes.get("fields", "")) if clean(f)]
    files = [FileRef(**f) for f in data.get("files") or []]
    return Document(
        uid=f"{NAME}:{entry.source_id}",
        source=NAME,
        source_id=entry.source_id,
        source_url=source_url,
        number=attributes.get("number") or entry.number,
        title=attributes.get("title") or entry.title,
        doc_type=attributes.get("doc_type") or data.get("cate"),
        issuer=issuer,
        signers=[signer] if signer else [],
        issued=_date(attributes.get("issued")) or data.get("issued"),
        effective=_date(attributes.get("effective")),
        expires=_date(attributes.get("expires")),
        status=vocab.status(attributes.get("status")),
        fields=fields,
        scope=vocab.LOCAL,
        province=province,
        gazette=gazette,
        attachments=[Attachment(name=f.name, url=f.url, kind=f.kind) for f in files],
        extra={
            NAME: {
                k: v
                for k, v in {
                    "unid": entry.source_id,
                    "category": data.get("cate"),
                    "section": data.get("section"),
                    "page": page,
                }.items()
                if v
            }
        },
    )


def _full_issuer(issuer: str | None, province: str) -> str | None:
    """'UBND Tỉnh' -> 'UBND Tỉnh Sơn La' (the gazette leaves its own province implicit)."""
    if not issuer:
        return None
    if (
        re.fullmatch(r"(UBND|HĐND|Thường trực HĐND|Ủy ban nhân dân|Hội đồng nhân dân)\s+tỉnh", issuer, re.I)
        and province
    ):
        return f"{issuer} {province}"
    return issuer


def _date(value: str | None) -> str | None:
    match = re.search(r"\d{1,2}/\d{1,2}/\d{4}", value or "")
    return iso_date(match.group(0)) if match else None


# --- the source ---------------------------------------------------------------------------------------
class GazetteFeed(Feed):
    name = "gazettes"
    trusted_local = True  # everything in the province's own gazette is the province's

    def __init__(self, source: CongbaoTinhSource):
        super().__init__()
        self.source = source

    def entries(self, resume=None, since=None, watermark=None) -> Iterator[Entry]:
        src = self.source
        this_year = src.today.year
        if since:
            floor = int(since[:4])
        elif watermark:
            floor = int(watermark[:4]) - 1
        else:
            floor = src.settings["first_year"] or this_year - 1
        for year in range(this_year, floor - 1, -1):
            url = f"{src.root}/GazettesByYearMonth?openView&Count=-1&RestrictToCategory={year}"
            for issue in parse_issues(src.fetcher.get(url, robots=True).text, url):
                docs_url = f"{src.root}/DocumentsByGazette?openView&Count=-1&RestrictToCategory={issue.doccate}"
                yield from parse_gazette_documents(src.fetcher.get(docs_url, robots=True).text, docs_url, issue)


class CongbaoTinhSource(Source):
    name = NAME
    config_section = "gazette"
    default_base_url = ""

    def __init__(self, fetcher, config=None, base_url=None, relevance=None, today=None):
        super().__init__(fetcher, config, base_url, relevance, today)
        path = (self.settings["path"] or "congbao.nsf").strip("/")
        self.root = f"{self.base_url}/{path}" if self.base_url else ""
        self.province = self.settings.get("province") or (config.get("province", "name") if config is not None else "")

    def not_configured(self) -> str | None:
        if not self.base_url:
            return (
                "no provincial gazette configured (set gazette.base_url, e.g. "
                "https://congbao.sonla.gov.vn, or KB_GAZETTE_BASE_URL)"
            )
        return None

    def feeds(self) -> list[Feed]:
        return [GazetteFeed(self)]

    def fetch(self, entry: Entry) -> Document:
        unid = entry.data.get("unid") or entry.source_id
        url = f"{self.root}/ThuocTinh?openForm&ParentUNID={unid}"
        values = parse_attributes(self.fetcher.get(url, robots=True).text, url)
        doc = build_document(entry, values, self.province, f"{self.root}/NoiDung?openForm&ParentUNID={unid}")
        if self.download_attachments:
            for ref in attachments.preferred([FileRef(**f) for f in entry.data.get("files") or []]):
                response = self.fetcher.get(ref.url, robots=True)
                got = attachments.extract_text(
                    response.content, ref.name, response.content_type, ocr=self.ocr, limits=self.limits
                )
                if attachments.apply(doc, ref, got, NAME):
                    break
        return doc
