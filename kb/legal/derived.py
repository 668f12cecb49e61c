"""Derived legal data: results computed from the stored documents (the delegations to the provincial
HĐND now, the rà soát review list next), kept in the store and brought up to date by the commands that
write — never computed while a web request or a reading command waits.

A derivation is an object registered here with a name, a version and two methods:

    class MyDerivation(Derivation):
        name = "my-thing"        # rows in the `derived` table under this name
        version = 1              # bump when the computation changes: the next refresh rebuilds it
        label = "…"              # Vietnamese, shown in the progress line of the writing commands

        def update(self, store, uids):   # replace every row derived from these documents
            for uid in uids:
                delete(store, self.name, uid=uid)
                doc = store.get(uid)     # None: the document was deleted, it leaves no row
                ...
                put(store, self.name, key, uid, {...})

    register(MyDerivation())

`rebuild(self, store, uids)` defaults to `update` on every stored uid after the rows are cleared;
a derivation overrides it only when a whole computation is cheaper than many small ones.

The writing commands call `refresh(store)` after they store (kbcli's sync helper does it): for each
derivation it reads the change events after its watermark (the last event id it dealt with), calls
`update` with the documents they name, and moves the watermark — rows and watermark in one
transaction, batch by batch, so a run killed half-way resumes where it stopped. A derivation never
computed, or of another version, is rebuilt the same way (a cursor on the uids, also resumable).
`kb derived rebuild` recomputes everything; `kb derived status` tells where each derivation stands.

Readers use `rows(store, name)` and `state(store, name)`: they never compute (a derivation behind the
store is shown as it is, with its state saying so).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kb.store import Store

BATCH = 2000  # documents per transaction (a killed run loses at most one batch of work)


class Derivation:
    """One kind of derived data; subclass it, then `register(instance)`."""

    name: str = ""
    version: int = 1
    label: str = ""

    def update(self, store: Store, uids: set[str]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def rebuild(self, store: Store, uids: list[str]) -> None:
        """One batch of a full recomputation (the rows were cleared when it started)."""
        self.update(store, set(uids))


REGISTRY: dict[str, Derivation] = {}


def register(derivation: Derivation) -> Derivation:
    """Add a derivation (run by `refresh` in registration order); returns it."""
    if not derivation.name:
        raise ValueError("a derivation needs a name")
    REGISTRY[derivation.name] = derivation
    return derivation


def _registry() -> dict[str, Derivation]:
    # the derivations of this package register themselves when imported
    from kb.legal import delegation, review  # noqa: F401

    return REGISTRY


# --- rows ------------------------------------------------------------------------------------


@dataclass
class Row:
    key: str
    uid: str
    data: dict


# The table is this feature's own (Store.ensure_schema): the core creates nothing for the layers above it.
SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS derived (
        name TEXT NOT NULL,
        key TEXT NOT NULL,
        uid TEXT NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (name, key)
    );
    CREATE INDEX IF NOT EXISTS derived_uid ON derived(name, uid);
    """,
)


def _db(store: Store):
    """The store's connection, with the derived table in place."""
    store.ensure_schema("derived", SCHEMA)
    return store.db


def put(store: Store, name: str, key: str, uid: str, data: dict) -> None:
    _db(store).execute(
        "INSERT OR REPLACE INTO derived(name, key, uid, data) VALUES (?, ?, ?, ?)",
        (name, key, uid, json.dumps(data, ensure_ascii=False, sort_keys=True)),
    )


def delete(store: Store, name: str, uid: str | None = None) -> None:
    """Remove the rows of `name` derived from `uid` (every row of `name` when uid is None)."""
    if uid is None:
        _db(store).execute("DELETE FROM derived WHERE name=?", (name,))
    else:
        _db(store).execute("DELETE FROM derived WHERE name=? AND uid=?", (name, uid))


def rows(store: Store, name: str, uid: str | None = None, prefix: str = "") -> list[Row]:
    """The stored rows of a derivation, by key (of one document with `uid`, of keys starting with `prefix`)."""
    sql, params = "SELECT key, uid, data FROM derived WHERE name=?", [name]
    if uid is not None:
        sql += " AND uid=?"
        params.append(uid)
    if prefix:
        sql += " AND key >= ? AND key < ?"
        params += [prefix, prefix + "\U0010ffff"]
    try:
        found = _db(store).execute(sql + " ORDER BY key", params).fetchall()
    except sqlite3.OperationalError:  # a store of an older schema, opened read-only
        return []
    return [Row(r[0], r[1], json.loads(r[2])) for r in found]


# --- where each derivation stands --------------------------------------------------------------


@dataclass
class State:
    name: str
    label: str
    version: int | None  # the version its rows were computed with (None: never computed)
    event_id: int  # the last event dealt with
    last_event_id: int  # the store's
    rebuilding: bool  # a full recomputation started and did not finish
    rows: int

    @property
    def current(self) -> bool:
        return not self.rebuilding and self.version is not None and self.event_id >= self.last_event_id

    @property
    def computed(self) -> bool:
        """Rows exist from a finished computation (perhaps behind the store)."""
        return self.version is not None and not self.rebuilding


def _key(name: str, what: str) -> str:
    return f"derived.{name}.{what}"


def state(store: Store, name: str) -> State:
    derivation = _registry().get(name)
    version = store.get_state(_key(name, "version"))
    try:
        count = _db(store).execute("SELECT count(*) FROM derived WHERE name=?", (name,)).fetchone()[0]
    except sqlite3.OperationalError:
        count = 0
    return State(
        name=name,
        label=derivation.label if derivation else name,
        version=int(version) if version is not None else None,
        event_id=int(store.get_state(_key(name, "event_id"), "0")),
        last_event_id=store.last_event_id(),
        rebuilding=store.get_state(_key(name, "cursor")) is not None,
        rows=count,
    )


def states(store: Store) -> list[State]:
    return [state(store, name) for name in _registry()]


# --- computing (the writing commands) ----------------------------------------------------------

Progress = Callable[[str, int, int], None]  # (label, done, total)


@dataclass
class Result:
    name: str
    documents: int  # documents (re)considered
    rebuilt: bool


def refresh(store: Store, names: Iterable[str] | None = None, progress: Progress | None = None) -> list[Result]:
    """Bring every derivation (or those named) up to date with the store's events; resumes a killed run."""
    registry = _registry()
    results = []
    for name in names or list(registry):
        derivation = registry[name]
        st = state(store, name)
        if st.rebuilding or st.version != derivation.version:
            results.append(_rebuild(store, derivation, progress, restart=not st.rebuilding))
        else:
            results.append(_update(store, derivation, st.event_id, progress))
    return results


def rebuild(store: Store, names: Iterable[str] | None = None, progress: Progress | None = None) -> list[Result]:
    """Recompute every derivation (or those named) from the whole store."""
    registry = _registry()
    return [_rebuild(store, registry[name], progress, restart=True) for name in names or list(registry)]


def _update(store: Store, derivation: Derivation, since: int, progress: Progress | None) -> Result:
    name = derivation.name
    target = store.last_event_id()
    if since >= target:
        return Result(name, 0, False)
    events = [e for e in store.events(since_id=since) if e.id <= target]
    # batches of whole events: the watermark moves only past events whose documents were dealt with
    batches: list[tuple[set[str], int]] = []
    uids: set[str] = set()
    for e in events:
        uids.add(e.uid)
        if len(uids) >= BATCH:
            batches.append((uids, e.id))
            uids = set()
    batches.append((uids, target))
    total = sum(len(b) for b, _ in batches)
    done = 0
    for batch, upto in batches:
        with store.transaction():
            if batch:
                derivation.update(store, batch)
            _db(store).execute(
                "INSERT OR REPLACE INTO state(name, value) VALUES (?, ?)", (_key(name, "event_id"), str(upto))
            )
        done += len(batch)
        if progress:
            progress(derivation.label or name, done, total)
    return Result(name, total, False)


def _rebuild(store: Store, derivation: Derivation, progress: Progress | None, restart: bool) -> Result:
    name = derivation.name
    with store.transaction():
        if restart or store.get_state(_key(name, "cursor")) is None:
            delete(store, name)
            target = store.last_event_id()
            _set(store, name, cursor="", target=str(target))
            _db(store).execute("DELETE FROM state WHERE name=?", (_key(name, "version"),))
    cursor = store.get_state(_key(name, "cursor"), "")
    target = int(store.get_state(_key(name, "target"), "0"))
    all_uids = store.uids()
    todo = sorted(u for u in all_uids if u > cursor)
    total, done = len(todo), 0
    for start in range(0, len(todo), BATCH):
        batch = todo[start : start + BATCH]
        with store.transaction():
            derivation.rebuild(store, batch)
            _set(store, name, cursor=batch[-1])
        done += len(batch)
        if progress:
            progress(derivation.label or name, done, total)
    with store.transaction():
        _set(store, name, version=str(derivation.version), event_id=str(target))
        _db(store).execute("DELETE FROM state WHERE name IN (?, ?)", (_key(name, "cursor"), _key(name, "target")))
    # documents changed while it ran are dealt with now
    _update(store, derivation, target, progress)
    return Result(name, len(all_uids), True)


def _set(store: Store, name: str, **values: str) -> None:
    for what, value in values.items():
        _db(store).execute("INSERT OR REPLACE INTO state(name, value) VALUES (?, ?)", (_key(name, what), value))
