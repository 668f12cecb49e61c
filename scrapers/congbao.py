"""congbao — Công báo nước CHXHCN Việt Nam (congbao.chinhphu.vn, Văn phòng Chính phủ): the national
Official Gazette, for central documents as they are gazetted. Server-rendered HTML, robots.txt
allows everything; the client still reads robots.txt and keeps its delay.

- The feed: `{base}/cac-van-ban-moi-ban-hanh.rss`, the 50 newest documents, fetched with a
  conditional GET. `<title>` is often empty (type and number come from the link's slug),
  `<description>` is the trích yếu (HTML), `<link>` the document page, `<pubDate>` the watermark.
- The document page `/van-ban/{slug}-{docId}.htm`: metadata rows
  `<div class="row"><span class="name">LABEL</span><div class="value">…<span|a class="child-value">`
  with Loại văn bản, Số ký hiệu, Cơ quan ban hành, Trích yếu, Người ký, Ngày ban hành, Ngày hiệu
  lực, Công báo, and on some pages Lĩnh vực and Ngày hết hiệu lực; files in `div.list--open a[data-file]` whose download URLs carry an expiring
  token (fetched right away with `Referer: https://congbao.chinhphu.vn/`, never stored).
  The gazette gives no validity status: documents are stored with "Chưa xác định", which never
  overrides the status another source (vbpl) gives.
- The files' CDN (g7.cdnchinhphu.vn) is known to serve an incomplete certificate chain: set
  `http.ca_bundle` to a bundle that includes the missing intermediate rather than disabling checks.

No real page of this site is saved in shared/pages; the parsers follow the structure documented in
shared/pages/SOURCES.md §3 (from banhmi's client, verified 2026-05) and are tested on hand-made
fixtures of that structure (tests/fixtures/scrapers/congbao/).

History:
- 2026-11-26: written from SOURCES.md §3.
- 2026-12-06: every attribute row is read: "Lĩnh vực" into the fields (one value per child, or split at
  commas), "Ngày hết hiệu lực" into expires, and a page with rows beyond the known ones keeps them all as
  printed in extra["congbao_attributes"]; the issuer goes through the vocabulary ("CHÍNH PHỦ" -> "Chính
  phủ"). Fixture nghi-dinh-so-163-2016-nd-cp-20016.htm (hand-made in the site's structure: no real page of
  this site is saved).
"""

from __future__ import annotations

import email.utils
import re
from collections.abc import Iterator
from urllib.parse import urljoin

from bs4 import BeautifulSoup

from kb import vocab
from kb.config import Setting, SourceInfo
from kb.model import Attachment, Document
from kb.text import fold
from scrapers import attachments
from scrapers.base import Entry, Feed, FileRef, Source, clean, file_kind, guarded, html_to_text, iso_date, split_signer
from scrapers.errors import LayoutChanged

NAME = "congbao"
DEFAULT_BASE_URL = "https://congbao.chinhphu.vn"
INFO = SourceInfo(  # declared by scrapers/__init__.py
    NAME,
    "Công báo Chính phủ (congbao.chinhphu.vn)",
    "congbao",
    (Setting("congbao", "base_url", DEFAULT_BASE_URL, "the national Official Gazette"),),
)
RSS_PATH = "/cac-van-ban-moi-ban-hanh.rss"
_ID = re.compile(r"-(\d+)\.htm(?:[?#].*)?$")
_CODES = {
    "nd": "NĐ",
    "qd": "QĐ",
    "hdnd": "HĐND",
    "bgddt": "BGDĐT",
    "ttg": "TTg",
    "ttr": "TTr",
    "bkhdt": "BKHĐT",
    "bnnptnt": "BNNPTNT",
    "qdtt": "QĐTT",
}
_LABELS = {
    "loai van ban": "doc_type",
    "so ky hieu": "number",
    "co quan ban hanh": "issuer",
    "trich yeu": "title",
    "nguoi ky": "signer",
    "ngay ban hanh": "issued",
    "ngay hieu luc": "effective",
    "ngay co hieu luc": "effective",
    "ngay het hieu luc": "expires",
    "linh vuc": "fields",
    "cong bao": "gazette",
}
EXTRA = "congbao_attributes"  # Document.extra: every row of a page showing rows beyond the known ones
_KNOWN_PRINTED = frozenset(
    {
        "Loại văn bản",
        "Số ký hiệu",
        "Cơ quan ban hành",
        "Trích yếu",
        "Người ký",
        "Ngày ban hành",
        "Ngày hiệu lực",
        "Ngày có hiệu lực",
        "Ngày hết hiệu lực",
        "Lĩnh vực",
        "Công báo",
    }
)


def parse_slug(url: str) -> tuple[str | None, str | None, str | None]:
    """(id, doc_type, number) from '/van-ban/thong-tu-so-09-2020-tt-nhnn-144532.htm'."""
    match = _ID.search(url or "")
    if not match:
        return None, None, None
    slug = url[: match.start()].rsplit("/", 1)[-1]
    if "-so-" not in slug:
        return match.group(1), None, None
    kind, _, rest = slug.partition("-so-")
    parts = [p for p in rest.split("-") if p]
    number = None
    if (
        len(parts) > 2
        and parts[0].isdigit()
        and re.fullmatch(r"\d{1,3}", parts[1])
        and re.fullmatch(r"(19|20)\d{2}", parts[2])
    ):
        parts = [f"{parts[0]}.{parts[1]}"] + parts[2:]  # 66.14/2026/NQ-CP is written 66-14-2026-nq-cp
    if parts and re.fullmatch(r"\d+(\.\d+)?", parts[0]):
        head = [parts[0]]
        tail = parts[1:]
        if tail and re.fullmatch(r"(19|20)\d{2}", tail[0]):
            head.append(tail[0])
            tail = tail[1:]
        if tail:
            code = "-".join(_CODES.get(p, p.upper()) for p in tail)
            number = "/".join(head + [code])
    return match.group(1), vocab.doc_type(kind.replace("-", " ")), number


@guarded(NAME, listing=True)
def parse_rss(text: str, url: str) -> list[Entry]:
    """Entries of the RSS feed of newly published documents, in feed order (newest first)."""
    soup = BeautifulSoup(text, "xml")
    channel = soup.find("channel")
    if channel is None:
        raise LayoutChanged(NAME, "element 'rss > channel'", url)
    items = channel.find_all("item")
    entries = []
    for item in items:
        link, guid = _child(item, "link"), _child(item, "guid")
        page = urljoin(url, link or guid)
        doc_id, doc_type, number = parse_slug(page)
        if not doc_id:
            continue
        title = " ".join(html_to_text(_child(item, "description", raw=True)).split()) or _child(item, "title")
        published = _rss_date(_child(item, "pubDate"))
        entries.append(
            Entry(
                source_id=doc_id,
                fingerprint=f"{published}|{fold(title)[:200]}",
                sort_key=published,
                url=page.split("?")[0].split("#")[0],
                number=number,
                title=title,
                doc_type=doc_type,
                data={"url": page.split("#")[0]},
            )
        )
    if items and not entries:
        raise LayoutChanged(NAME, "item links of the form '/van-ban/…-<id>.htm'", url)
    return entries


@guarded(NAME, listing=False)
def parse_document(html: str, url: str) -> tuple[Document, list[FileRef]]:
    """The document of a `/van-ban/…-<id>.htm` page and its downloadable files."""
    soup = BeautifulSoup(html, "lxml")
    rows = soup.select("div.row > span.name")
    if not rows:
        raise LayoutChanged(NAME, "selector 'div.row > span.name'", url)
    values: dict[str, str] = {}
    fields: list[str] = []
    printed: dict[str, str] = {}  # every attribute row, known or not: nothing the page shows is dropped
    for name in rows:
        label = clean(name.get_text()).rstrip(":").strip()
        key = _LABELS.get(" ".join(fold(label).lower().replace(",", " ").replace(":", " ").split()))
        row = name.parent
        cell = row.select_one("div.value")
        if cell is None:
            continue
        child = cell.select(".child-value")
        parts = [clean(c.get_text(" ")) for c in child] if child else [clean(cell.get_text(" "))]
        parts = [p for p in parts if p]
        value = " ".join(parts)
        if value and label:
            printed[label] = "; ".join(parts)
        if key == "fields":
            fields += [f.strip() for p in parts for f in re.split(r"[;,]", p) if f.strip()]
        elif key and value:
            values[key] = value
    if "number" not in values and "title" not in values:
        raise LayoutChanged(NAME, "rows 'Số ký hiệu' and 'Trích yếu'", url)
    doc_id, slug_type, slug_number = parse_slug(url)
    if not doc_id:
        raise LayoutChanged(NAME, "a document id in the page URL ('-<id>.htm')", url)
    files = []
    for link in soup.select("div.list--open a[data-file], div.list--open a[href]"):
        name = clean(link.get("data-file") or link.get_text()).rsplit("/", 1)[-1]
        href = link.get("href")
        if name and href and all(f.name != name for f in files):
            files.append(FileRef(name=name, url=urljoin(url, href), kind=file_kind(name)))
    issuer = vocab.issuer(values.get("issuer"))  # "CHÍNH PHỦ" -> "Chính phủ", as facets and the checker use it
    signer = split_signer(values.get("signer"), issuer)
    doc = Document(
        uid=f"{NAME}:{doc_id}",
        source=NAME,
        source_id=doc_id,
        source_url=url.split("?")[0],
        number=values.get("number") or slug_number,
        title=values.get("title", ""),
        doc_type=values.get("doc_type") or slug_type,
        issuer=issuer,
        signers=[signer] if signer else [],
        issued=_date(values.get("issued")),
        effective=_date(values.get("effective")),
        expires=_date(values.get("expires")),
        fields=list(dict.fromkeys(fields)),
        status=vocab.UNKNOWN,
        scope=vocab.scope_of(issuer),
        gazette=values.get("gazette"),
        attachments=[Attachment(name=f.name, kind=f.kind) for f in files],
        extra={EXTRA: printed} if set(printed) - _KNOWN_PRINTED else {},
    )
    return doc, files


def _child(item, name: str, raw: bool = False) -> str:
    element = item.find(name, recursive=False)
    if element is None:
        return ""
    return element.get_text() if raw else clean(element.get_text())


def _date(value: str | None) -> str | None:
    match = re.search(r"\d{1,2}/\d{1,2}/\d{4}", value or "")
    return iso_date(match.group(0)) if match else None


def _rss_date(value: str) -> str | None:
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError):
        return None
    return when.isoformat() if when else None


class CongbaoFeed(Feed):
    name = "rss"

    def __init__(self, source: CongbaoSource):
        super().__init__()
        self.source = source

    def entries(self, resume=None, since=None, watermark=None) -> Iterator[Entry]:
        url = self.source.base_url + RSS_PATH
        response = self.source.fetcher.get(
            url, robots=True, etag=self.state.get("etag"), last_modified=self.state.get("last_modified")
        )
        if response.not_modified:
            return
        entries = parse_rss(response.text, url)
        self.new_state = {
            k: v for k, v in {"etag": response.etag, "last_modified": response.last_modified}.items() if v
        }
        yield from entries


class CongbaoSource(Source):
    name = NAME
    config_section = "congbao"
    default_base_url = DEFAULT_BASE_URL

    def feeds(self) -> list[Feed]:
        return [CongbaoFeed(self)]

    def fetch(self, entry: Entry) -> Document:
        url = entry.data.get("url") or entry.url
        response = self.fetcher.get(url, robots=True)
        doc, files = parse_document(response.text, url)
        if self.download_attachments:
            referer = {"Referer": self.base_url + "/"}
            for ref in attachments.preferred(files):
                got_response = self.fetcher.get(ref.url, headers=referer)
                got = attachments.extract_text(
                    got_response.content, ref.name, got_response.content_type, ocr=self.ocr, limits=self.limits
                )
                if attachments.apply(doc, ref, got, NAME):
                    break
        return doc
