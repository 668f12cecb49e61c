"""The delegation tracker: the provisions of central documents that assign the provincial HĐND to
regulate or decide something ("Hội đồng nhân dân cấp tỉnh quy định …", "… trình Hội đồng nhân dân cấp
tỉnh quyết định", "giao Hội đồng nhân dân tỉnh, thành phố trực thuộc trung ương …"), and whether a stored
resolution of the configured province cites that provision, or that document, as its legal basis.

    items = track_delegations(store, province="Lai Châu", status="open")
    [d.to_dict() for d in items]      # for GET /api/delegations, the page and the weekly digest

`find_delegations(doc)` is the pure part (one document in, its delegation clauses out). A delegation is
"answered" when a resolution of the province, issued on or after the parent, cites the article (or the
clause) as its basis — or cites the whole parent document while the parent has a single delegation or
the resolution's title shares the clause's subject; other document-level citations are listed as
`related` on an open item, for a person to judge.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from kb import vocab
from kb.articles import split_articles
from kb.legal.catalogue import Catalogue, name_key
from kb.legal.citations import ArticleRef, extract_citations, parse_locator
from kb.legal.validity import validity
from kb.model import Article, Document
from kb.numbers import number_key, parse_number
from kb.store import Store
from kb.text import fold, nfc

OPEN, ANSWERED = "open", "answered"
STATUS_LABELS = {OPEN: "Chưa ban hành", ANSWERED: "Đã ban hành"}
CENTRAL_TYPES = frozenset(
    {"Luật", "Bộ luật", "Pháp lệnh", "Nghị quyết", "Nghị định", "Quyết định", "Thông tư", "Thông tư liên tịch"}
)

_SUBJECT = (
    r"(?<!thuong truc )(?:hoi dong nhan dan|hdnd)\s+(?:cap\s+tinh|cac\s+tinh\s*,?\s*thanh\s+pho\s+truc\s+thuoc"
    r"\s+trung\s+uong|tinh\s*,\s*thanh\s+pho\s+truc\s+thuoc\s+trung\s+uong|tinh)(?![\w])"
)
_VERB = r"(?:quy\s+dinh|quyet\s+dinh|ban\s+hanh|thong\s+qua|phe\s+chuan)(?![\w])"
_DELEGATION = re.compile(_SUBJECT + r"(?P<gap>(?:\s*,?\s+[^\s.;:]+){0,8}?)\s*,?\s+(?P<verb>" + _VERB + ")")
_BAD_GAP = re.compile(
    r"(?<![\w])(?:uy\s+ban|ubnd|chu\s+tich|chua|khong|da|truoc|sau\s+khi|va|hoac|cua|de|theo)(?![\w])"
)
_BAD_BEFORE = re.compile(
    r"(?:cua|phan\s+cap\s+cua|van\s+phong\s+doan\s+dai\s+bieu\s+quoc\s+hoi\s+va|voi|cho|tai|y\s+kien"
    r"|chu\s+tich|da\s+duoc|ngay|thuong\s+truc)\s*$"
)
_PASSIVE = re.compile(r"duoc\s*$")
_SENTENCES = re.compile(r"[^.;\n]+(?:[.;]|$)", re.M)
_STOPWORDS = frozenset(
    "va cua cac cho tren dia ban tinh thanh pho truc thuoc trung uong hoi dong nhan dan cap quy dinh quyet dinh "
    "ve viec theo muc ho tro nha nuoc mot so trong doi voi duoc la co tai nay ban hanh nghi quyet".split()
)


@dataclass
class Answer:
    """A provincial resolution citing the delegating document as its basis."""

    uid: str
    number: str | None
    title: str
    issued: str | None
    effective: str | None
    match: str  # "clause", "article" or "document": what the resolution cites

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Delegation:
    parent_uid: str
    parent_number: str | None
    parent_title: str
    parent_type: str | None
    parent_issuer: str | None
    parent_issued: str | None
    parent_effective: str | None
    parent_status: str
    fields: list[str]
    article: str
    clause: str | None
    heading: str | None
    anchor: str
    text: str  # the khoản (or the article when it has none)
    excerpt: str  # the sentence that delegates
    verb: str  # "quy định", "quyết định", …
    status: str = OPEN
    answers: list[Answer] = field(default_factory=list)
    related: list[Answer] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.parent_uid}#{self.anchor}" + (f"-khoan-{self.clause}" if self.clause else "")

    @property
    def provision(self) -> str:
        return (f"khoản {self.clause} " if self.clause else "") + f"Điều {self.article}"

    @property
    def parent_label(self) -> str:
        head = " ".join(x for x in (self.parent_type, f"số {self.parent_number}" if self.parent_number else None) if x)
        if self.parent_number and self.parent_number in self.parent_title:
            return self.parent_title
        return f"{head} {self.parent_title}".strip()

    def to_dict(self) -> dict:
        data = asdict(self)
        data.update(
            key=self.key,
            provision=self.provision,
            parent_label=self.parent_label,
            status_label=STATUS_LABELS[self.status],
        )
        return data


# --- finding delegation clauses in one document ---------------------------------------------


def is_central_parent(doc: Document) -> bool:
    """Luật, Bộ luật, Pháp lệnh, Nghị quyết of QH/UBTVQH, Nghị định, Quyết định of the Prime Minister, Thông tư."""
    if doc.doc_type not in CENTRAL_TYPES:
        return False
    scope = doc.scope or vocab.scope_of(doc.issuer)
    if scope == vocab.LOCAL:
        return False
    code = parse_number(doc.number or "") or None
    issuer = fold(doc.issuer or "").lower()
    if doc.doc_type == "Nghị quyết":
        return bool(code and re.match(r"^(?:UBTVQH|QH)\d*$", code.issuer_code or "")) or "quoc hoi" in issuer
    if doc.doc_type == "Quyết định":
        return bool(code and (code.issuer_code or "") == "TTg") or "thu tuong" in issuer
    return True


def find_delegations(doc: Document) -> list[Delegation]:
    """The clauses of `doc` that assign the provincial HĐND to regulate or decide, in article order."""
    if not is_central_parent(doc):
        return []
    articles = doc.articles or (split_articles(doc.text) if doc.text else [])
    found: list[Delegation] = []
    for art in articles:
        for clause, text in _clauses(art):
            sentence = _delegating_sentence(text)
            if sentence is None:
                continue
            excerpt, verb = sentence
            found.append(
                Delegation(
                    parent_uid=doc.uid,
                    parent_number=doc.number,
                    parent_title=doc.title,
                    parent_type=doc.doc_type,
                    parent_issuer=doc.issuer,
                    parent_issued=doc.issued,
                    parent_effective=doc.effective,
                    parent_status=doc.status,
                    fields=list(doc.fields),
                    article=art.number,
                    clause=clause,
                    heading=art.heading,
                    anchor=art.anchor or f"dieu-{art.number}",
                    text=" ".join(text.split()),
                    excerpt=excerpt,
                    verb=verb,
                )
            )
    return found


def _clauses(art: Article) -> list[tuple[str | None, str]]:
    clauses = art.clauses()
    if not clauses:
        return [(None, art.text)]
    lead = re.split(r"(?m)^\s*\d{1,3}[a-z]?\.\s+", art.text, maxsplit=1)[0].strip()
    return ([(None, lead)] if lead else []) + clauses


def _delegating_sentence(text: str) -> tuple[str, str] | None:
    text = nfc(text)
    for m in _SENTENCES.finditer(text):
        sentence = m.group(0).strip()
        low = fold(sentence).lower()
        for hit in _DELEGATION.finditer(low):
            if _BAD_GAP.search(hit.group("gap")) or _BAD_BEFORE.search(low, 0, hit.start()):
                continue
            if _PASSIVE.search(low, 0, hit.start()) and (
                "phan cap" in hit.group("gap") or hit.group("verb") == "thong qua"
            ):
                continue  # "người được HĐND cấp tỉnh phân cấp …", "kế hoạch được HĐND cấp tỉnh thông qua"
            verb = sentence[hit.start("verb") : hit.end("verb")]
            return sentence, " ".join(verb.split()).lower()
    return None


# --- answers from the province's resolutions ------------------------------------------------


def track_delegations(
    store: Store,
    province: str,
    status: str | None = None,
    field: str | None = None,
    since: str | None = None,
    catalogue: Catalogue | None = None,
) -> list[Delegation]:
    """Every delegation to the provincial HĐND in the store, with its answers by resolutions of `province`,
    newest parent first. Filters: status ("open"/"answered"), field (lĩnh vực, accent-insensitive
    substring), since (parent in force, or issued, on or after this ISO date)."""
    catalogue = catalogue or Catalogue(store)
    catalogue.refresh()
    delegations: list[Delegation] = []
    local: list[Document] = []
    for doc in store.iter_documents():
        if _is_provincial_resolution(doc, province):
            local.append(doc)
        else:
            found = find_delegations(doc)
            if found:
                current = validity(store, doc).status  # the one place that decides status
                for d in found:
                    d.parent_status = current
            delegations.extend(found)
    citing = _citations_by_parent(store, catalogue, local, {d.parent_uid for d in delegations})
    per_parent: dict[str, int] = {}
    for d in delegations:
        per_parent[d.parent_uid] = per_parent.get(d.parent_uid, 0) + 1
    for d in delegations:
        for res, refs in citing.get(d.parent_uid, []):
            if d.parent_issued and res.issued and res.issued < d.parent_issued:
                continue
            answer = Answer(res.uid, res.number, res.title, res.issued, res.effective, "document")
            if refs:
                hit = [
                    r
                    for r in refs
                    if r.article.lower() == d.article.lower()
                    and (r.clause is None or d.clause is None or r.clause == d.clause)
                ]
                if not hit:
                    continue
                answer.match = "clause" if any(r.clause for r in hit) and d.clause else "article"
                d.answers.append(answer)
            elif per_parent[d.parent_uid] == 1 or _same_subject(res.title, d.text):
                d.answers.append(answer)
            else:
                d.related.append(answer)
        d.status = ANSWERED if d.answers else OPEN
    result = [
        d
        for d in delegations
        if (status is None or d.status == status)
        and (field is None or any(fold(field).lower() in fold(f).lower() for f in d.fields))
        and (since is None or (d.parent_effective or d.parent_issued or "") >= since)
    ]
    result.sort(key=lambda d: (_article_order(d.article), _article_order(d.clause)))
    result.sort(key=lambda d: d.parent_effective or d.parent_issued or "", reverse=True)
    return result


def _is_provincial_resolution(doc: Document, province: str) -> bool:
    if doc.doc_type != "Nghị quyết":
        return False
    place = fold(province).lower()
    issuer = fold(doc.issuer or "").lower()
    own = place in fold(doc.province or "").lower() or place in issuer
    return own and ("hoi dong nhan dan" in issuer or "hdnd" in issuer or (doc.number or "").upper().endswith("HĐND"))


def _citations_by_parent(store: Store, catalogue: Catalogue, local: list[Document], parents: set[str]):
    """{parent uid: [(resolution, [ArticleRef] — empty when it cites the whole document)]}."""
    found: dict[str, list[tuple[Document, list[ArticleRef]]]] = {}

    def add(parent: str | None, res: Document, refs: list[ArticleRef]) -> None:
        if parent in parents:
            entries = found.setdefault(parent, [])
            for i, (other, other_refs) in enumerate(entries):
                if other.uid == res.uid:
                    entries[i] = (other, other_refs + refs if other_refs and refs else (other_refs or refs))
                    return
            entries.append((res, refs))

    for res in local:
        for rel in res.relations:
            if rel.type == vocab.REL_BASIS:
                add(store.resolve_target(rel), res, parse_locator(rel.note or ""))
        for c in extract_citations(res.text):
            if c.role not in ("basis", "amending"):
                continue
            uid = None
            if c.number:
                docs = store.find_by_number(number_key(c.number))
                uid = docs[0].uid if len(docs) == 1 else None
            elif c.name:
                entries = catalogue.named(name_key(c.name, c.doc_type))
                entries = [e for e in entries if not c.date or e.issued == c.date]
                uid = entries[0].uid if len(entries) == 1 else None
            add(uid, res, list(c.articles))
    return found


def _same_subject(title: str, clause: str) -> bool:
    """A resolution's title and a delegating clause share at least three content words."""
    a = set(fold(title).lower().split()) - _STOPWORDS
    b = set(fold(clause).lower().split()) - _STOPWORDS
    return len(a & b) >= 3


def _article_order(number: str | None) -> tuple[int, str]:
    if not number:
        return (0, "")
    m = re.match(r"(\d+)(.*)", number)
    return (int(m.group(1)), m.group(2)) if m else (10**6, number)
