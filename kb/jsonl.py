"""Import and export of JSON Lines (plain or .gz).

Two record shapes are accepted on import:
- document records in the schema of `Document.to_dict()` (what `kb export` writes), with a `uid`;
- article records as in shared/corpus (`doc_number`, `doc_title`, `doc_type`, `issuer`,
  `issued_date`, `effective_date`, `article_id`, `title`, `text`), grouped into documents;
  a corpus document record (`doc_number` and whole `text`, no `article_id`) is split into articles;
  an article's `amendment_note` becomes the document's `changed_by` through the parser the caller hands in.
A malformed line is rejected with its line number and reason; every other line is imported.
"""

from __future__ import annotations

import gzip
import io
import json
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from kb.articles import split_articles
from kb.errors import KBError, RecordError
from kb.model import Article, ChangedBy, Document, parse_date
from kb.store import Store, now
from kb.text import nfc, slug

BATCH = 200


@dataclass
class ImportReport:
    added: int = 0
    changed: int = 0
    unchanged: int = 0
    articles: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    uids: set[str] = field(default_factory=set)

    def count(self, changes) -> None:
        for change in changes:
            self.uids.add(change.uid)
            if change.is_new:
                self.added += 1
            elif change.changed:
                self.changed += 1
            else:
                self.unchanged += 1


MAX_DEPTH = 64  # objects and lists nested deeper than this are refused (the schema needs 4)
_SURROGATE = re.compile("[\ud800-\udfff]")


def read_lines(path: str | Path, progress: Callable[[int], None] | None = None) -> Iterator[tuple[int, dict | str]]:
    """(line number, parsed object) or (line number, error reason) for each non-blank line.

    Each line is decoded and parsed on its own, so a line that is not UTF-8 or not JSON is rejected
    and the next line is read as usual. Line ends are those of text mode (\\n, \\r\\n or \\r)."""
    raw = open(path, "rb")
    binary: IO[bytes] = gzip.GzipFile(fileobj=raw) if str(path).endswith(".gz") else raw
    with raw, binary:
        position = 0
        number = 0
        while True:
            try:
                chunk = binary.readline()
            except (OSError, EOFError) as exc:  # truncated or corrupt gzip
                yield number + 1, f"the file is damaged: {exc}"
                return
            if not chunk:
                break
            if progress:
                now = raw.tell()
                progress(now - position)
                position = now
            for data in chunk.splitlines() or [b""]:
                number += 1
                try:
                    line = data.decode("utf-8")
                except UnicodeDecodeError as exc:
                    yield number, f"not UTF-8 text ({exc.reason} at byte {exc.start + 1})"
                    continue
                if not line.strip():
                    continue
                yield number, _parse(line)


def _parse(line: str) -> dict | str:
    """The JSON value of a line, or why it cannot be stored."""
    try:
        value = json.loads(line, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        return f"not valid JSON ({exc.msg} at column {exc.colno})"
    except RecursionError:
        return f"not valid JSON (nested more than {MAX_DEPTH} levels deep)"
    except ValueError as exc:  # NaN or Infinity, an integer of thousands of digits
        return f"not valid JSON ({exc})"
    return _unstorable(value) or value


def _no_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _unstorable(value) -> str | None:
    """Why a parsed value cannot be stored as JSON text (too deep, a lone surrogate, an infinite number)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return "not valid JSON (a \\u escape names half of a surrogate pair, not a character)"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "not valid JSON (a number too large to store)"
        elif isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                return f"not valid JSON (nested more than {MAX_DEPTH} levels deep)"
            children = list(item.items()) if isinstance(item, dict) else [(None, v) for v in item]
            for key, child in children:
                if isinstance(key, str) and _SURROGATE.search(key):
                    return "not valid JSON (a \\u escape names half of a surrogate pair, not a character)"
                stack.append((child, depth + 1))
    return None


NoteParser = Callable[[str, str | None, str | None], list[ChangedBy]]


def import_file(
    store: Store,
    path: str | Path,
    progress: Callable[[int], None] | None = None,
    note_parser: NoteParser | None = None,
) -> ImportReport:
    """Load a JSONL file into the store; see the module docstring for the accepted shapes.

    `note_parser(note, article, source)` reads an article record's `amendment_note` into the document's
    `changed_by` (the CLI hands in kb.legal.amendments.parse_amendment_note; without it notes are skipped)."""
    if not Path(path).is_file():
        raise KBError(f"no such file: {path}")
    report = ImportReport()
    batch: list[Document] = []
    groups: dict[str, _Group] = {}
    store.batch = f"import:{Path(path).name}:{now()}"  # the "new" events of this import, listed as one line
    try:
        return _import(store, path, progress, note_parser, report, batch, groups)
    finally:
        store.batch = None


def _import(store, path, progress, note_parser, report: ImportReport, batch: list, groups: dict) -> ImportReport:
    def flush() -> None:
        if batch:
            report.count(store.upsert_many(batch))
            batch.clear()

    for number, item in read_lines(path, progress):
        if isinstance(item, str):
            report.rejected.append((number, item))
            continue
        try:
            if not isinstance(item, dict):
                raise RecordError("a line must hold a JSON object")
            if "uid" in item:
                doc = Document.from_dict(item)
                report.articles += len(doc.articles)
                batch.append(doc)
            elif "article_id" in item:
                _add_article(groups, _corpus_fields(item), number, note_parser)
            elif item.get("doc_number") or item.get("doc_title"):
                doc = _corpus_document(_corpus_fields(item))
                report.articles += len(doc.articles)
                batch.append(doc)
            else:
                raise RecordError("neither a document (no 'uid') nor an article (no 'article_id')")
        except RecordError as exc:
            report.rejected.append((number, str(exc)))
            continue
        if len(batch) >= BATCH:
            flush()
    flush()
    for group in groups.values():
        try:
            doc = group.document()
        except RecordError as exc:  # reported on the line that began the document
            report.rejected.append((group.line, str(exc)))
            continue
        report.articles += len(doc.articles)
        batch.append(doc)
        if len(batch) >= BATCH:
            flush()
    flush()
    report.rejected.sort()
    return report


class _Group:
    """The articles of one document met in an article-level file, in file order."""

    def __init__(self, uid: str, meta: dict, line: int):
        self.uid = uid
        self.meta = meta
        self.line = line
        self.articles: list[Article] = []
        self.fields: list[str] = []
        self.changed_by: list[ChangedBy] = []

    def document(self) -> Document:
        meta = self.meta
        source, source_id = self.uid.split(":", 1)
        doc = Document(
            uid=self.uid,
            source=source,
            source_id=source_id,
            number=meta.get("doc_number"),
            title=meta.get("doc_title") or meta.get("doc_number") or "",
            doc_type=meta.get("doc_type"),
            issuer=meta.get("issuer"),
            issued=_date(meta, "issued_date"),
            effective=_date(meta, "effective_date"),
            fields=self.fields,
            articles=self.articles,
            changed_by=self.changed_by,
        )
        return Document.from_dict(doc.to_dict())


def _source_of(item: dict) -> str:
    record_id = item.get("id")
    if isinstance(record_id, str) and ":" in record_id:
        return slug(record_id.split(":", 1)[0]).replace("-", "_") or "import"
    return "import"


# The fields of article and corpus document records that hold text (a number is taken as its text).
_CORPUS_TEXT_FIELDS = (
    "id",
    "doc_id",
    "doc_number",
    "doc_title",
    "doc_type",
    "issuer",
    "article_id",
    "title",
    "text",
    "chapter",
    "de_muc",
    "signer",
    "status",
    "field",
    "gazette_number",
    "gazette_date",
)


def _corpus_fields(item: dict) -> dict:
    """An article or corpus document record whose text fields are strings; RecordError naming any other."""
    checked = dict(item)
    for name in _CORPUS_TEXT_FIELDS:
        value = item.get(name)
        if value is None or isinstance(value, str):
            continue
        if isinstance(value, (int, float)) and not isinstance(value, bool) and name != "text":
            checked[name] = str(value)  # a number written as a JSON number ("doc_number": 15); never a text
        else:
            raise RecordError(f"'{name}' must be a string, not {type(value).__name__}")
    return checked


def _add_article(groups: dict[str, _Group], item: dict, line: int, note_parser: NoteParser | None = None) -> None:
    doc_id = item.get("doc_id") or (slug(item["doc_number"]) if item.get("doc_number") else None)
    if not doc_id:
        raise RecordError("article record names no document (its 'doc_id' and 'doc_number' are empty)")
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        raise RecordError("article record has no 'text'")
    uid = f"{_source_of(item)}:{doc_id}"
    group = groups.get(uid)
    if group is None:
        for name in ("issued_date", "effective_date"):
            _date(item, name)  # reject a bad date on the line that carries it
        if not any(" ".join(nfc(item.get(name) or "").split()) for name in ("doc_title", "doc_number")):
            raise RecordError("article record gives its document neither a 'doc_title' nor a 'doc_number'")
        group = groups[uid] = _Group(uid, item, line)
    heading = item.get("title")
    body = nfc(text).strip()
    if heading and body.startswith(nfc(heading).strip()):  # ALQAC texts repeat the heading first
        body = body[len(nfc(heading).strip()) :].lstrip(" .:\n")
    number = str(item.get("article_id") or len(group.articles) + 1)
    group.articles.append(Article(number=number, heading=heading, text=body, chapter=item.get("chapter")))
    note = item.get("amendment_note")
    if note_parser is not None and isinstance(note, str) and note.strip():
        group.changed_by.extend(note_parser(note, number, uid.split(":", 1)[0]))
    topic = item.get("de_muc")
    if topic and topic not in group.fields:
        group.fields.append(topic)


def _corpus_document(item: dict) -> Document:
    record_id = item.get("id") or item.get("doc_id") or slug(item.get("doc_number") or "")
    source_id = record_id.split(":", 1)[1] if ":" in record_id else record_id
    text = item.get("text") or ""
    signer = item.get("signer")
    doc = Document(
        uid=f"{_source_of(item)}:{source_id}",
        source=_source_of(item),
        source_id=source_id,
        number=item.get("doc_number"),
        title=item.get("doc_title") or "",
        doc_type=item.get("doc_type"),
        issuer=item.get("issuer"),
        issued=_date(item, "issued_date"),
        effective=_date(item, "effective_date"),
        status=item.get("status") or "Chưa xác định",
        fields=[item["field"]] if item.get("field") else [],
        gazette=" ".join(x for x in (item.get("gazette_number"), item.get("gazette_date")) if x) or None,
        text=text,
        articles=split_articles(text),
    )
    data = doc.to_dict()
    data["signers"] = [{"name": signer}] if signer else []
    return Document.from_dict(data)


def _date(item: dict, name: str) -> str | None:
    value = item.get(name)
    return parse_date(value, name) if value else None


def export(store: Store, out: IO[str], progress: Callable[[int], None] | None = None) -> int:
    """Write every document as one JSON line; return how many."""
    count = 0
    for doc in store.iter_documents():
        out.write(doc.to_json() + "\n")
        count += 1
        if progress:
            progress(1)
    return count


def open_export(path: str | Path, compress: bool = False) -> IO[str]:
    """A text writer for a JSONL file, gzip-compressed when asked."""
    if compress:
        return io.TextIOWrapper(gzip.open(path, "wb"), encoding="utf-8")
    return open(path, "w", encoding="utf-8")
