"""vbpl — Cơ sở dữ liệu quốc gia về văn bản pháp luật (Bộ Tư pháp), read through the JSON gateway
behind vbpl.vn (the site was relaunched on 2026-04-23 as an app over this API).

Endpoints, relative to `vbpl.base_url` (default https://vbpl-bientap-gateway.moj.gov.vn/api/qtdc/public):

- `POST /doc/all` — the list: `{"pageNumber": n, "pageSize": 50}` plus filters. Without `sortBy` the
  gateway answers newest-updated first (seen in the real response); `vbpl.sort_by` can ask for
  another order (banhmi uses `issueDate`). `data.total`, `data.items[]` with `id`, `docNum`,
  `title`, `docType`, `issueDate`, `effFrom`, `effTo`, `updatedDate`, `effStatus{code,name}`.
  Two kinds of feed: central documents (`agencyLevel: TRUNG_UONG`) and, per configured province,
  local ones (`agencyIds` when `vbpl.local_agency_ids` is set, else a title keyword search).
- `GET /doc/{id}` — details: metadata, `documentContent.content` (the HTML body, or null),
  `documentIssues[]` (signers), `documentFields[]`/`documentMajors[]`, `references[]` (relations).
- `GET /doc/provision/tree/{id}` — the Chương/Điều/Khoản tree; read when the body is unusable.
- `GET /doc/minio/buckets/vbpl/folders/{id}/files` — the files with presigned download URLs
  (`data[]` of `{fileName, presignedUrl, size, relatedType}`; this shape is taken from banhmi's
  client, no real response of it is saved); read when neither body nor tree has text (PDF-only
  documents, common for local resolutions).

Quirks handled: numeric legacy ids and UUID ids (kept as strings); raw control characters inside
the JSON; empty or CSS-only HTML bodies (treated as no body); PDF-only documents (text from the
file); paging where a page number past the end repeats page 1 (stop when a page brings no new id);
a 401 that needs one retry after visiting the vbpl.vn page of the document (session cookie).

History:
- 2026-11-26: written against the real responses of April 2026 saved in shared/pages.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

from kb import vocab
from kb.articles import split_articles
from kb.config import Setting, SourceInfo
from kb.model import Attachment, Document, Relation, Signer
from scrapers import attachments
from scrapers.base import (
    Entry,
    Feed,
    FileRef,
    Source,
    clean,
    file_kind,
    guarded,
    html_to_text,
    iso_date,
    province_of,
    require,
    usable_text,
)
from scrapers.errors import BadResponse, FetchError, LayoutChanged
from scrapers.http import parse_json

NAME = "vbpl"
DEFAULT_BASE_URL = "https://vbpl-bientap-gateway.moj.gov.vn/api/qtdc/public"
DEFAULT_SITE_URL = "https://vbpl.vn"
INFO = SourceInfo(  # declared by scrapers/__init__.py
    NAME,
    "Cơ sở dữ liệu quốc gia về văn bản pháp luật (vbpl.vn)",
    "vbpl",
    (
        Setting("vbpl", "base_url", DEFAULT_BASE_URL, "the JSON gateway behind vbpl.vn"),
        Setting("vbpl", "site_url", DEFAULT_SITE_URL, "the public site (links to documents)"),
        Setting("vbpl", "page_size", 50, "entries per listing request", minimum=1),
        Setting("vbpl", "sort_by", "", "empty: the gateway's order (newest updated first); or issueDate"),
        Setting("vbpl", "central_level", "TRUNG_UONG", "agencyLevel of the central feed; empty: one feed"),
        Setting("vbpl", "local_agency_ids", [], "gateway agency ids of the province's HĐND/UBND"),
        Setting("vbpl", "local_keywords", [], "title keywords of the local feeds (empty: the provinces)"),
    ),
)
_LIST_FIELDS = ("id", "docNum", "title", "issueDate", "updatedDate", "effStatus")
_DETAIL_FIELDS = (
    "docNum",
    "title",
    "docType",
    "issueDate",
    "effFrom",
    "effTo",
    "effStatus",
    "agencyName",
    "documentContent",
    "documentIssues",
    "references",
)
_HTML_FILE_TYPES = {"5", "MARKDOWN"}  # documentRelatedList entries that are the HTML body itself
_PLACEHOLDER_FILES = {"template.pdf"}


# --- pure parsers -----------------------------------------------------------------------------------
def _envelope(text_or_payload, url: str, method: str = "GET"):
    payload = parse_json(text_or_payload, url, method) if isinstance(text_or_payload, str) else text_or_payload
    if not isinstance(payload, dict):
        raise LayoutChanged(NAME, "a JSON object", url, f"got {type(payload).__name__}")
    if payload.get("success") is False:
        raise BadResponse(
            f"{method} {url}: the gateway answered success=false: "
            f"{clean(str(payload.get('message') or payload.get('messageCode') or ''))[:160]}",
            url,
        )
    return require(payload, "data", NAME, url)


def detail_url(doc_id: str, site_url: str = DEFAULT_SITE_URL) -> str:
    return f"{site_url.rstrip('/')}/van-ban/chi-tiet/{doc_id}"


@guarded(NAME, listing=True)
def parse_list(text, url: str, sort_by: str = "", site_url: str = DEFAULT_SITE_URL) -> tuple[list[Entry], int | None]:
    """Entries of one `POST /doc/all` page, and `data.total`."""
    data = _envelope(text, url, "POST")
    items = require(data, "items", NAME, url, "data.items")
    if not isinstance(items, list):
        raise LayoutChanged(NAME, "field 'data.items' (a list)", url)
    total = data.get("total") if isinstance(data, dict) else None
    entries = []
    for item in items:
        for name in _LIST_FIELDS:
            require(item, name, NAME, url, f"data.items[].{name}")
        doc_id = str(item["id"]).strip()
        status = (item.get("effStatus") or {}).get("code") or (item.get("effStatus") or {}).get("name")
        updated = item.get("updatedDate")
        sort_key = item.get(sort_by) if sort_by else (updated or item.get("issueDate"))
        entries.append(
            Entry(
                source_id=doc_id,
                fingerprint=f"{updated}|{status}|{item.get('effTo')}",
                sort_key=str(sort_key) if sort_key else None,
                url=detail_url(doc_id, site_url),
                number=clean(item.get("docNum")) or None,
                title=clean(item.get("title")),
                doc_type=clean((item.get("docType") or {}).get("name")) or None,
                issuer=clean(item.get("agencyName")) or None,
                data={"id": doc_id},
            )
        )
    return entries, total if isinstance(total, int) else None


@guarded(NAME, listing=False)
def parse_detail(text, url: str, site_url: str = DEFAULT_SITE_URL) -> Document:
    """The document of a `GET /doc/{id}` response: metadata, signers, relations, HTML body text."""
    d = _envelope(text, url)
    if not isinstance(d, dict):
        raise LayoutChanged(NAME, "field 'data' (an object)", url)
    doc_id = str(require(d, "id", NAME, url, "data.id")).strip()
    for name in _DETAIL_FIELDS:
        require(d, name, NAME, url, f"data.{name}")
    doc_type = d.get("docType") or {}
    status = d.get("effStatus") or {}
    issuer = clean(d.get("agencyName")) or clean((d.get("organization") or {}).get("name")) or None
    issues = sorted(
        (i for i in d.get("documentIssues") or [] if isinstance(i, dict)),
        key=lambda i: (i.get("orderIndex") is None, i.get("orderIndex") or 0),
    )
    if not issuer and issues:
        issuer = clean(issues[0].get("agencyName")) or None
    signers = [
        Signer(
            name=clean(i.get("personName")),
            title=clean(i.get("jobTitleName")) or None,
            issuer=clean(i.get("agencyName")) or None,
        )
        for i in issues
        if clean(i.get("personName"))
    ]
    fields = []
    for item in (d.get("documentFields") or []) + (d.get("documentMajors") or []):
        name = clean((item or {}).get("name") or ((item or {}).get("majorType") or {}).get("name"))
        if name and name not in fields:
            fields.append(name)

    content = (d.get("documentContent") or {}).get("content") if isinstance(d.get("documentContent"), dict) else None
    body = html_to_text(content)
    body_state = "html" if usable_text(body) else ("empty" if content else "none")
    if body_state != "html":
        body = ""

    relations = []
    for ref in d.get("references") or []:
        if not isinstance(ref, dict):
            continue
        target = require(ref, "targetDocument", NAME, url, "data.references[].targetDocument") or {}
        code = require(ref, "referenceType", NAME, url, "data.references[].referenceType")
        target_id = str(target.get("id")).strip() if target.get("id") not in (None, "") else None
        known = isinstance(code, int) and code in vocab.VBPL_REFERENCE_TYPES
        relations.append(
            Relation(
                type=vocab.relation_type(code),
                target_uid=f"{NAME}:{target_id}" if target_id else None,
                target_number=clean(target.get("docNum")) or None,
                target_title=clean(target.get("title")) or None,
                note=None if known else f"vbpl referenceType {code}",
                source=NAME,
            )
        )

    files = []
    for item in d.get("documentRelatedList") or []:
        name = clean((item or {}).get("fileName"))
        hint = str((item or {}).get("relatedType") or "")
        if not name or hint.upper() in _HTML_FILE_TYPES or name.lower().endswith((".html", ".htm")):
            continue
        if all(a.name != name for a in files):
            files.append(Attachment(name=name, kind=file_kind(name, hint)))
    for key in ("documentContentFileName", "documentContentFileDocName"):
        name = clean(d.get(key))
        if name and name.lower() not in _PLACEHOLDER_FILES and all(a.name != name for a in files):
            files.append(Attachment(name=name, kind=file_kind(name)))

    public = iso_date(d.get("publicDate"), "publicDate")
    doc = Document(
        uid=f"{NAME}:{doc_id}",
        source=NAME,
        source_id=doc_id,
        source_url=detail_url(doc_id, site_url),
        number=clean(d.get("docNum")) or None,
        title=clean(d.get("title")),
        doc_type=clean(doc_type.get("name")) or clean(doc_type.get("code")) or None,
        issuer=issuer,
        signers=signers,
        issued=iso_date(d.get("issueDate"), "issueDate"),
        effective=iso_date(d.get("effFrom"), "effFrom"),
        expires=iso_date(d.get("effTo"), "effTo"),
        status=vocab.status(status.get("code") or status.get("name")),
        fields=fields,
        scope=vocab.scope_of(issuer),
        province=province_of(issuer),
        gazette=f"Công báo ngày {public[8:10]}/{public[5:7]}/{public[:4]}" if public else None,
        text=body,
        articles=split_articles(body) if body else [],
        relations=relations,
        attachments=files,
        source_updated=clean(d.get("updatedDate")) or None,
        extra={
            "vbpl": {
                k: v
                for k, v in {
                    "doc_type_code": doc_type.get("code"),
                    "status_code": status.get("code"),
                    "status_name": status.get("name"),
                    "organization_code": (d.get("organization") or {}).get("code"),
                    "has_content": d.get("hasContent"),
                    "body": body_state,
                    "consolidated": d.get("isConsolidatedDocument"),
                }.items()
                if v is not None
            }
        },
    )
    if not (doc.title or doc.number):
        raise LayoutChanged(NAME, "a title or a number (data.title, data.docNum are empty)", url)
    return doc


@guarded(NAME, listing=False)
def parse_tree(text, url: str) -> tuple[str, list]:
    """Plain text and articles of a `GET /doc/provision/tree/{id}` response ([] for an empty tree)."""
    nodes = _envelope(text, url)
    if nodes is None:
        return "", []
    if not isinstance(nodes, list):
        raise LayoutChanged(NAME, "field 'data' (a list of provision nodes)", url)
    lines: list[str] = []

    def walk(items):
        for node in items:
            if not isinstance(node, dict):
                continue
            require(node, "title", NAME, url, "data[].title")
            level = str(node.get("level") or "")
            content = node.get("content") or {}
            if level.lower() == "article":
                lines.append(html_to_text(content.get("content") or node.get("title") or ""))
                continue  # the article's content already holds its clauses
            lines.append(clean(content.get("content") or node.get("title")))
            walk(node.get("children") or [])

    walk(nodes)
    text = "\n".join(line for line in lines if line)
    return text, split_articles(text)


@guarded(NAME, listing=False)
def parse_files(text, url: str) -> list[FileRef]:
    """Files of `GET /doc/minio/buckets/vbpl/folders/{id}/files`: name, presigned URL, kind."""
    data = _envelope(text, url)
    if data is None:
        return []
    if isinstance(data, dict):  # tolerate {"items": [...]}
        data = data.get("items") or data.get("files") or []
    if not isinstance(data, list):
        raise LayoutChanged(NAME, "field 'data' (a list of files)", url)
    refs = []
    for item in data:
        if not isinstance(item, dict):
            continue
        name = clean(item.get("fileName") or item.get("name"))
        link = item.get("presignedUrl") or item.get("url")
        if not name or not link:
            continue
        refs.append(
            FileRef(
                name=name,
                url=link,
                kind=file_kind(name, str(item.get("relatedType") or "")),
                size=item.get("size") if isinstance(item.get("size"), int) else None,
            )
        )
    return refs


# --- the source ---------------------------------------------------------------------------------------
class VbplFeed(Feed):
    def __init__(self, source: VbplSource, name: str, filters: dict, trusted_local: bool = False):
        super().__init__()
        self.source, self.name, self.filters, self.trusted_local = source, name, filters, trusted_local

    def entries(
        self, resume: int | None = None, since: str | None = None, watermark: str | None = None
    ) -> Iterator[Entry]:
        src = self.source
        url = f"{src.base_url}/doc/all"
        page = max(1, (resume or 1) - 1)  # one page back: deletions may have shifted items up
        seen: set[str] = set()
        while True:
            body = {"pageNumber": page, "pageSize": src.page_size, **self.filters}
            if src.sort_by:
                body.update(sortBy=src.sort_by, sortDirection="desc")
            payload = src.call("POST", url, body)
            entries, total = parse_list(payload, url, src.sort_by, src.site_url)
            fresh = [e for e in entries if e.source_id not in seen]
            if not fresh:
                return  # empty page, or a page number past the end repeating page 1
            for entry in fresh:
                seen.add(entry.source_id)
                entry.cursor = page
                yield entry
            if total is not None and not resume and len(seen) >= total:
                return
            page += 1


class VbplSource(Source):
    name = NAME
    config_section = "vbpl"
    default_base_url = DEFAULT_BASE_URL

    def __init__(self, fetcher, config=None, base_url=None, relevance=None, today=None):
        super().__init__(fetcher, config, base_url, relevance, today)
        s = self.settings
        self.site_url = (s["site_url"] or DEFAULT_SITE_URL).rstrip("/")
        self.page_size = s["page_size"]
        self.sort_by = s["sort_by"]
        self.central_level = s["central_level"]
        self.local_agency_ids = list(s["local_agency_ids"])
        self.local_keywords = [k for k in s["local_keywords"] if k] or self.relevance.provinces
        self.headers = {"Accept": "application/json", "Origin": self.site_url, "Referer": self.site_url + "/"}

    def feeds(self) -> list[Feed]:
        if self.relevance.all or not self.central_level:
            return [VbplFeed(self, "all", {})]
        feeds: list[Feed] = [VbplFeed(self, "central", {"agencyLevel": self.central_level})]
        if self.local_agency_ids:
            feeds.append(VbplFeed(self, "local", {"agencyIds": self.local_agency_ids}, trusted_local=True))
        else:
            for keyword in self.local_keywords:
                feeds.append(
                    VbplFeed(
                        self, f"local:{keyword}", {"keyword": keyword, "optionDoc": "title", "matchMode": "all_words"}
                    )
                )
        return feeds

    def call(self, method: str, url: str, payload=None, doc_id: str | None = None):
        """JSON of one gateway call. A 401/403 is retried once after visiting the vbpl.vn page
        (the gateway then accepts the session cookie the page sets)."""
        try:
            response = self.fetcher.request(method, url, json_body=payload, headers=self.headers)
        except FetchError as exc:
            if exc.status not in (401, 403):
                raise
            page = detail_url(doc_id, self.site_url) if doc_id else self.site_url + "/"
            self.fetcher.get(page, robots=True)
            try:
                response = self.fetcher.request(method, url, json_body=payload, headers=self.headers)
            except FetchError as again:
                if again.status in (401, 403):
                    raise FetchError(
                        f"{method} {url}: HTTP {again.status} even after visiting {page} "
                        f"(the gateway wants a browser session)",
                        url,
                        again.status,
                    ) from None
                raise
        return parse_json(response.text, response.url or url, method)

    def fetch(self, entry: Entry) -> Document:
        doc_id = entry.data.get("id") or entry.source_id
        url = f"{self.base_url}/doc/{quote(doc_id, safe='')}"
        doc = parse_detail(self.call("GET", url, doc_id=doc_id), url, self.site_url)
        if doc.text:
            return doc
        tree_url = f"{self.base_url}/doc/provision/tree/{quote(doc_id, safe='')}"
        text, articles = parse_tree(self.call("GET", tree_url, doc_id=doc_id), tree_url)
        if articles:
            doc.text, doc.articles = text, articles
            doc.extra["vbpl"]["body"] = "provision tree"
            return doc
        if self.download_attachments:
            self._text_from_files(doc, doc_id)
        return doc

    def _text_from_files(self, doc: Document, doc_id: str) -> None:
        files_url = f"{self.base_url}/doc/minio/buckets/vbpl/folders/{quote(doc_id, safe='')}/files"
        refs = parse_files(self.call("GET", files_url, doc_id=doc_id), files_url)
        for ref in refs:
            if all(a.name != ref.name for a in doc.attachments) and not ref.name.lower().endswith((".html", ".htm")):
                doc.attachments.append(Attachment(name=ref.name, kind=ref.kind))
        readable = [r for r in refs if not r.name.lower().endswith((".html", ".htm"))]  # the body, already read
        for ref in attachments.preferred(readable):
            response = self.fetcher.get(ref.url)  # presigned, expiring URL: fetched now, never stored
            got = attachments.extract_text(
                response.content, ref.name, response.content_type, ocr=self.ocr, limits=self.limits
            )
            if attachments.apply(doc, ref, got, "vbpl"):
                doc.extra["vbpl"]["body"] = f"file {ref.name}"
                return
