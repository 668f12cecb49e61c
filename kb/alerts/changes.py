"""What happened to one document, said for people: `describe` turns the change events of a document
(and the dates it comes into force or expires) into `ChangeNote`s, one Vietnamese sentence each, with a
short focused diff of its text; a `DocumentUpdate` is the document's summary with those notes, as one
alert message lists it.

(kb.store.Change is something else: what one upsert did to the stored record.)
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field

from kb import vocab
from kb.config import Config
from kb.dates import vn_date
from kb.legal.validity import validity
from kb.model import Document
from kb.store import DELETED, METADATA, NEW, REL_ADDED, STATUS, TEXT, Event, Store
from kb.summary import DocSummary


@dataclass
class ChangeNote:
    """One thing that happened, said in one Vietnamese sentence (plain text; escaped when rendered)."""

    kind: str  # new, status, text, relation, metadata, deleted, in_force, expires
    text: str
    link_uid: str | None = None  # the other document of a relation
    diff: list[tuple[str, str]] = field(default_factory=list)  # ("-" or "+", line), shortened
    more_lines: int = 0  # changed lines not shown
    version: int | None = None  # the version a text change produced (its page shows the full diff)


@dataclass
class DocumentUpdate(DocSummary):
    """A document as an alert reports it: its summary and what happened to it."""

    changes: list[ChangeNote] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)  # "in_force:2026-03-01", "expires:…"

    @property
    def is_new(self) -> bool:
        return any(c.kind == "new" for c in self.changes)

    @property
    def what(self) -> str:
        """What the sent record keeps: the kinds of change, in order."""
        return ",".join(dict.fromkeys(c.kind for c in self.changes))


RELATIONS_SHOWN_OUTGOING = {
    vocab.REL_AMENDS,
    vocab.REL_REPLACES,
    vocab.REL_REPEALS,
    vocab.REL_GUIDES,
    vocab.REL_CONSOLIDATES,
    vocab.REL_CORRECTS,
    vocab.REL_SUSPENDS,
}
METADATA_LABELS = {
    "number": "Số ký hiệu",
    "title": "Trích yếu",
    "doc_type": "Loại văn bản",
    "issuer": "Cơ quan ban hành",
    "issued": "Ngày ban hành",
    "effective": "Ngày có hiệu lực",
    "expires": "Ngày hết hiệu lực",
    "fields": "Lĩnh vực",
}


def shorten(text: str, width: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _value(name: str, value) -> str:
    if value in (None, "", []):
        return "(trống)"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return vn_date(value) if name in ("issued", "effective", "expires") else shorten(value, 120)


def describe(
    store: Store, config: Config, uid: str, events: list[Event], dates: Iterable[tuple[str, str]] = ()
) -> DocumentUpdate | None:
    """The update of one document: its current facts and a sentence per change. None when nothing of
    what happened is worth a message (only a source link or an attachment changed)."""
    doc = store.get(uid)
    deleted = doc is None
    if doc is None:
        old = store.versions(uid)
        doc = old[-1][2] if old else None
    if doc is not None:  # the status shown is kb.legal.validity's (today); a removed document keeps its last label
        status = None if deleted else validity(store, doc).status
        hit = DocumentUpdate.of(doc, status=status, deleted=deleted)
    else:
        hit = DocumentUpdate(uid=uid, deleted=deleted)
    hit.uid = uid
    kinds = {e.kind for e in events}
    seen: set[str] = set()

    def add(change: ChangeNote) -> None:
        if change.text not in seen:
            seen.add(change.text)
            hit.changes.append(change)

    if NEW in kinds:
        dates_said = [
            f"ban hành {vn_date(hit.issued)}" if hit.issued else "",
            f"có hiệu lực từ {vn_date(hit.effective)}" if hit.effective else "",
        ]
        said = ", ".join(x for x in dates_said if x)
        add(ChangeNote("new", "Văn bản mới" + (f" ({said})." if said else ".")))
    status_events = [e for e in events if e.kind == STATUS]
    if status_events and NEW not in kinds:
        old, new = status_events[0].detail.get("old"), status_events[-1].detail.get("new")
        if old != new:
            sentence = f"Tình trạng hiệu lực thay đổi: “{old}” → “{new}”"
            detail = status_events[-1].detail
            if detail.get("derived") and detail.get("reason"):  # kb.legal.transitions: say why
                sentence = f"{detail['reason']} (tình trạng hiệu lực: “{old}” → “{new}”)"
            elif new == vocab.IN_FORCE and detail.get("effective"):
                sentence += f" (có hiệu lực từ ngày {vn_date(detail['effective'])})"
            elif new in (vocab.EXPIRED, vocab.PARTLY_EXPIRED) and detail.get("expires"):
                sentence += f" (hết hiệu lực từ ngày {vn_date(detail['expires'])})"
            add(ChangeNote("status", sentence + "."))
    for event in events:
        if event.kind != REL_ADDED:
            continue
        d = event.detail
        if d.get("direction") == "incoming":
            other = " – ".join(x for x in (d.get("from_number"), shorten(d.get("from_title") or "", 140)) if x)
            text = f"{vocab.relation_label(d.get('type', ''), inverse=True)} {other}"
            link = d.get("from_uid")
        elif NEW not in kinds and d.get("type") in RELATIONS_SHOWN_OUTGOING:
            other = " – ".join(x for x in (d.get("target_number"), shorten(d.get("target_title") or "", 140)) if x)
            text = f"{vocab.relation_label(d.get('type', ''))} {other}"
            link = d.get("target_uid")
        else:
            continue
        if d.get("note"):
            text += f" ({shorten(d['note'], 120)})"
        add(ChangeNote("relation", text.strip() + ".", link_uid=link if link and link in store else None))
    text_events = [e for e in events if e.kind == TEXT]
    if text_events and NEW not in kinds:
        add(_text_change(store, uid, text_events, int(config.get("alerts", "diff_lines"))))
    if NEW not in kinds:
        changed: dict[str, tuple] = {}
        for e in events:
            if e.kind != METADATA:
                continue
            for name in e.detail.get("fields", []):
                if name in METADATA_LABELS:
                    first = changed.get(name, (e.detail.get("old", {}).get(name),))[0]
                    changed[name] = (first, e.detail.get("new", {}).get(name))
        parts = [f"{METADATA_LABELS[n]}: {_value(n, a)} → {_value(n, b)}" for n, (a, b) in changed.items() if a != b]
        if parts:
            add(ChangeNote("metadata", "Cập nhật thông tin: " + "; ".join(parts) + "."))
    for kind, day in dates:
        if kind == "in_force" and not any(c.kind == "status" and vocab.IN_FORCE in c.text for c in hit.changes):
            add(ChangeNote("in_force", f"Có hiệu lực từ ngày {vn_date(day)}."))
        elif kind == "expires" and not any(c.kind == "status" and "Hết hiệu lực" in c.text for c in hit.changes):
            add(ChangeNote("expires", f"Hết hiệu lực từ ngày {vn_date(day)}."))
        hit.dates.append(f"{kind}:{day}")
    if DELETED in kinds:
        add(ChangeNote("deleted", "Văn bản đã bị gỡ khỏi cơ sở dữ liệu (nguồn không còn đăng văn bản này)."))
    hit.event_ids = [e.id for e in events]
    return hit if hit.changes else None


# --- a short diff of the text -----------------------------------------------------------------
def paragraphs(doc: Document) -> list[str]:
    """The paragraphs of a version: its text, else its articles."""
    if doc.text.strip():
        lines = doc.text.splitlines()
    else:
        lines = []
        for art in doc.articles:
            lines.append(f"Điều {art.number}. {art.heading or ''}".strip())
            lines.extend(art.text.splitlines())
    return [" ".join(line.split()) for line in lines if line.strip()]


def _version(store: Store, uid: str, number: int) -> Document | None:
    if number >= store.version_count(uid):
        return store.get(uid)
    for version, _, doc in store.versions(uid):
        if version == number:
            return doc
    return None


def _text_change(store: Store, uid: str, events: list[Event], limit: int) -> ChangeNote:
    versions = [int(e.detail.get("version") or 0) for e in events]
    first, last = min(versions), max(versions)
    old, new = _version(store, uid, first - 1), _version(store, uid, last)
    if old is None or new is None:
        return ChangeNote("text", "Nội dung văn bản thay đổi.", version=last or None)
    added, removed, lines, more = text_diff(paragraphs(old), paragraphs(new), limit)
    counts = ", ".join(x for x in (f"thêm {added} đoạn" if added else "", f"bỏ {removed} đoạn" if removed else "") if x)
    return ChangeNote(
        "text",
        "Nội dung văn bản thay đổi" + (f" ({counts})" if counts else "") + ":",
        diff=lines,
        more_lines=more,
        version=last,
    )


def text_diff(
    old: list[str], new: list[str], limit: int = 8, width: int = 240
) -> tuple[int, int, list[tuple[str, str]], int]:
    """(paragraphs added, removed, up to `limit` lines [("-"|"+", text)] focused on what changed,
    lines left out)."""
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    added = removed = 0
    lines: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        removed += i2 - i1
        added += j2 - j1
        if tag == "replace" and i2 - i1 == j2 - j1:
            for a, b in zip(old[i1:i2], new[j1:j2]):
                a_short, b_short = _focus(a, b, width)
                lines += [("-", a_short), ("+", b_short)]
        else:
            lines += [("-", shorten(line, width)) for line in old[i1:i2]]
            lines += [("+", shorten(line, width)) for line in new[j1:j2]]
    return added, removed, lines[:limit], max(0, len(lines) - limit)


def _focus(a: str, b: str, width: int, context: int = 6) -> tuple[str, str]:
    """Two versions of a paragraph cut to the words around the part that differs."""
    wa, wb = a.split(), b.split()
    start = 0
    while start < min(len(wa), len(wb)) and wa[start] == wb[start]:
        start += 1
    end = 0
    while end < min(len(wa), len(wb)) - start and wa[-1 - end] == wb[-1 - end]:
        end += 1
    lo = max(0, start - context)

    def cut(words: list[str]) -> str:
        hi = min(len(words), len(words) - end + context)
        text = " ".join(words[lo:hi])
        return ("… " if lo else "") + shorten(text, width) + (" …" if hi < len(words) else "")

    return cut(wa), cut(wb)
