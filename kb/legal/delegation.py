"""The delegation tracker: the provisions of central documents that assign the provincial HĐND to
regulate or decide something ("Hội đồng nhân dân cấp tỉnh quy định …", "… trình Hội đồng nhân dân cấp
tỉnh quyết định", "giao Hội đồng nhân dân tỉnh, thành phố trực thuộc trung ương …"), and whether a stored
resolution of the configured province cites that provision, or that document, as its legal basis.

    items = track_delegations(store, province="Lai Châu", status="open")   # computed from every document
    items = stored_delegations(store, province="Lai Châu", status="open")  # read from the derived data
    [d.to_dict() for d in items]      # for GET /api/delegations, the page and the weekly digest

Reading every document takes seconds on a large store, so the tracker is derived data
(kb/legal/derived.py, derivation "delegations"): the writing commands keep, per central document, its
delegation clauses and, per HĐND resolution, the documents it cites as its basis; `stored_delegations`
only joins those rows (the page, the API and `kb delegations` use it).

`find_delegations(doc)` is the pure part (one document in, its delegation clauses out). A delegation is
"answered" when a resolution of the province, issued on or after the parent, cites the article (or the
clause) as its basis — or cites the whole parent document while the parent has a single delegation or
the resolution's title shares the clause's subject; other document-level citations are listed as
`related` on an open item, for a person to judge.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields

from kb import vocab
from kb.articles import split_articles
from kb.legal import derived
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

    @classmethod
    def from_dict(cls, data: dict) -> Delegation:
        """The inverse of `to_dict` (its computed keys ignored)."""
        names = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in names}
        values["answers"] = [Answer(**a) for a in values.get("answers", [])]
        values["related"] = [Answer(**a) for a in values.get("related", [])]
        return cls(**values)

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
    newest parent first, computed from every document. Filters: status ("open"/"answered"), field (lĩnh
    vực, accent-insensitive substring), since (parent in force, or issued, on or after this ISO date)."""
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
    return _answered(delegations, citing, status, field, since)


def stored_delegations(
    store: Store,
    province: str,
    status: str | None = None,
    field: str | None = None,
    since: str | None = None,
) -> list[Delegation]:
    """The same list as `track_delegations`, joined from the derived rows (fast; computes nothing).
    `derived.state(store, DERIVATION)` says whether they are up to date."""
    delegations: list[Delegation] = []
    citing: dict[str, list[tuple[Document, list[ArticleRef]]]] = {}
    parents: set[str] = set()
    resolutions = []
    for row in derived.rows(store, DERIVATION):
        if row.key.startswith("clause:"):
            delegations.append(Delegation.from_dict(row.data))
            parents.add(row.uid)
        else:
            resolutions.append(row.data)
    for data in resolutions:
        res = _summary_document(data)
        if not _is_provincial_resolution(res, province):
            continue
        for parent, refs in data["cites"]:
            if parent in parents:
                citing.setdefault(parent, []).append((res, [ArticleRef(**r) for r in refs]))
    return _answered(delegations, citing, status, field, since)


def _answered(delegations, citing, status, field, since) -> list[Delegation]:
    """Attach the answers to each delegation, filter, sort newest parent first."""
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


def _is_hdnd_resolution(doc: Document) -> bool:
    """A resolution of some HĐND (of any province): the documents that may answer a delegation."""
    if doc.doc_type != "Nghị quyết":
        return False
    issuer = fold(doc.issuer or "").lower()
    return "hoi dong nhan dan" in issuer or "hdnd" in issuer or (doc.number or "").upper().endswith("HĐND")


def _citations_by_parent(store: Store, catalogue: Catalogue, local: list[Document], parents: set[str]):
    """{parent uid: [(resolution, [ArticleRef] — empty when it cites the whole document)]}."""
    found: dict[str, list[tuple[Document, list[ArticleRef]]]] = {}
    for res in local:
        for parent, refs in _basis_of(store, catalogue, res).items():
            if parent in parents:
                found.setdefault(parent, []).append((res, refs))
    return found


def _basis_of(store: Store, catalogue: Catalogue | Callable[[], Catalogue], res: Document) -> dict[str, list]:
    """{uid of a stored document that `res` cites as its basis: [ArticleRef] — empty when it cites the whole
    document}. `catalogue` may be a function making it (it is needed only for citations by name)."""
    found: dict[str, list[ArticleRef]] = {}

    def add(parent: str | None, refs: list[ArticleRef]) -> None:
        if parent is None:
            return
        if parent in found:
            other = found[parent]
            found[parent] = other + refs if other and refs else (other or refs)
        else:
            found[parent] = refs

    for rel in res.relations:
        if rel.type == vocab.REL_BASIS:
            add(store.resolve_target(rel), parse_locator(rel.note or ""))
    for c in extract_citations(res.text):
        if c.role not in ("basis", "amending"):
            continue
        uid = None
        if c.number:
            docs = store.find_by_number(number_key(c.number))
            uid = docs[0].uid if len(docs) == 1 else None
        elif c.name:
            if callable(catalogue):
                catalogue = catalogue()
            entries = catalogue.named(name_key(c.name, c.doc_type))
            entries = [e for e in entries if not c.date or e.issued == c.date]
            uid = entries[0].uid if len(entries) == 1 else None
        add(uid, list(c.articles))
    return found


# --- the derived data (kb/legal/derived.py) -------------------------------------------------

DERIVATION = "delegations"
_SUMMARY = ("uid", "number", "title", "doc_type", "issuer", "province", "issued", "effective")


def _summary_document(data: dict) -> Document:
    return Document.from_dict({k: data[k] for k in _SUMMARY if data.get(k) is not None})


class DelegationData(derived.Derivation):
    """Rows "clause:<key>" (a delegation clause, uid = its parent) and "basis:<uid>" (an HĐND resolution's
    summary and the stored documents it cites as its basis, with the articles cited)."""

    name = DERIVATION
    version = 1
    label = "Nội dung giao HĐND quy định"

    def update(self, store: Store, uids: set[str]) -> None:
        parents_moved = False
        catalogue: list[Catalogue] = []  # made once, when a citation by name needs it
        for uid in uids:
            had_clauses = bool(derived.rows(store, self.name, uid=uid, prefix="clause:"))
            derived.delete(store, self.name, uid=uid)
            doc = store.get(uid)
            found = self._store_document(store, doc, catalogue) if doc else 0
            parents_moved = parents_moved or had_clauses or bool(found)
        if parents_moved:
            # a delegating document came, changed or went: the resolutions' citations may now resolve
            # to it (or no longer), so every resolution's basis is read again
            self._restate_resolutions(store, skip=uids)

    def rebuild(self, store: Store, uids: list[str]) -> None:
        catalogue: list[Catalogue] = []
        for uid in uids:
            doc = store.get(uid)
            if doc is not None:
                self._store_document(store, doc, catalogue)

    def _store_document(self, store: Store, doc: Document, catalogue: list[Catalogue]) -> int:
        if _is_hdnd_resolution(doc):
            self._store_basis(store, doc, catalogue)
            return 0
        found = find_delegations(doc)
        for d in found:
            derived.put(store, self.name, "clause:" + d.key, doc.uid, d.to_dict())
        return len(found)

    def _store_basis(self, store: Store, res: Document, catalogue: list[Catalogue]) -> None:
        def make() -> Catalogue:
            if not catalogue:
                catalogue.append(Catalogue(store))
            return catalogue[0]

        basis = _basis_of(store, make, res)
        data = {k: getattr(res, k) for k in _SUMMARY}
        data["cites"] = [[uid, [asdict(r) for r in refs]] for uid, refs in sorted(basis.items())]
        derived.put(store, self.name, "basis:" + res.uid, res.uid, data)

    def _restate_resolutions(self, store: Store, skip: set[str]) -> None:
        catalogue: list[Catalogue] = []
        for row in derived.rows(store, self.name, prefix="basis:"):
            if row.uid in skip:
                continue
            res = store.get(row.uid)
            derived.delete(store, self.name, uid=row.uid)
            if res is not None and _is_hdnd_resolution(res):
                self._store_basis(store, res, catalogue)


derived.register(DelegationData())


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
