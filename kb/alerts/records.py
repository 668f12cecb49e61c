"""Every SQL statement on the alert tables, and their schema: the subscriptions (with each one's cursor),
the messages sent (deliveries) and the documents each message reported (sent items).

The tables live in the store's SQLite file; their migrations are handed to the store
(`Store.ensure_schema("alerts", MIGRATIONS)`) by every function here, so the core knows nothing of them.
Callers hold the transactions (`with store.transaction(): …`); these functions only read and write rows.
Subscriptions travel as dicts of their columns (filters decoded); kb.alerts.subscriptions makes them objects.
"""

from __future__ import annotations

import json
import sqlite3

from kb.store import Store

MIGRATIONS: tuple[str, ...] = (
    # 1: alerts and the weekly digest (IF NOT EXISTS: stores made before this module existed have them)
    """
    CREATE TABLE IF NOT EXISTS alert_subscriptions (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        email TEXT NOT NULL,
        kind TEXT NOT NULL,
        query TEXT NOT NULL DEFAULT '',
        filters TEXT NOT NULL DEFAULT '{}',
        uid TEXT,
        title TEXT NOT NULL DEFAULT '',
        label TEXT NOT NULL DEFAULT '',
        frequency TEXT NOT NULL,
        created_at TEXT NOT NULL,
        confirmed_at TEXT,
        confirm_sent_at TEXT,
        ended_at TEXT,
        ended_by TEXT,
        last_event_id INTEGER NOT NULL DEFAULT 0,
        sent_through TEXT,
        last_run_at TEXT,
        last_sent_at TEXT,
        error TEXT
    );
    CREATE INDEX IF NOT EXISTS alert_subscriptions_email ON alert_subscriptions(email);
    CREATE TABLE IF NOT EXISTS alert_deliveries (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        email TEXT NOT NULL,
        kind TEXT NOT NULL,
        message_id TEXT NOT NULL,
        subject TEXT NOT NULL,
        sent_at TEXT NOT NULL
    );
    CREATE TABLE IF NOT EXISTS alert_sent (
        delivery_id INTEGER NOT NULL,
        subscription_id INTEGER NOT NULL,
        uid TEXT NOT NULL,
        event_id INTEGER,
        what TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS alert_sent_subscription ON alert_sent(subscription_id, uid);
    """,
)

COLUMNS = (
    "id",
    "email",
    "kind",
    "query",
    "filters",
    "uid",
    "title",
    "label",
    "frequency",
    "created_at",
    "confirmed_at",
    "confirm_sent_at",
    "ended_at",
    "ended_by",
    "last_event_id",
    "sent_through",
    "last_run_at",
    "last_sent_at",
    "error",
)


def _db(store: Store) -> sqlite3.Connection:
    store.ensure_schema("alerts", MIGRATIONS)
    return store.db


def _subscription(row: sqlite3.Row) -> dict:
    data = {name: row[name] for name in COLUMNS}
    data["filters"] = json.loads(data["filters"] or "{}")
    return data


# --- subscriptions --------------------------------------------------------------------------------
def subscription(store: Store, sub_id: int) -> dict | None:
    row = _db(store).execute("SELECT * FROM alert_subscriptions WHERE id=?", (int(sub_id),)).fetchone()
    return _subscription(row) if row else None


def subscriptions(
    store: Store, email: str | None = None, include_ended: bool = False, kind: str | None = None
) -> list[dict]:
    """Subscriptions, oldest first: of one (normalised) address or of everyone."""
    sql, params = "SELECT * FROM alert_subscriptions WHERE 1=1", []
    if email is not None:
        sql += " AND email=?"
        params.append(email)
    if not include_ended:
        sql += " AND ended_at IS NULL"
    if kind:
        sql += " AND kind=?"
        params.append(kind)
    return [_subscription(r) for r in _db(store).execute(sql + " ORDER BY id", params)]


def count_open(store: Store, email: str) -> int:
    """Subscriptions of an address not ended (pending included)."""
    sql = "SELECT count(*) FROM alert_subscriptions WHERE email=? AND ended_at IS NULL"
    return _db(store).execute(sql, (email,)).fetchone()[0]


def insert_subscription(store: Store, **values) -> int:
    """A new subscription row; returns its id. `filters` is a dict."""
    unknown = set(values) - set(COLUMNS[1:])
    if unknown:
        raise ValueError(f"unknown column(s): {sorted(unknown)}")
    values["filters"] = json.dumps(values.get("filters") or {}, ensure_ascii=False)
    names = ", ".join(values)
    marks = ", ".join("?" * len(values))
    cur = _db(store).execute(f"INSERT INTO alert_subscriptions({names}) VALUES ({marks})", tuple(values.values()))
    return cur.lastrowid


def update_subscription(store: Store, sub_id: int, **changes) -> None:
    """Set columns of one subscription (no transaction of its own)."""
    if not changes:
        return
    unknown = set(changes) - set(COLUMNS[1:])
    if unknown:
        raise ValueError(f"unknown column(s): {sorted(unknown)}")
    if "filters" in changes:
        changes["filters"] = json.dumps(changes["filters"], ensure_ascii=False)
    names = ", ".join(f"{name}=?" for name in changes)
    _db(store).execute(f"UPDATE alert_subscriptions SET {names} WHERE id=?", (*changes.values(), sub_id))


def lapse_unconfirmed(store: Store, created_before: str, at: str) -> int:
    """End the subscriptions still unconfirmed that were made before `created_before`; how many."""
    cur = _db(store).execute(
        "UPDATE alert_subscriptions SET ended_at=?, ended_by='expired'"
        " WHERE ended_at IS NULL AND confirmed_at IS NULL AND created_at < ?",
        (at, created_before),
    )
    return cur.rowcount


def advance(store: Store, sub_id: int, last_event_id: int, sent_through: str, at: str, sent: bool) -> None:
    """A subscription dealt with at `at`: its cursor and its day moved on (and its last message when `sent`)."""
    _db(store).execute(
        "UPDATE alert_subscriptions SET last_event_id=?, sent_through=?, last_run_at=?, error=NULL,"
        " last_sent_at=CASE WHEN ? THEN ? ELSE last_sent_at END WHERE id=?",
        (last_event_id, sent_through, at, sent, at, sub_id),
    )


# --- what was sent ----------------------------------------------------------------------------
def insert_delivery(store: Store, email: str, kind: str, message_id: str, subject: str, at: str) -> int:
    """A message sent (kind: confirm, alert or digest); returns its id."""
    cur = _db(store).execute(
        "INSERT INTO alert_deliveries(email, kind, message_id, subject, sent_at) VALUES (?, ?, ?, ?, ?)",
        (email, kind, message_id, subject, at),
    )
    return cur.lastrowid


def insert_sent(store: Store, delivery_id: int, sub_id: int, uid: str, event_id: int | None, what: str) -> None:
    """One document reported to one subscription by one message."""
    _db(store).execute(
        "INSERT INTO alert_sent(delivery_id, subscription_id, uid, event_id, what) VALUES (?, ?, ?, ?, ?)",
        (delivery_id, sub_id, uid, event_id, what),
    )


def sent_items(store: Store, sub_id: int) -> list[dict]:
    """What was sent for one subscription: [{uid, event_id, what, sent_at, message_id}], oldest first."""
    rows = _db(store).execute(
        "SELECT s.uid, s.event_id, s.what, d.sent_at, d.message_id FROM alert_sent s"
        " JOIN alert_deliveries d ON d.id = s.delivery_id WHERE s.subscription_id=? ORDER BY s.rowid",
        (sub_id,),
    )
    return [dict(r) for r in rows]


def last_delivery(store: Store, email: str, kind: str) -> str | None:
    """When the last message of `kind` went to `email` (UTC ISO), or None."""
    row = (
        _db(store)
        .execute("SELECT max(sent_at) FROM alert_deliveries WHERE email=? AND kind=?", (email, kind))
        .fetchone()
    )
    return row[0] if row else None
