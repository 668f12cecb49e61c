"""Derived status changes as change events: when a relation or a date changes what kb.legal.validity says
of a document (83/2015/QH13 "Bị thay thế bởi Luật số 89/2025/QH15 từ ngày 01/01/2026"), the store records
a `status_changed` event with `derived: true`, the reason and the acting document, so alerts, the digest and
"Văn bản mới" report it like any status change, and the index re-reads that document.

`derive_statuses(store, on)` compares the status today with the one it remembered (`Store` state
`validity:<uid>`) for the documents whose status may have changed since its last run (events since, or a
date of their own, of a relation towards them or of a note crossed since; all documents the first time); the
first derivation of a document is remembered silently (a bulk import is not thousands of "changes"). The CLI runs it before every index update (`kbcli/sync.py`): after each
import and refresh, and daily with `kb refresh` or `kb index update`, so store and index never disagree on a
status for more than a day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from kb.dates import today_vn
from kb.legal.validity import validity
from kb.store import Store

STATE_PREFIX = "validity:"
STATUS_CHANGED = "status_changed"


@dataclass
class StatusChange:
    """One document whose derived status changed."""

    uid: str
    old: str
    new: str
    reason: str
    since: str | None
    by_uid: str | None
    by_number: str | None

    def detail(self) -> dict:
        return {
            "old": self.old,
            "new": self.new,
            "derived": True,
            "reason": self.reason,
            "since": self.since,
            "by_uid": self.by_uid,
            "by_number": self.by_number,
        }


def derive_statuses(
    store: Store, on: str | dt.date | None = None, uids: Iterable[str] | None = None
) -> list[StatusChange]:
    """Record a `status_changed` event for every document (or those of `uids`) whose status on `on`
    (default today) differs from the one remembered. Returns the changes recorded."""
    changes: list[StatusChange] = []
    day = _iso(on)
    last_event = store.last_event_id()
    if uids is None:
        uids = _candidates(store, day)
    docs = (store.get(uid) for uid in sorted(uids)) if uids is not None else store.iter_documents()
    remembered = _remembered(store)
    reported = _reported_by_sources(store)
    pending: list[tuple[str, str]] = []
    for doc in docs:
        if doc is None:
            continue
        current = validity(store, doc, on)
        old = remembered.get(doc.uid)
        if old == current.status:
            continue
        pending.append((doc.uid, current.status))
        if old is None or reported.get(doc.uid) == current.status:
            continue  # first derivation, or a source already said it (its own status_changed event)
        by = current.by
        changes.append(
            StatusChange(
                doc.uid,
                old,
                current.status,
                current.reason,
                current.since,
                by.by_uid if by else None,
                by.by_number if by else None,
            )
        )
    with store.transaction():
        for uid, status in pending:
            store.db.execute("INSERT OR REPLACE INTO state(name, value) VALUES (?, ?)", (STATE_PREFIX + uid, status))
        for change in changes:
            store.log_event(change.uid, STATUS_CHANGED, change.detail())
        if on is None or day >= (store.get_state(LAST_DAY) or ""):
            store.set_state(LAST_DAY, day)
            store.set_state(LAST_EVENT, str(last_event))
    return changes


LAST_DAY, LAST_EVENT = "validity@day", "validity@event"  # where the last derivation stopped


def _candidates(store: Store, day: str) -> set[str] | None:
    """The documents whose status may have changed since the last derivation: those with events since, and
    those with a date of their own, of a relation towards them or of a note crossed in (last day, day].
    None (all documents) the first time."""
    last_day, last_event = store.get_state(LAST_DAY), store.get_state(LAST_EVENT)
    if not last_day or last_event is None:
        return None
    found = {e.uid for e in store.events(since_id=int(last_event))}
    if day <= last_day:
        return found
    span = (last_day, day)
    db = store.db
    for column in ("effective", "expires", "issued"):
        found.update(
            r[0]
            for r in db.execute(
                f"SELECT uid FROM documents WHERE json_extract(data, '$.{column}') > ?"
                f" AND json_extract(data, '$.{column}') <= ?",
                span,
            )
        )
    holders = [
        r[0]
        for r in db.execute(
            "SELECT uid FROM documents WHERE coalesce(json_extract(data, '$.effective'), json_extract(data, '$.issued'))"
            " > ? AND coalesce(json_extract(data, '$.effective'), json_extract(data, '$.issued')) <= ?",
            span,
        )
    ]
    for holder in holders:
        doc = store.get(holder)
        for rel in doc.relations if doc else ():
            target = store.resolve_target(rel)
            if target:
                found.add(target)
    found.update(
        r[0]
        for r in db.execute(
            "SELECT documents.uid FROM documents, json_each(documents.data, '$.changed_by') AS note"
            " WHERE json_extract(note.value, '$.effective') > ? AND json_extract(note.value, '$.effective') <= ?",
            span,
        )
    )
    return found


def _iso(on: str | dt.date | None) -> str:
    if on is None or on == "":
        return today_vn().isoformat()
    return on.isoformat() if isinstance(on, dt.date) else str(on)[:10]


def _reported_by_sources(store: Store) -> dict[str, str]:
    """{uid: new status} of the status changes the sources reported since the last derivation (events of the
    store, not derived): the same change is not recorded a second time as derived."""
    since = int(store.get_state(LAST_EVENT) or 0)
    return {
        e.uid: e.detail.get("new")
        for e in store.events(since_id=since)
        if e.kind == STATUS_CHANGED and not e.detail.get("derived")
    }


def remembered_statuses(store: Store) -> dict[str, str]:
    """{uid: status} as kb.legal.validity gave it at the last derivation (after every write, and daily)."""
    return _remembered(store)


def _remembered(store: Store) -> dict[str, str]:
    rows = store.db.execute("SELECT name, value FROM state WHERE name LIKE ?", (STATE_PREFIX + "%",))
    return {name[len(STATE_PREFIX) :]: value for name, value in rows}
