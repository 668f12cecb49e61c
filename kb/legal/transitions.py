"""Derived status changes as change events: when a relation or a date changes what kb.legal.validity says
of a document (83/2015/QH13 "Bị thay thế bởi Luật số 89/2025/QH15 từ ngày 01/01/2026"), the store records
a `status_changed` event with `derived: true`, the reason and the acting document, so alerts, the digest and
"Văn bản mới" report it like any status change, and the index re-reads that document.

`derive_statuses(store, on)` compares each document's status today with the one it remembered
(`Store` state `validity:<uid>`); the first derivation of a document is remembered silently (a bulk import
is not thousands of "changes"). The CLI runs it before every index update (`kbcli/sync.py`): after each
import and refresh, and daily with `kb refresh` or `kb index update`, so store and index never disagree on a
status for more than a day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

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
    docs = (store.get(uid) for uid in uids) if uids is not None else store.iter_documents()
    remembered = _remembered(store)
    pending: list[tuple[str, str]] = []
    for doc in docs:
        if doc is None:
            continue
        current = validity(store, doc, on)
        old = remembered.get(doc.uid)
        if old == current.status:
            continue
        pending.append((doc.uid, current.status))
        if old is None:
            continue
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
    return changes


def _remembered(store: Store) -> dict[str, str]:
    rows = store.db.execute("SELECT name, value FROM state WHERE name LIKE ?", (STATE_PREFIX + "%",))
    return {name[len(STATE_PREFIX) :]: value for name, value in rows}
