"""The document model: one record per legal document, with its articles, relations, signers and
attachments, and its (de)serialisation to the documented JSON schema (docs/SCHEMA.md)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, fields

from kb import vocab
from kb.errors import RecordError
from kb.numbers import normalize_number, number_key, parse_number
from kb.text import fold, nfc, safe_link, slug, strip_bidi

ATTACHMENT_KINDS = ("original", "main", "appendix", "other")


@dataclass
class Signer:
    name: str
    title: str | None = None  # chức danh: "Chủ tịch"
    issuer: str | None = None  # on behalf of which body


@dataclass
class Article:
    """One Điều (or a Chương heading's article group member), addressable by its anchor."""

    number: str  # "15", "1a"
    heading: str | None = None  # "Phạm vi điều chỉnh"
    text: str = ""
    chapter: str | None = None  # "Chương II. QUY ĐỊNH CHUNG"
    anchor: str = ""  # "dieu-15"; unique within the document

    def clauses(self) -> list[tuple[str, str]]:
        """The numbered khoản of the article: [("1", "text of khoản 1"), ...]."""
        parts = re.split(r"(?m)^\s*(\d{1,3}[a-z]?)\.\s+", self.text)
        return [(parts[i], parts[i + 1].strip()) for i in range(1, len(parts) - 1, 2)]


@dataclass
class Relation:
    """What this document does to another one (type from vocab.RELATION_TYPES)."""

    type: str
    target_uid: str | None = None
    target_number: str | None = None
    target_title: str | None = None
    note: str | None = None  # e.g. "khoản 2 Điều 5"
    source: str | None = None  # which source reported it

    @property
    def target_key(self) -> str | None:
        return number_key(self.target_number) if self.target_number else None

    def identity(self) -> tuple:
        return (self.type, self.target_uid or self.target_key or fold(self.target_title or "").lower(), self.note)


@dataclass
class ChangedBy:
    """What another document did to this one, as this document's source notes it (a pháp điển
    `amendment_note`): the reverse of a relation, kept when the other document is not stored."""

    type: str  # sua_doi, thay_the, bai_bo, dinh_chi (vocab.REL_*)
    article: str | None = None  # the article of this document concerned ("28"); None: the whole document
    by_number: str | None = None  # the acting document: "52/2019/QH14"
    by_uid: str | None = None
    by_type: str | None = None  # "Luật"
    by_title: str | None = None
    by_article: str | None = None  # "Điều 2"
    effective: str | None = None  # ISO date from which it applies
    note: str | None = None  # the note as written
    source: str | None = None
    whole: bool = True  # False: part of the article only ("có nội dung bị bãi bỏ")


@dataclass
class Attachment:
    name: str
    url: str | None = None
    kind: str = "other"  # original (scan), main (text), appendix, other
    text: str | None = None  # extracted text, when any
    scanned: bool = False  # a PDF without a text layer


@dataclass
class Document:
    uid: str  # "<source>:<source id>"
    source: str
    source_id: str
    source_url: str | None = None
    number: str | None = None  # số ký hiệu
    title: str = ""  # trích yếu
    doc_type: str | None = None  # loại văn bản
    issuer: str | None = None  # cơ quan ban hành
    signers: list[Signer] = field(default_factory=list)
    issued: str | None = None  # ngày ban hành, ISO
    effective: str | None = None  # ngày có hiệu lực
    expires: str | None = None  # ngày hết hiệu lực
    status: str = vocab.UNKNOWN  # tình trạng hiệu lực
    fields: list[str] = field(default_factory=list)  # lĩnh vực
    scope: str | None = None  # Trung ương / Địa phương
    province: str | None = None  # the province (or commune) of a local document
    gazette: str | None = None  # công báo: number/date
    text: str = ""
    articles: list[Article] = field(default_factory=list)
    relations: list[Relation] = field(default_factory=list)
    changed_by: list[ChangedBy] = field(default_factory=list)  # reverse relations noted by the source
    attachments: list[Attachment] = field(default_factory=list)
    source_updated: str | None = None  # the source's own last-modified stamp
    provenance: dict[str, str] = field(default_factory=dict)  # field -> source that supplied it
    extra: dict = field(default_factory=dict)

    # --- derived ---------------------------------------------------------------------------
    @property
    def number_key(self) -> str | None:
        return number_key(self.number) if self.number else None

    @property
    def key(self) -> str | None:
        """Cross-source identity: normalised number + issuing body + ngày ban hành."""
        if not (self.number and self.issued):
            return None
        issuer = re.sub(r"\s+", " ", fold(nfc(self.issuer or "")).lower()).strip()
        return f"{self.number_key}|{issuer}|{self.issued}"

    @property
    def year(self) -> int | None:
        if self.issued:
            return int(self.issued[:4])
        parsed = parse_number(self.number or "")
        return parsed.year if parsed else None

    def text_hash(self) -> str:
        """Hash of the normalised text and articles: whitespace and layout changes are no change."""
        digest = hashlib.sha256()
        digest.update(" ".join(self.text.split()).encode())
        for art in self.articles:
            digest.update(b"\x1e" + " ".join(f"{art.number} {art.heading or ''} {art.text}".split()).encode())
        return digest.hexdigest()

    def display_name(self) -> str:
        head = " ".join(x for x in (self.doc_type, self.number) if x)
        return f"{head} {self.title}".strip() if head else self.title

    # --- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The document as plain JSON data; the same as dataclasses.asdict(self), about five times faster
        (asdict deep-copies every value through copy.deepcopy: a third of a bulk import's time)."""
        return _plain(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict) -> Document:
        """Build and normalise a document from the JSON schema; raise RecordError saying what is wrong."""
        if not isinstance(data, dict):
            raise RecordError("một văn bản phải là một đối tượng JSON")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise RecordError(f"trường không có trong lược đồ: {', '.join(unknown)}")
        uid = data.get("uid")
        if not isinstance(uid, str) or ":" not in uid or not uid.split(":", 1)[1]:
            raise RecordError("'uid' phải là chuỗi dạng '<nguồn>:<mã ở nguồn>'")
        source, source_id = uid.split(":", 1)
        if data.get("source", source) != source or str(data.get("source_id", source_id)) != source_id:
            raise RecordError(f"'source' và 'source_id' phải khớp với uid {uid!r}")
        try:
            doc = cls(
                uid=uid,
                source=source,
                source_id=source_id,
                source_url=_opt_str(data, "source_url"),
                number=_opt_str(data, "number"),
                title=_opt_str(data, "title") or "",
                doc_type=_opt_str(data, "doc_type"),
                issuer=_opt_str(data, "issuer"),
                signers=[Signer(**_obj(s, Signer)) for s in _list(data, "signers")],
                issued=_date(data, "issued"),
                effective=_date(data, "effective"),
                expires=_date(data, "expires"),
                status=_opt_str(data, "status") or vocab.UNKNOWN,
                fields=[nfc(_text(f, "'fields'")) for f in _list(data, "fields")],
                scope=_opt_str(data, "scope"),
                province=_opt_str(data, "province"),
                gazette=_opt_str(data, "gazette"),
                text=_opt_str(data, "text") or "",
                articles=[Article(**_obj(a, Article)) for a in _list(data, "articles")],
                relations=[Relation(**_obj(r, Relation)) for r in _list(data, "relations")],
                changed_by=[ChangedBy(**_obj(c, ChangedBy)) for c in _list(data, "changed_by")],
                attachments=[Attachment(**_obj(a, Attachment)) for a in _list(data, "attachments")],
                source_updated=_opt_str(data, "source_updated"),
                provenance=_mapping(data, "provenance", values=str),
                extra=_mapping(data, "extra"),
            )
        except TypeError as exc:  # a nested object with a missing or extra key
            raise RecordError(str(exc)) from None
        if not (doc.title or doc.number):
            raise RecordError("văn bản cần có 'title' (tên) hoặc 'number' (số ký hiệu)")
        return normalise(doc)


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _plain(value):
    """A copy of `value` made of dicts, lists and immutable values only: what asdict() returns for the
    model's dataclasses and the JSON values they hold (tuples become lists of the same type, as in asdict)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    names = _FIELD_NAMES.get(type(value))
    if names is None and hasattr(type(value), "__dataclass_fields__"):
        names = _FIELD_NAMES[type(value)] = tuple(f.name for f in fields(value))
    if names is not None:
        return {name: _plain(getattr(value, name)) for name in names}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return _asdict_value(value)


def _asdict_value(value):
    """What asdict() makes of any other value (a tuple, a set, an object): its own rules."""
    return asdict(_Holder(value))["value"]


@dataclass
class _Holder:
    value: object


CONTENT_RULES = 1  # bumped when normalise() cleans more: the store re-cleans its records on open


def normalise(doc: Document) -> Document:
    """NFC everywhere, canonical vocabularies, unique article anchors; links only http/https and no bidi
    control characters in titles, numbers and names (the body text is data and kept). Returns the same object."""
    doc.title = " ".join(strip_bidi(nfc(doc.title)).split())
    doc.number = normalize_number(strip_bidi(doc.number))
    doc.source_url = safe_link(doc.source_url)
    doc.doc_type = vocab.doc_type(doc.doc_type)
    if doc.doc_type is None and doc.number:
        parsed = parse_number(doc.number)
        if parsed and parsed.type_code:
            doc.doc_type = vocab.doc_type(parsed.type_code)
    doc.issuer = vocab.issuer(strip_bidi(doc.issuer))  # the canonical name, whatever the source printed ("CHÍNH PHỦ")
    doc.status = vocab.status(doc.status) if doc.status not in vocab.STATUSES else doc.status
    doc.scope = doc.scope or vocab.scope_of(doc.issuer)
    doc.text = nfc(doc.text).strip()
    for signer in doc.signers:
        signer.name = strip_bidi(nfc(signer.name)).strip()
    seen: set[str] = set()
    for art in doc.articles:
        art.number = nfc(str(art.number)).strip()
        art.heading = " ".join(strip_bidi(nfc(art.heading)).split()) or None if art.heading else None
        art.text = nfc(art.text).strip()
        art.chapter = nfc(art.chapter).strip() or None if art.chapter else None
        anchor = art.anchor or ("dieu-" + slug(art.number) if art.number else "dieu")
        base, n = anchor, 1
        while anchor in seen:
            n += 1
            anchor = f"{base}-{n}"
        seen.add(anchor)
        art.anchor = anchor
    for rel in doc.relations:
        rel.type = vocab.relation_type(rel.type)
        rel.target_number = normalize_number(strip_bidi(rel.target_number))
        rel.target_title = " ".join(strip_bidi(nfc(rel.target_title)).split()) or None if rel.target_title else None
        rel.source = rel.source or doc.source
    for note in doc.changed_by:
        note.type = vocab.relation_type(note.type)
        note.by_number = normalize_number(note.by_number)
        note.effective = parse_date(note.effective, "changed_by.effective") if note.effective else None
        note.source = note.source or doc.source
    for att in doc.attachments:
        att.name = strip_bidi(att.name) or att.name
        att.url = safe_link(att.url)
        if att.kind not in ATTACHMENT_KINDS:
            att.kind = "other"
    return doc


def _opt_str(data: dict, name: str) -> str | None:
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise RecordError(f"'{name}' phải là chuỗi, không phải {type(value).__name__}")
    return nfc(value)


def _list(data: dict, name: str) -> list:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordError(f"'{name}' phải là một danh sách")
    return value


def _obj(value, kind) -> dict:
    name = kind.__name__.lower()
    if not isinstance(value, dict):
        raise RecordError(f"mỗi phần tử của {name} phải là một đối tượng JSON")
    allowed = {f.name for f in fields(kind)}
    extra = set(value) - allowed
    if extra:
        raise RecordError(f"trường không có trong lược đồ của {name}: {', '.join(sorted(extra))}")
    checked = {}
    for key, item in value.items():  # every field of a signer, article, relation, attachment is text…
        if key in ("scanned", "whole"):  # …but these flags
            if not isinstance(item, bool):
                raise RecordError(f"'{name}.{key}' phải là true hoặc false")
            checked[key] = item
        else:
            checked[key] = None if item is None else _text(item, f"'{name}.{key}'")
    return checked


def _text(value, what: str) -> str:
    """A string value; a number is taken as its decimal text; anything else is a RecordError."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise RecordError(f"{what} phải là chuỗi, không phải {type(value).__name__}")


def _mapping(data: dict, name: str, values: type | None = None) -> dict:
    value = data.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise RecordError(f"'{name}' phải là một đối tượng JSON")
    if values is not None and not all(isinstance(v, values) for v in value.values()):
        raise RecordError(f"các giá trị của '{name}' phải là chuỗi")
    return dict(value)


def _date(data: dict, name: str) -> str | None:
    value = data.get(name)
    if value in (None, ""):
        return None
    return parse_date(value, name)


def parse_date(value, name: str = "date") -> str:
    """ISO 'YYYY-MM-DD' from ISO dates, ISO datetimes or Vietnamese 'dd/mm/yyyy'."""
    if not isinstance(value, str):
        raise RecordError(f"'{name}' phải là một ngày viết thành chuỗi")
    text = value.strip()
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?", text)
    if match:
        y, m, d = map(int, match.groups())
    else:
        match = re.fullmatch(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})", text)
        if not match:
            raise RecordError(f"'{name}' không phải là ngày: {value!r} (viết 31/01/2025 hoặc 2025-01-31)")
        d, m, y = map(int, match.groups())
    try:
        return dt.date(y, m, d).isoformat()
    except ValueError:
        raise RecordError(f"'{name}' không phải là ngày có thật: {value!r}") from None
