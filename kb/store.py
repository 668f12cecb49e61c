"""The SQLite store: the source of truth. Every write is a transaction; every change to a document
keeps its previous version and appends change events that alerts, the digest and the index read.

Concurrency: WAL mode (readers never wait for the writer) and a busy timeout, so a refresh and
searches can run at the same time. The schema is migrated forward on open (PRAGMA user_version).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from kb.errors import RecordError, StoreError
from kb.model import CONTENT_RULES, Document, Relation, normalise
from kb.numbers import KEY_VERSION, number_key

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE documents (
        uid TEXT PRIMARY KEY,
        key TEXT,
        number_key TEXT,
        version INTEGER NOT NULL,
        text_hash TEXT NOT NULL,
        data TEXT NOT NULL,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX documents_key ON documents(key);
    CREATE INDEX documents_number ON documents(number_key);
    CREATE TABLE aliases (alias TEXT PRIMARY KEY, uid TEXT NOT NULL);
    CREATE TABLE versions (
        uid TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL, saved_at TEXT NOT NULL,
        PRIMARY KEY (uid, version)
    );
    CREATE TABLE relations (
        uid TEXT NOT NULL, type TEXT NOT NULL, target_uid TEXT, target_key TEXT,
        target_number TEXT, target_title TEXT, note TEXT
    );
    CREATE INDEX relations_uid ON relations(uid);
    CREATE INDEX relations_target_uid ON relations(target_uid);
    CREATE INDEX relations_target_key ON relations(target_key);
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        uid TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL, detail TEXT NOT NULL
    );
    CREATE INDEX events_uid ON events(uid);
    CREATE INDEX events_at ON events(at);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT, source TEXT NOT NULL, started TEXT NOT NULL,
        finished TEXT, counts TEXT, error TEXT
    );
    CREATE TABLE state (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: the alert tables were created here; they are now kb.alerts.records' own schema (Store.ensure_schema).
    # The step stays, empty, so that the version numbers of existing stores keep their meaning.
    "",
)

# Event kinds written to the log.
NEW, TEXT, STATUS, METADATA, REL_ADDED, REL_REMOVED, DELETED = (
    "new",
    "text_changed",
    "status_changed",
    "metadata_changed",
    "relation_added",
    "relation_removed",
    "deleted",
)
_METADATA_FIELDS = (
    "source_url",
    "number",
    "title",
    "doc_type",
    "issuer",
    "signers",
    "issued",
    "effective",
    "expires",
    "fields",
    "scope",
    "province",
    "gazette",
    "attachments",
)
_MERGED_FIELDS = _METADATA_FIELDS + ("status", "text", "articles", "changed_by", "source_updated")
DEFAULT_PRIORITY = ("vbpl", "congbao", "congbao_tinh")


@dataclass
class Change:
    """What one upsert did. `kinds` is empty when the document was stored unchanged."""

    uid: str
    kinds: list[str] = field(default_factory=list)
    old_status: str | None = None
    new_status: str | None = None

    @property
    def is_new(self) -> bool:
        return NEW in self.kinds

    @property
    def changed(self) -> bool:
        return bool(self.kinds)


@dataclass
class Event:
    id: int
    uid: str
    kind: str
    at: str
    detail: dict


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Dated:
    """A document whose date (`Store.dated`) fell in a range: its uid, that date and its status."""

    uid: str
    day: str
    status: str | None


DATE_COLUMNS = ("issued", "effective", "expires")


def _private(path: Path) -> None:
    """Create the database readable by its owner only (it holds the subscribers' addresses); SQLite gives its
    -wal and -shm files the database's mode. A database anyone may read (0644, made by an older version) is
    made 0600; a group's read access without the world's (0640, docs/SECURITY.md) is the administrator's choice
    and is kept."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return
    except FileExistsError:
        pass
    except OSError:
        return  # a read-only place: SQLite says what is wrong
    for name in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = name.stat().st_mode & 0o777
            if mode & 0o007:  # the old default 0644: nobody chose it, so the group's bits go too
                os.chmod(name, mode & ~0o077)
        except OSError:
            pass


class Store:
    """A knowledge base in one SQLite file. Open with `Store(path)`; close with `close()` or `with`.

    A feature above the core keeps its own tables in the same file: it hands its migrations to
    `ensure_schema` (kb.alerts.records does), and the core knows nothing of them."""

    def __init__(self, path: str | Path, source_priority: Iterable[str] = DEFAULT_PRIORITY):
        self.path = Path(path)
        self.priority = {name: rank for rank, name in enumerate(reversed(tuple(source_priority)), start=1)}
        self.batch: str | None = None  # set by a bulk import: its "new" events carry it (one line in lists)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._schemas: set[str] = set()
        _private(self.path)
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, timeout=60, check_same_thread=False)
            self.db.row_factory = sqlite3.Row
            self._set_wal()
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            self._rekey()
            self._reclean()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"không mở được cơ sở dữ liệu {self.path}: {exc}") from None

    # --- plumbing --------------------------------------------------------------------------
    def _set_wal(self) -> None:
        # Switching a new file to WAL takes an exclusive lock and ignores the busy timeout: when
        # several processes open a new store at once, the losers are told "locked" and retry.
        for attempt in range(200):
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 199:
                    raise
                time.sleep(0.05)

    def close(self) -> None:
        self.db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @contextmanager
    def transaction(self):
        """One write transaction (BEGIN IMMEDIATE): all of it is stored, or none of it."""
        if self.db.in_transaction:
            yield
            return
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise StoreError(
                f"cơ sở dữ liệu {self.path} do một phiên bản mới hơn ghi (lược đồ {version}); hãy nâng cấp phần mềm"
            )
        while version < len(MIGRATIONS):
            with self.transaction():
                # read again under the write lock: another process may have migrated meanwhile
                version = self.db.execute("PRAGMA user_version").fetchone()[0]
                if version >= len(MIGRATIONS):
                    break
                for statement in MIGRATIONS[version].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                version += 1
                self.db.execute(f"PRAGMA user_version={version}")

    def ensure_schema(self, name: str, migrations: Sequence[str]) -> None:
        """Create or migrate forward the tables of a feature above the core: `migrations` are its SQL
        scripts, oldest first (never edited once released; a change is a new script). The feature's
        version is kept in the state table as "schema:<name>". Cheap after the first call per Store."""
        if name in self._schemas:
            return
        key = f"schema:{name}"
        while int(self.get_state(key) or 0) < len(migrations):
            with self.transaction():
                # read again under the write lock: another process may have migrated meanwhile
                version = int(self.get_state(key) or 0)
                if version >= len(migrations):
                    break
                for statement in migrations[version].split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute("INSERT OR REPLACE INTO state(name, value) VALUES (?, ?)", (key, str(version + 1)))
        if int(self.get_state(key) or 0) > len(migrations):
            raise StoreError(
                f"các bảng {name} của cơ sở dữ liệu {self.path} do một phiên bản mới hơn ghi; hãy nâng cấp phần mềm"
            )
        self._schemas.add(name)

    def _rekey(self) -> None:
        """Recompute the stored number keys when the số ký hiệu parser changed (numbers.KEY_VERSION):
        lookups by number and cross-source matching compare keys made by the running version."""
        wanted = str(KEY_VERSION)
        if self.get_state("number_keys") == wanted:
            return
        with self.transaction():
            if self.get_state("number_keys") == wanted:  # another process did it meanwhile
                return
            rows = self.db.execute("SELECT uid, key, number_key, data FROM documents").fetchall()
            for row in rows:
                try:
                    doc = Document.from_dict(json.loads(row["data"]))
                except (RecordError, ValueError):  # keep a record this version cannot read as it is
                    continue
                if (doc.key, doc.number_key) != (row["key"], row["number_key"]):
                    self.db.execute(
                        "UPDATE documents SET key=?, number_key=? WHERE uid=?", (doc.key, doc.number_key, row["uid"])
                    )
            rows = self.db.execute(
                "SELECT rowid, target_number, target_key FROM relations WHERE target_number IS NOT NULL"
            ).fetchall()
            for row in rows:
                key = number_key(row["target_number"])
                if key != row["target_key"]:
                    self.db.execute("UPDATE relations SET target_key=? WHERE rowid=?", (key, row["rowid"]))
            self.db.execute("INSERT OR REPLACE INTO state(name, value) VALUES ('number_keys', ?)", (wanted,))

    def _reclean(self) -> None:
        """Apply the running version's content rules (model.CONTENT_RULES: http/https links only, no bidi
        controls in titles, numbers and names) to records stored by an older version, in place: no new
        version, no change event (nothing a reader needs to be told of). `kb index rebuild` refreshes the
        copies of titles the index keeps."""
        wanted = str(CONTENT_RULES)
        if self.get_state("content_rules") == wanted:
            return
        with self.transaction():
            if self.get_state("content_rules") == wanted:
                return
            for row in self.db.execute("SELECT uid, data FROM documents").fetchall():
                try:
                    doc = Document.from_dict(json.loads(row["data"]))
                except (RecordError, ValueError):  # keep a record this version cannot read as it is
                    continue
                data = doc.to_json()
                if data != row["data"]:
                    self.db.execute(
                        "UPDATE documents SET data=?, key=?, number_key=? WHERE uid=?",
                        (data, doc.key, doc.number_key, row["uid"]),
                    )
            self.db.execute("INSERT OR REPLACE INTO state(name, value) VALUES ('content_rules', ?)", (wanted,))

    # --- reading ---------------------------------------------------------------------------
    def resolve_uid(self, uid: str) -> str | None:
        row = self.db.execute("SELECT uid FROM documents WHERE uid=?", (uid,)).fetchone()
        if row:
            return row[0]
        row = self.db.execute("SELECT uid FROM aliases WHERE alias=?", (uid,)).fetchone()
        return row[0] if row else None

    def get(self, uid: str) -> Document | None:
        real = self.resolve_uid(uid)
        if real is None:
            return None
        row = self.db.execute("SELECT data FROM documents WHERE uid=?", (real,)).fetchone()
        return Document.from_dict(json.loads(row[0])) if row else None

    def __contains__(self, uid: str) -> bool:
        return self.resolve_uid(uid) is not None

    def count(self) -> int:
        return self.db.execute("SELECT count(*) FROM documents").fetchone()[0]

    def uids(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT uid FROM documents ORDER BY uid")]

    def dated(self, column: str, low: str, high: str) -> list[Dated]:
        """The documents whose date `column` (issued, effective or expires) is within [low, high]
        (ISO dates, compared as text), in uid order."""
        if column not in DATE_COLUMNS:
            raise ValueError(f"not a date column: {column!r} (one of {', '.join(DATE_COLUMNS)})")
        rows = self.db.execute(
            f"SELECT uid, json_extract(data, '$.{column}') AS day, json_extract(data, '$.status') AS status"
            f" FROM documents WHERE json_extract(data, '$.{column}') BETWEEN ? AND ? ORDER BY uid",
            (low, high),
        )
        return [Dated(row[0], row[1], row[2]) for row in rows]

    def iter_documents(self, batch: int = 500, after: str = "", upto: str | None = None) -> Iterator[Document]:
        """Every document, in uid order, read in batches (safe while others write).

        after/upto: only the uids in (after, upto] (upto None: to the end)."""
        last = after
        while True:
            if upto is None:
                rows = self.db.execute(
                    "SELECT uid, data FROM documents WHERE uid > ? ORDER BY uid LIMIT ?", (last, batch)
                ).fetchall()
            else:
                rows = self.db.execute(
                    "SELECT uid, data FROM documents WHERE uid > ? AND uid <= ? ORDER BY uid LIMIT ?",
                    (last, upto, batch),
                ).fetchall()
            if not rows:
                return
            for row in rows:
                yield Document.from_dict(json.loads(row["data"]))
            last = rows[-1]["uid"]

    def split_uids(self, parts: int, min_bytes: int = 0) -> list[tuple[str, str | None]]:
        """(after, upto] uid ranges of about equal stored size (each at least min_bytes of JSON
        when there is that much), for building in several processes."""
        rows = self.db.execute("SELECT uid, length(data) FROM documents ORDER BY uid").fetchall()
        total = sum(size for _, size in rows)
        if min_bytes:
            parts = max(1, min(parts, total // min_bytes))
        ranges: list[tuple[str, str | None]] = []
        after, acc = "", 0
        for uid, size in rows:
            acc += size
            if len(ranges) < parts - 1 and acc >= total * (len(ranges) + 1) / parts:
                ranges.append((after, uid))
                after = uid
        ranges.append((after, None))
        return ranges

    def find_by_number(self, number_key: str) -> list[Document]:
        rows = self.db.execute("SELECT data FROM documents WHERE number_key=? ORDER BY uid", (number_key,))
        return [Document.from_dict(json.loads(r[0])) for r in rows]

    def _number_count(self, key: str, at_most: int = 2) -> int:
        """How many documents have the number key `key`, counted up to `at_most`."""
        sql = "SELECT count(*) FROM (SELECT 1 FROM documents WHERE number_key=? LIMIT ?)"
        return self.db.execute(sql, (key, at_most)).fetchone()[0]

    def resolve_target(self, rel: Relation) -> str | None:
        """The stored uid a relation points at: by uid (or alias), else by a number only one document has."""
        if rel.target_uid:
            real = self.resolve_uid(rel.target_uid)
            if real:
                return real
        if rel.target_key:
            rows = self.db.execute("SELECT uid FROM documents WHERE number_key=? LIMIT 2", (rel.target_key,)).fetchall()
            if len(rows) == 1:
                return rows[0][0]
        return None

    def incoming(self, uid: str) -> list[tuple[str, Relation]]:
        """Relations other documents hold towards `uid`: [(holder uid, relation)], both by uid and by number."""
        # the stored uid and number key only: reading the document (JSON and the model) cost the index
        # build a tenth of its time, and counting the documents of a number needs no document either
        real = self.resolve_uid(uid)
        row = self.db.execute("SELECT number_key FROM documents WHERE uid=?", (real,)).fetchone() if real else None
        if row is None:
            return []
        key = row[0]
        params: list = [real]
        aliases = [r[0] for r in self.db.execute("SELECT alias FROM aliases WHERE uid=?", (real,))]
        where = "target_uid IN (" + ",".join("?" * (1 + len(aliases))) + ")"
        params += aliases
        if key and self._number_count(key) == 1:
            where += " OR (target_uid IS NULL AND target_key=?)"
            params.append(key)
        rows = self.db.execute(f"SELECT * FROM relations WHERE ({where}) AND uid != ? ORDER BY uid", (*params, real))
        return [
            (
                r["uid"],
                Relation(
                    type=r["type"],
                    target_uid=real,
                    target_number=r["target_number"],
                    target_title=r["target_title"],
                    note=r["note"],
                ),
            )
            for r in rows
        ]

    def version_count(self, uid: str) -> int:
        row = self.db.execute("SELECT version FROM documents WHERE uid=?", (uid,)).fetchone()
        return row[0] if row else 0

    def versions(self, uid: str) -> list[tuple[int, str, Document]]:
        """Previous versions of a document, oldest first: [(version, saved_at, document)]."""
        rows = self.db.execute("SELECT version, saved_at, data FROM versions WHERE uid=? ORDER BY version", (uid,))
        return [(r[0], r[1], Document.from_dict(json.loads(r[2]))) for r in rows]

    def events(
        self, since_id: int = 0, uid: str | None = None, since: str | None = None, limit: int | None = None
    ) -> list[Event]:
        sql, params = "SELECT * FROM events WHERE id > ?", [since_id]
        if uid:
            sql += " AND uid=?"
            params.append(uid)
        if since:
            sql += " AND at >= ?"
            params.append(since)
        sql += " ORDER BY id"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [
            Event(r["id"], r["uid"], r["kind"], r["at"], json.loads(r["detail"])) for r in self.db.execute(sql, params)
        ]

    def last_event_id(self) -> int:
        return self.db.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]

    def stats(self, statuses: dict[str, str] | None = None) -> dict:
        """Counts of the store. `statuses` ({uid: status}, e.g. as kb.legal.validity derived them) are counted
        in `by_status` instead of the labels the sources gave (those stay in `by_source_status`)."""
        count = self.count()
        articles = 0
        by_type: dict[str, int] = {}
        by_status: dict[str, int] = {}
        by_source: dict[str, int] = {}
        statuses = statuses or {}
        for row in self.db.execute(
            "SELECT uid, json_array_length(data, '$.articles'), json_extract(data, '$.doc_type'),"
            " json_extract(data, '$.status') FROM documents"
        ):
            articles += row[1] or 0
            by_type[row[2] or "—"] = by_type.get(row[2] or "—", 0) + 1
            by_source[row[3] or "—"] = by_source.get(row[3] or "—", 0) + 1
            status = statuses.get(row[0]) or row[3] or "—"
            by_status[status] = by_status.get(status, 0) + 1
        return {
            "documents": count,
            "articles": articles,
            "by_type": by_type,
            "by_status": by_status,
            "by_source_status": by_source,
            "events": self.db.execute("SELECT count(*) FROM events").fetchone()[0],
            "versions": self.db.execute("SELECT count(*) FROM versions").fetchone()[0],
        }

    # --- writing ---------------------------------------------------------------------------
    def upsert(self, doc: Document) -> Change:
        """Store `doc`; return what changed. A document already stored unchanged is not written."""
        normalise(doc)
        with self.transaction():
            return self._upsert(doc)

    def upsert_many(self, docs: Iterable[Document], normalised: bool = False) -> list[Change]:
        """Store `docs` in one transaction. normalised: each was just made by Document.from_dict (which
        normalises) and not changed since, so it is not normalised a second time (a bulk import)."""
        with self.transaction():
            return [self._upsert(doc if normalised else normalise(doc)) for doc in docs]

    def _find_existing(self, doc: Document) -> Document | None:
        """The stored record `doc` updates: same uid (or alias), else the same document from another
        source (same key). Two ids of one source are two documents, even with the same key
        (a corrigendum or a translation can share number, issuer and date)."""
        existing = self.get(doc.uid)
        if existing is None and doc.key:
            rows = self.db.execute("SELECT data FROM documents WHERE key=?", (doc.key,)).fetchall()
            for row in rows:
                candidate = Document.from_dict(json.loads(row[0]))
                sources = {candidate.source} | {a["uid"].split(":", 1)[0] for a in candidate.extra.get("also_at", [])}
                if doc.source not in sources:
                    return candidate
        return existing

    def _upsert(self, doc: Document) -> Change:
        at = now()
        existing = self._find_existing(doc)
        if existing is None:
            for name in _MERGED_FIELDS:
                if _has_value(getattr(doc, name)):
                    doc.provenance.setdefault(name, doc.source)
            self._write(doc, version=1, created=at, at=at)
            detail = {"status": doc.status, "number": doc.number, "title": doc.title}
            if self.batch:
                detail["batch"] = self.batch
            self._log(doc.uid, NEW, at, detail)
            for rel in doc.relations:
                self._log_incoming(doc, rel, REL_ADDED, at)
            return Change(doc.uid, [NEW], None, doc.status)

        merged = self._merge(existing, doc)
        if merged.uid != doc.uid:
            self.db.execute("INSERT OR IGNORE INTO aliases(alias, uid) VALUES (?, ?)", (doc.uid, merged.uid))
        change = Change(merged.uid, [], existing.status, merged.status)
        if merged.text_hash() != existing.text_hash():
            change.kinds.append(TEXT)
        if merged.status != existing.status:
            change.kinds.append(STATUS)
        changed_meta = [n for n in _METADATA_FIELDS if _canon(getattr(merged, n)) != _canon(getattr(existing, n))]
        if changed_meta:
            change.kinds.append(METADATA)
        old_rels = {r.identity(): r for r in existing.relations}
        new_rels = {r.identity(): r for r in merged.relations}
        added = [r for k, r in new_rels.items() if k not in old_rels]
        removed = [r for k, r in old_rels.items() if k not in new_rels]
        if added:
            change.kinds.append(REL_ADDED)
        if removed:
            change.kinds.append(REL_REMOVED)
        if not change.kinds:
            if merged.to_dict() != existing.to_dict():  # a new stamp, provenance or "also at": no event
                self._write(merged, self.version_count(merged.uid), None, at, keep_version=True)
            return change

        version = self.version_count(merged.uid)
        self.db.execute(
            "INSERT INTO versions(uid, version, data, saved_at) VALUES (?, ?, ?, ?)",
            (existing.uid, version, existing.to_json(), at),
        )
        self._write(merged, version + 1, None, at)
        if TEXT in change.kinds:
            self._log(merged.uid, TEXT, at, {"version": version + 1})
        if STATUS in change.kinds:
            self._log(
                merged.uid,
                STATUS,
                at,
                {
                    "old": existing.status,
                    "new": merged.status,
                    "effective": merged.effective,
                    "expires": merged.expires,
                },
            )
        if METADATA in change.kinds:
            self._log(
                merged.uid,
                METADATA,
                at,
                {
                    "fields": changed_meta,
                    "old": {n: _canon(getattr(existing, n)) for n in changed_meta if n != "attachments"},
                    "new": {n: _canon(getattr(merged, n)) for n in changed_meta if n != "attachments"},
                },
            )
        for rel in added:
            self._log(merged.uid, REL_ADDED, at, _rel_detail(rel))
            self._log_incoming(merged, rel, REL_ADDED, at)
        for rel in removed:
            self._log(merged.uid, REL_REMOVED, at, _rel_detail(rel))
            self._log_incoming(merged, rel, REL_REMOVED, at)
        return change

    def _merge(self, existing: Document, doc: Document) -> Document:
        """`existing` updated with what `doc` says, field by field, by source priority.

        A source always overwrites what it supplied itself; it fills fields nobody supplied; it
        overwrites another source's value only when it ranks higher (vbpl > congbao > gazettes > imports)."""
        merged = Document.from_dict(existing.to_dict())
        rank = self.priority.get(doc.source, 0)
        for name in _MERGED_FIELDS:
            value = getattr(doc, name)
            owner = merged.provenance.get(name)
            current = getattr(merged, name)
            if (
                owner == doc.source
                or not _has_value(current)
                or (_has_value(value) and rank > self.priority.get(owner, 0))
            ):
                if _has_value(value) or owner == doc.source:
                    setattr(merged, name, value)
                    merged.provenance[name] = doc.source
        # Relations: each source's set replaces what that same source said before.
        kept = [r for r in merged.relations if r.source != doc.source]
        merged.relations = kept + [r for r in doc.relations]
        if doc.uid != merged.uid:
            merged.extra.setdefault("also_at", [])
            link = {"uid": doc.uid, "url": doc.source_url}
            if link not in merged.extra["also_at"]:
                merged.extra["also_at"].append(link)
        merged.extra.update({k: v for k, v in doc.extra.items() if k != "also_at"})
        return normalise(merged)

    def _write(self, doc: Document, version: int, created: str | None, at: str, keep_version: bool = False) -> None:
        if created:
            self.db.execute(
                "INSERT INTO documents(uid, key, number_key, version, text_hash, data, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (doc.uid, doc.key, doc.number_key, version, doc.text_hash(), doc.to_json(), created, at),
            )
        else:
            self.db.execute(
                "UPDATE documents SET key=?, number_key=?, version=?, text_hash=?, data=?"
                + ("" if keep_version else ", updated_at=?")
                + " WHERE uid=?",
                (
                    doc.key,
                    doc.number_key,
                    version,
                    doc.text_hash(),
                    doc.to_json(),
                    *(() if keep_version else (at,)),
                    doc.uid,
                ),
            )
        self.db.execute("DELETE FROM relations WHERE uid=?", (doc.uid,))
        self.db.executemany(
            "INSERT INTO relations(uid, type, target_uid, target_key, target_number, target_title, note)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (doc.uid, r.type, r.target_uid, r.target_key, r.target_number, r.target_title, r.note)
                for r in doc.relations
            ],
        )

    def log_event(self, uid: str, kind: str, detail: dict) -> None:
        """Record an event computed outside the upsert (a status derived by kb.legal.transitions)."""
        with self.transaction():
            self._log(uid, kind, now(), detail)

    def _log(self, uid: str, kind: str, at: str, detail: dict) -> None:
        self.db.execute(
            "INSERT INTO events(uid, kind, at, detail) VALUES (?, ?, ?, ?)",
            (uid, kind, at, json.dumps(detail, ensure_ascii=False)),
        )

    def _log_incoming(self, holder: Document, rel: Relation, kind: str, at: str) -> None:
        """Tell the target of a relation too ("amended by Z"), when it is stored."""
        target = self.resolve_target(rel)
        if target and target != holder.uid:
            self._log(
                target,
                kind,
                at,
                {
                    "direction": "incoming",
                    "type": rel.type,
                    "from_uid": holder.uid,
                    "from_number": holder.number,
                    "from_title": holder.title,
                    "note": rel.note,
                },
            )

    def delete(self, uid: str) -> bool:
        """Remove a document (its versions stay); log a 'deleted' event. False when it was not stored."""
        with self.transaction():
            real = self.resolve_uid(uid)
            if real is None:
                return False
            existing = self.get(real)
            at = now()
            version = self.version_count(real)
            self.db.execute(
                "INSERT OR REPLACE INTO versions(uid, version, data, saved_at) VALUES (?, ?, ?, ?)",
                (real, version, existing.to_json(), at),
            )
            self.db.execute("DELETE FROM documents WHERE uid=?", (real,))
            self.db.execute("DELETE FROM relations WHERE uid=?", (real,))
            self.db.execute("DELETE FROM aliases WHERE uid=?", (real,))
            self._log(real, DELETED, at, {"number": existing.number, "title": existing.title})
            return True

    # --- runs and scraper state -------------------------------------------------------------
    def start_run(self, source: str) -> int:
        with self.transaction():
            cur = self.db.execute("INSERT INTO runs(source, started) VALUES (?, ?)", (source, now()))
            return cur.lastrowid

    def finish_run(self, run_id: int, counts: dict, error: str | None = None) -> None:
        with self.transaction():
            self.db.execute(
                "UPDATE runs SET finished=?, counts=?, error=? WHERE id=?",
                (now(), json.dumps(counts, ensure_ascii=False), error, run_id),
            )

    def runs(self, limit: int = 20) -> list[dict]:
        rows = self.db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        return [dict(r) | {"counts": json.loads(r["counts"]) if r["counts"] else {}} for r in rows]

    def get_state(self, name: str, default: str | None = None) -> str | None:
        row = self.db.execute("SELECT value FROM state WHERE name=?", (name,)).fetchone()
        return row[0] if row else default

    def set_state(self, name: str, value: str) -> None:
        with self.transaction():
            self.db.execute("INSERT OR REPLACE INTO state(name, value) VALUES (?, ?)", (name, value))

    def integrity_check(self) -> str:
        return self.db.execute("PRAGMA integrity_check").fetchone()[0]


def _has_value(value) -> bool:
    return value not in (None, "", [], {}) and value != "Chưa xác định"


def _canon(value):
    """A comparable, JSON-friendly form of a field value."""
    if isinstance(value, list):
        return [v.__dict__ if hasattr(v, "__dict__") else v for v in value]
    return value


def _rel_detail(rel: Relation) -> dict:
    return {
        "type": rel.type,
        "target_uid": rel.target_uid,
        "target_number": rel.target_number,
        "target_title": rel.target_title,
        "note": rel.note,
    }
