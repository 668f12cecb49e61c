"""The document page (metadata with sources, status, text with a table of contents and an anchor
per article, relations both ways, history, attachments), its print view and its version diffs."""

from __future__ import annotations

import re

from flask import Blueprint, abort, redirect, render_template, request, url_for

from kb import vocab
from kb.dates import today_vn, vn_date
from kb.errors import RecordError
from kb.legal.validity import impacts_of, validity, validity_of
from kb.model import Document, parse_date
from kb.store import Event, Store
from kb.text import slug
from web import review
from web.common import get_store, instance_state
from web.diff import diff_documents

bp = Blueprint("documents", __name__)

FIELD_LABELS = {
    "source_url": "Đường dẫn nguồn",
    "number": "Số ký hiệu",
    "title": "Trích yếu",
    "doc_type": "Loại văn bản",
    "issuer": "Cơ quan ban hành",
    "signers": "Người ký",
    "issued": "Ngày ban hành",
    "effective": "Ngày có hiệu lực",
    "expires": "Ngày hết hiệu lực",
    "fields": "Lĩnh vực",
    "scope": "Phạm vi",
    "province": "Địa phương",
    "gazette": "Công báo",
    "attachments": "Tệp đính kèm",
    "status": "Tình trạng hiệu lực",
    "text": "Nội dung",
    "articles": "Các điều",
    "source_updated": "Cập nhật tại nguồn",
}
ATTACHMENT_KINDS = {"original": "Bản gốc (bản chụp)", "main": "Văn bản", "appendix": "Phụ lục", "other": "Tệp khác"}
EVENT_LABELS = {
    "new": "Đưa vào cơ sở dữ liệu",
    "text_changed": "Nội dung thay đổi",
    "status_changed": "Tình trạng hiệu lực thay đổi",
    "metadata_changed": "Thông tin văn bản thay đổi",
    "relation_added": "Thêm quan hệ văn bản",
    "relation_removed": "Bỏ quan hệ văn bản",
    "deleted": "Bị xóa khỏi cơ sở dữ liệu",
}
_HEADING = re.compile(r"^[ \t]*(?:Chương|CHƯƠNG|Điều|Phần|PHẦN)[ \t]+\S", re.M)


def load(uid: str) -> tuple[Store, Document]:
    if instance_state() == "empty":
        abort(404)
    store = get_store()
    doc = store.get(uid)
    if doc is None and ":" in uid:  # an old address with a non-ASCII slug ("…-nđ-cp"): the ASCII one redirects
        source, _, source_id = uid.partition(":")
        ascii_uid = f"{source}:{slug(source_id)}"
        doc = store.get(ascii_uid) if ascii_uid != uid else None
    if doc is None:
        abort(404)
    return store, doc


@bp.route("/van-ban/<path:uid>")
def show(uid: str):
    store, doc = load(uid)
    if doc.uid != uid:  # an alias (the same document at another source): one address per document
        return redirect(url_for("documents.show", uid=doc.uid), 301)
    return render_template(
        "documents/document.html", **page_data(store, doc, on=_on_date()), review_banner=review.banner(store, doc.uid)
    )


@bp.route("/van-ban/<path:uid>/ban-in")
def print_view(uid: str):
    store, doc = load(uid)
    if doc.uid != uid:
        return redirect(url_for("documents.print_view", uid=doc.uid), 301)
    data = page_data(store, doc, history=False)
    return render_template("documents/print.html", **data)


@bp.route("/van-ban/<path:uid>/phien-ban/<int:version>")
def version_diff(uid: str, version: int):
    """What changed in the text from version-1 to `version`."""
    store, doc = load(uid)
    rows = store.versions(doc.uid)
    versions = {number: old for number, _, old in rows}
    versions[store.version_count(doc.uid)] = doc
    if version not in versions or version - 1 not in versions:
        abort(404)
    saved = {number: at for number, at, _ in rows}
    old, new = versions[version - 1], versions[version]
    return render_template(
        "documents/diff.html",
        doc=doc,
        version=version,
        old=old,
        new=new,
        diff=diff_documents(old, new),
        saved_at=saved.get(version - 1),
    )


def _on_date() -> str | None:
    """The taingay parameter (status on that date), when given and valid; else None (today)."""
    raw = request.args.get("taingay", "")
    try:
        return parse_date(raw, "taingay") if raw else None
    except RecordError:
        return None


def page_data(store: Store, doc: Document, history: bool = True, on: str | None = None) -> dict:
    preamble = ""
    if doc.articles and doc.text:
        first = _HEADING.search(doc.text)
        preamble = doc.text[: first.start()].strip() if first else ""
    outgoing, incoming = _outgoing(store, doc), _incoming(store, doc)
    impacts = impacts_of(store, doc)
    current = validity_of(doc, impacts, on or today_vn())
    return {
        "doc": doc,
        "validity": current,
        "article_notes": _article_notes(doc, impacts, current),
        "preamble": preamble,
        "chapters": _chapters(doc),
        "outgoing": outgoing,
        "incoming": incoming,
        "relation_count": sum(len(group["items"]) for group in outgoing + incoming),
        "history": _history(store, doc) if history else [],
        "also_at": [link for link in doc.extra.get("also_at", []) if isinstance(link, dict)],
        "attachment_kinds": ATTACHMENT_KINDS,
        "field_labels": FIELD_LABELS,
    }


def _article_notes(doc: Document, impacts: list, current) -> dict[str, list[dict]]:
    """Per article anchor, what other documents did to it: "Điều này được sửa đổi, bổ sung bởi Điều 2 Luật
    số 52/2019/QH14 từ ngày 01/07/2020", linked to that document when stored, else to a search for its number."""
    notes: dict[str, list[dict]] = {}
    for art in doc.articles:
        for impact in impacts:
            if not impact.partial or not _names_article(impact.articles or "", art.number):
                continue
            if impact.by_uid:
                url = url_for("documents.show", uid=impact.by_uid)
            elif impact.by_number:
                url = url_for("search.results", q=impact.by_number)
            else:
                url = None
            verb = vocab.relation_label(impact.type, inverse=True).lower()
            notes.setdefault(art.anchor, []).append(
                {
                    "verb": ("Điều này có nội dung " if not impact.whole else "Điều này ") + verb,
                    "by": " ".join(x for x in (impact.by_article, impact.by_label) if x),
                    "url": url,
                    "when": f"từ ngày {vn_date(impact.effective)}" if impact.effective else "",
                }
            )
    return notes


def _names_article(locator: str, number: str) -> bool:
    return bool(re.search(rf"(?i)\bđiều\s+{re.escape(number)}\b", locator))


def _chapters(doc: Document) -> list[dict]:
    """The table of contents: articles grouped by chapter, in order."""
    out: list[dict] = []
    for art in doc.articles:
        if not out or out[-1]["chapter"] != art.chapter:
            out.append({"chapter": art.chapter, "articles": []})
        out[-1]["articles"].append(art)
    return out


def _linked(store: Store, uid: str | None) -> Document | None:
    return store.get(uid) if uid else None


def _outgoing(store: Store, doc: Document) -> list[dict]:
    """What this document does to others, grouped by relation type (vocabulary order)."""
    groups: dict[str, list[dict]] = {}
    for rel in doc.relations:
        target = _linked(store, store.resolve_target(rel))
        groups.setdefault(rel.type, []).append(
            {
                "uid": target.uid if target else None,
                "number": (target.number if target else None) or rel.target_number,
                "title": (target.title if target else None) or rel.target_title,
                "doc_type": target.doc_type if target else None,
                "status": validity(store, target).status if target else None,
                "note": rel.note,
            }
        )
    return _ordered(groups, inverse=False)


def _incoming(store: Store, doc: Document) -> list[dict]:
    """What other stored documents do to this one, grouped by relation type."""
    groups: dict[str, list[dict]] = {}
    seen = set()
    for holder_uid, rel in store.incoming(doc.uid):
        key = (holder_uid, rel.type, rel.note)
        if key in seen or holder_uid == doc.uid:
            continue
        seen.add(key)
        holder = store.get(holder_uid)
        if holder is None:
            continue
        groups.setdefault(rel.type, []).append(
            {
                "uid": holder.uid,
                "number": holder.number,
                "title": holder.title,
                "doc_type": holder.doc_type,
                "status": validity(store, holder).status,
                "note": rel.note,
                "issued": holder.issued,
            }
        )
    return _ordered(groups, inverse=True)


def _ordered(groups: dict[str, list[dict]], inverse: bool) -> list[dict]:
    order = list(vocab.RELATION_TYPES)
    return [
        {"type": t, "label": vocab.relation_label(t, inverse=inverse), "items": groups[t]}
        for t in sorted(groups, key=lambda t: order.index(t) if t in order else len(order))
    ]


def _history(store: Store, doc: Document) -> list[dict]:
    """Every recorded change of the document, newest first, in words."""
    return [describe(event) for event in reversed(store.events(uid=doc.uid))]


def describe(event: Event) -> dict:
    """An event as a label and detail lines for people."""
    d = event.detail or {}
    item = {
        "id": event.id,
        "kind": event.kind,
        "at": event.at,
        "label": EVENT_LABELS.get(event.kind, event.kind),
        "lines": [],
        "old_status": None,
        "new_status": None,
        "version": None,
        "link": None,
    }
    if event.kind == "new":
        item["new_status"] = d.get("status")
    elif event.kind == "text_changed":
        item["version"] = d.get("version")
    elif event.kind == "status_changed":
        item["old_status"], item["new_status"] = d.get("old"), d.get("new")
        if d.get("derived") and d.get("reason"):
            item["lines"].append(d["reason"])
    elif event.kind == "metadata_changed":
        old, new = d.get("old") or {}, d.get("new") or {}
        for name in d.get("fields") or []:
            label = FIELD_LABELS.get(name, name)
            if name in old or name in new:
                item["lines"].append(f"{label}: {_value(old.get(name))} → {_value(new.get(name))}")
            else:
                item["lines"].append(f"{label} thay đổi")
    elif event.kind in ("relation_added", "relation_removed"):
        if d.get("direction") == "incoming":
            label = vocab.relation_label(d.get("type") or vocab.REL_RELATED, inverse=True)
            who = " ".join(x for x in (d.get("from_number"), d.get("from_title")) if x)
            item["lines"].append(f"{label}: {who}".strip())
            item["link"] = d.get("from_uid")
        else:
            label = vocab.relation_label(d.get("type") or vocab.REL_RELATED)
            what = " ".join(x for x in (d.get("target_number"), d.get("target_title")) if x)
            item["lines"].append(f"{label}: {what or d.get('target_uid') or ''}".strip())
        if d.get("note"):
            item["lines"].append(f"({d['note']})")
    elif event.kind == "deleted":
        pass
    return item


def _value(value) -> str:
    if value in (None, "", [], {}):
        return "(trống)"
    if isinstance(value, list):
        return ", ".join(_value(v) for v in value)
    if isinstance(value, dict):
        return " – ".join(str(v) for v in (value.get("name"), value.get("title")) if v) or str(value)
    text = str(value)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return f"{text[8:10]}/{text[5:7]}/{text[:4]}"
    return text if len(text) <= 300 else text[:300] + "…"
