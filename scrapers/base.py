"""What every source module shares: the listing record (`Entry`), the `Source` and `Feed` shapes the
refresh engine drives, the relevance filter, and small pure helpers (HTML to text, required-field
and required-element lookups that raise `LayoutChanged`, signer and province splitting).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

from bs4 import BeautifulSoup

from kb import vocab
from kb.config import defaults
from kb.model import Document, parse_date
from kb.numbers import parse_number
from kb.readers import Limits
from kb.text import fold, nfc
from scrapers.errors import BadResponse, LayoutChanged


# --- records ------------------------------------------------------------------------------------
@dataclass
class Entry:
    """One item of a source's listing, newest first. Enough to decide new / changed / unchanged
    without fetching the document, and to fetch it later (also from the retry queue: JSON-safe)."""

    source_id: str
    fingerprint: str  # changes when the source changes the document (id + stamp/status)
    sort_key: str | None = None  # ISO date or datetime the listing is sorted by (newest first)
    url: str | None = None
    number: str | None = None
    title: str = ""
    doc_type: str | None = None
    issuer: str | None = None
    cursor: int | None = None  # where an interrupted walk can resume (vbpl: the page)
    data: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> Entry:
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


@dataclass
class FileRef:
    """A downloadable file of a document, as a listing or detail page names it."""

    name: str
    url: str | None = None
    kind: str = "other"  # original, main, appendix, other (kb.model.ATTACHMENT_KINDS)
    size: int | None = None


class Feed:
    """One newest-first listing of a source (a source may have several: vbpl central and local).

    `state` is what the engine kept for this feed from the last completed walk (for example the
    RSS validators for a conditional GET); a feed that wants something kept sets `new_state`."""

    name = "all"
    trusted_local = False  # every local document listed here belongs to the province

    def __init__(self) -> None:
        self.state: dict = {}
        self.new_state: dict | None = None

    def entries(
        self, resume: int | None = None, since: str | None = None, watermark: str | None = None
    ) -> Iterator[Entry]:
        raise NotImplementedError


class Source:
    """One public source. Subclasses set `name` and implement `feeds()` and `fetch()`.

    Only the injected `fetcher` touches the network; parsing lives in pure module functions."""

    name = ""
    default_base_url = ""

    def __init__(
        self,
        fetcher,
        config=None,
        base_url: str | None = None,
        relevance: Relevance | None = None,
        today: dt.date | None = None,
    ):
        self.fetcher = fetcher
        self.config = config
        self.settings = config.section(self.config_section) if config is not None else defaults(self.config_section)
        self.base_url = (base_url or self.settings.get("base_url") or self.default_base_url).rstrip("/")
        self.relevance = relevance or Relevance()
        self.today = today or dt.date.today()
        refresh = config.section("refresh") if config is not None else defaults("refresh")
        self.download_attachments = refresh["attachments"]
        self.ocr = refresh["ocr"]
        self.limits = Limits.from_config(config) if config is not None else Limits()  # attachments' costs

    config_section = ""

    def not_configured(self) -> str | None:
        """Why this source cannot run with the current configuration (None when it can)."""
        return None if self.base_url else f"no base URL configured ({self.config_section}.base_url)"

    def feeds(self) -> list[Feed]:
        raise NotImplementedError

    def fetch(self, entry: Entry) -> Document:
        """The full document of a listing entry (details, articles, attachment text)."""
        raise NotImplementedError


# --- relevance ------------------------------------------------------------------------------------
class Relevance:
    """Which documents are relevant to HĐND work (config [relevance]).

    Default: central documents of the normative types (Luật, Nghị quyết, Nghị định, Quyết định,
    Thông tư, …) from any central issuer, plus every document of the configured province's own
    HĐND and UBND (any type)."""

    def __init__(self, all: bool = False, central_types=None, issuers=(), provinces=("Lai Châu",), local_types=()):
        self.all = bool(all)
        types = vocab.NORMATIVE_TYPES if central_types is None else central_types
        self.central_types = {vocab.doc_type(t) for t in types if t}
        self.issuers = [_folded(i) for i in issuers if i]
        self.provinces = [p for p in (nfc(p).strip() for p in provinces) if p]
        self._province_res = [re.compile(r"\b" + re.escape(_folded(p)) + r"\b") for p in self.provinces]
        self.local_types = {vocab.doc_type(t) for t in local_types if t}

    @classmethod
    def from_config(cls, config) -> Relevance:
        rel = config.section("relevance")
        provinces = rel["provinces"] or [config.get("province", "name")]
        central_types = rel.get("central_types")
        return cls(
            all=rel["all"],
            central_types=central_types if central_types else None,
            issuers=rel.get("issuers") or (),
            provinces=provinces,
            local_types=rel.get("local_types") or (),
        )

    def fingerprint(self) -> str:
        """Changes when the settings change, so entries skipped as irrelevant are looked at again."""
        data = [
            self.all,
            sorted(self.central_types),
            self.issuers,
            [_folded(p) for p in self.provinces],
            sorted(self.local_types),
        ]
        return hashlib.sha1(json.dumps(data, ensure_ascii=False).encode()).hexdigest()[:10]

    def mentions_province(self, *texts: str | None) -> bool:
        folded = " ".join(_folded(t) for t in texts if t)
        return any(r.search(folded) for r in self._province_res)

    def check_listing(self, entry: Entry, trusted_local: bool = False) -> bool | None:
        """From a listing entry alone: False when certainly not relevant (no need to fetch it),
        None when the details must decide."""
        if self.all:
            return None
        if is_local(entry.issuer, entry.number):
            if not (trusted_local or self.mentions_province(entry.issuer, entry.title)):
                return False
            if self.local_types and entry.doc_type and vocab.doc_type(entry.doc_type) not in self.local_types:
                return False
            return None
        if entry.doc_type and vocab.doc_type(entry.doc_type) not in self.central_types:
            return False
        return None

    def check(self, doc: Document, trusted_local: bool = False) -> bool:
        """The final decision, on the fetched document."""
        if self.all:
            return True
        if is_local(doc.issuer, doc.number) or doc.scope == vocab.LOCAL:
            if self.local_types and doc.doc_type not in self.local_types:
                return False
            if trusted_local:
                return True
            named = doc.province or province_of(doc.issuer)
            if named:  # the issuer names its province: that decides, not a mention in the title
                return self.mentions_province(named)
            return self.mentions_province(doc.issuer, doc.title)
        if doc.doc_type and doc.doc_type not in self.central_types:
            return False
        if self.issuers:
            issuer = _folded(doc.issuer or "")
            return any(i in issuer for i in self.issuers)
        return True


def is_local(issuer: str | None, number: str | None) -> bool:
    """A document of a province or commune (HĐND, UBND) rather than of a central body."""
    if issuer:
        return vocab.scope_of(issuer) == vocab.LOCAL
    parsed = parse_number(number or "")
    if parsed:
        codes = fold(parsed.code).upper()
        return bool(re.search(r"(?<![A-Z])(HDND|UBND|TTHDND)(?![A-Z])", codes))
    return False


_PROVINCE_OF = re.compile(r"(?:^|\s)(?:tỉnh|thành phố|tp\.?)\s+(.+)$", re.I)


def province_of(issuer: str | None) -> str | None:
    """'HĐND Tỉnh Đồng Nai' -> 'Đồng Nai'; 'HĐND Thành phố Huế' -> 'Huế'; central bodies -> None."""
    if not issuer or vocab.scope_of(issuer) != vocab.LOCAL:
        return None
    match = _PROVINCE_OF.search(nfc(issuer).strip())
    return match.group(1).strip() if match else None


def _folded(text: str | None) -> str:
    return " ".join(fold(nfc(text or "")).lower().split())


# --- pure helpers -----------------------------------------------------------------------------------
def require(obj, key: str, source: str, url: str, path: str | None = None):
    """obj[key] when the key exists (its value may be null); else LayoutChanged naming the field."""
    if not isinstance(obj, dict) or key not in obj:
        raise LayoutChanged(source, f"field '{path or key}'", url)
    return obj[key]


def require_one(soup, selector: str, source: str, url: str):
    """The first element matching a CSS selector; else LayoutChanged naming the selector."""
    element = soup.select_one(selector)
    if element is None:
        raise LayoutChanged(source, f"selector '{selector}'", url)
    return element


def iso_date(value, name: str = "date") -> str | None:
    """ISO date from the forms sources write ('2026-04-10T00:00:00', '13/7/2026'); None when empty."""
    if value in (None, ""):
        return None
    return parse_date(str(value).strip(), name)


def clean(text: str | None) -> str:
    return " ".join(nfc(text or "").split())


_BLOCKS = (
    "p",
    "div",
    "tr",
    "li",
    "ul",
    "ol",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "header",
    "footer",
    "blockquote",
    "pre",
    "dd",
    "dt",
    "td",
    "th",
    "center",
)
_CSS_LINE = re.compile(r"^\s*(@[\w-]+|[^{}]*\{[^{}]*:[^{}]*\}?|[\w-]+\s*:\s*[^:]+;)\s*$")


def html_to_text(html: str | None) -> str:
    """Readable plain text of an HTML body: one line per block, whitespace collapsed, no CSS/JS."""
    if not html or not html.strip():
        return ""
    soup = BeautifulSoup(html, "lxml")
    for tag in soup(["script", "style", "head", "noscript", "template", "title", "meta", "link"]):
        tag.decompose()
    for br in soup.find_all("br"):
        br.replace_with("\n")
    for tag in soup.find_all(_BLOCKS):
        tag.insert_before("\n")
        tag.insert_after("\n")
    lines = (" ".join(nfc(line).split()) for line in soup.get_text().split("\n"))
    return "\n".join(line for line in lines if line and not _CSS_LINE.match(line))


def usable_text(text: str, minimum: int = 200) -> bool:
    """A body with real content: at least `minimum` letters (an empty or CSS-only shell has none)."""
    return sum(ch.isalpha() for ch in text) >= minimum


_SIGNER_TITLE = re.compile(
    r"^(?P<title>.*(?:UBND|HĐND|TTHĐND|Chủ tịch|Chủ nhiệm|Bộ trưởng|Thứ trưởng|Thủ tướng|Giám đốc|"
    r"Chánh văn phòng|Tổng Bí thư|Chủ tịch nước|Trưởng ban|Phó Trưởng ban))\s+(?P<name>\S.*)$"
)


def split_signer(text: str | None, issuer: str | None = None):
    """'Phó Chủ tịch UBND Nguyễn Thành Công' -> Signer(name='Nguyễn Thành Công', title='Phó Chủ tịch UBND')."""
    from kb.model import Signer

    value = clean(text)
    if not value:
        return None
    match = _SIGNER_TITLE.match(value)
    if match and match.group("name")[:1].isupper():
        return Signer(name=match.group("name").strip(), title=match.group("title").strip(), issuer=issuer)
    return Signer(name=value, title=None, issuer=issuer)


def file_kind(name: str, hint: str | None = None) -> str:
    """Attachment kind from its file name (and a source's own type hint)."""
    folded = fold(name).lower()
    hint = (hint or "").upper()
    if hint == "APPENDIX" or re.search(r"(^|[^a-z])(phu ?luc|pl\d)", folded):
        return "appendix"
    if folded.startswith("vanbangoc") or "signed" in folded or hint == "1":
        return "original"
    if folded.endswith((".docx", ".doc")) or hint == "2":
        return "main"
    return "other"


def fingerprint_of(*parts) -> str:
    """A short stable hash of listing values (for sources without an update stamp)."""
    return hashlib.sha1(json.dumps(parts, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()[:16]


def guarded(source: str, listing: bool):
    """Decorator for a pure parser `parse_x(text, url, ...)`: a value of an unexpected type deep in a
    response (a string where an object was, null where a list was) must not escape as a TypeError
    naming neither source nor URL. On a listing it means the layout changed (the source stops); on
    one document's response it fails that document only."""

    def wrap(parse):
        @functools.wraps(parse)
        def run(text, url, *args, **kwargs):
            try:
                return parse(text, url, *args, **kwargs)
            except (TypeError, AttributeError, KeyError, IndexError, ValueError) as exc:
                detail = f"{type(exc).__name__}: {exc}"[:200]
                if listing:
                    raise LayoutChanged(source, "the expected structure", url, detail) from None
                raise BadResponse(f"{source}: cấu trúc không như dự kiến ở {url} ({detail})", url) from None

        return run

    return wrap
