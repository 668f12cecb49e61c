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

import functools
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
# A surrogate can come only from a \u escape (a UTF-8 line cannot encode one): a line without such an
# escape of D800-DFFF needs no walk through its values (a quarter of the time of reading a corpus)
_ESCAPED_SURROGATE = re.compile(r"\\u[dD][89a-fA-F]")


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
                yield number + 1, f"tệp bị hỏng (nén gzip không đọc tiếp được: {exc})"
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
                    yield number, f"không phải văn bản UTF-8 (byte thứ {exc.start + 1} của dòng)"
                    continue
                if not line.strip():
                    continue
                yield number, _parse(line)


# json's messages (JSONDecodeError.msg), as a user reads them
_JSON_MESSAGES = {
    "Expecting value": "thiếu một giá trị",
    "Expecting property name enclosed in double quotes": "tên trường phải nằm trong ngoặc kép",
    "Expecting ':' delimiter": "thiếu dấu hai chấm sau tên trường",
    "Expecting ',' delimiter": "thiếu dấu phẩy giữa hai phần tử",
    "Unterminated string starting at": "chuỗi bắt đầu ở đây không có ngoặc kép đóng",
    "Invalid control character at": "ký tự điều khiển trong chuỗi",
    "Invalid \\escape": "chuỗi thoát \\ không hợp lệ",
    "Invalid \\uXXXX escape": "chuỗi thoát \\uXXXX không hợp lệ",
    "Extra data": "còn dữ liệu thừa sau đối tượng JSON",
    "Illegal trailing comma before end of object": "dấu phẩy thừa trước dấu }",
    "Illegal trailing comma before end of array": "dấu phẩy thừa trước dấu ]",
}


def _parse(line: str) -> dict | str:
    """The JSON value of a line, or why it cannot be stored (in Vietnamese, with the column)."""
    try:
        value = json.loads(line, parse_constant=_no_constant, parse_float=_finite)
    except json.JSONDecodeError as exc:
        return f"JSON không hợp lệ ở cột {exc.colno}: {_JSON_MESSAGES.get(exc.msg, exc.msg)}"
    except RecursionError:
        return f"JSON không hợp lệ: lồng sâu quá {MAX_DEPTH} mức"
    except ValueError as exc:  # NaN or Infinity, an integer of thousands of digits
        return f"JSON không hợp lệ: {exc}"
    if _ESCAPED_SURROGATE.search(line) is None and line.count("[") + line.count("{") <= MAX_DEPTH:
        return value  # no lone surrogate can be in it, nor nesting deeper than MAX_DEPTH: nothing to walk
    return _unstorable(value) or value


def _no_constant(name: str):
    raise ValueError(f"{name} không phải là một số JSON")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999
        raise ValueError("một số quá lớn để lưu")
    return value


def _unstorable(value) -> str | None:
    """Why a parsed value cannot be stored as JSON text (too deep, a lone surrogate, an infinite number)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return (
                    "JSON không hợp lệ: một chuỗi thoát \\u chỉ là nửa cặp thay thế (surrogate), không phải một ký tự"
                )
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "JSON không hợp lệ: một số quá lớn để lưu"
        elif isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                return f"JSON không hợp lệ: lồng sâu quá {MAX_DEPTH} mức"
            children = list(item.items()) if isinstance(item, dict) else [(None, v) for v in item]
            for key, child in children:
                if isinstance(key, str) and _SURROGATE.search(key):
                    return "JSON không hợp lệ: một chuỗi thoát \\u chỉ là nửa cặp thay thế (surrogate), không phải một ký tự"
                stack.append((child, depth + 1))
    return None


NoteParser = Callable[[str, str | None, str | None], list[ChangedBy]]


def import_file(
    store: Store,
    path: str | Path,
    progress: Callable[[int], None] | None = None,
    note_parser: NoteParser | None = None,
    phase: Callable[[str, int], None] | None = None,
) -> ImportReport:
    """Load a JSONL file into the store; see the module docstring for the accepted shapes.

    `note_parser(note, article, source)` reads an article record's `amendment_note` into the document's
    `changed_by` (the CLI hands in kb.legal.amendments.parse_amendment_note; without it notes are skipped).
    progress(n) reports bytes read; with `phase`, the work is reported in its real phases:
    phase("reading", file size) then progress in bytes (whole documents are stored as they are read),
    then phase("storing", documents) then progress in documents (the documents of an article-level
    file are stored once every article was read)."""
    if not Path(path).is_file():
        raise KBError(f"không có tệp {path}")
    report = ImportReport()
    batch: list[Document] = []
    groups: dict[str, _Group] = {}
    store.batch = f"import:{Path(path).name}:{now()}"  # the "new" events of this import, listed as one line
    try:
        return _import(store, path, progress, phase, note_parser, report, batch, groups)
    finally:
        store.batch = None


def _import(store, path, progress, phase, note_parser, report: ImportReport, batch: list, groups: dict) -> ImportReport:
    storing = False

    def flush() -> None:
        if batch:
            report.count(store.upsert_many(batch, normalised=True))  # every one made by Document.from_dict
            if storing and progress:
                progress(len(batch))
            batch.clear()

    if phase:
        phase("reading", Path(path).stat().st_size)

    for number, item in read_lines(path, progress):
        if isinstance(item, str):
            report.rejected.append((number, item))
            continue
        try:
            if not isinstance(item, dict):
                raise RecordError("mỗi dòng phải là một đối tượng JSON ({…})")
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
                raise RecordError("không phải văn bản (thiếu 'uid') cũng không phải điều (thiếu 'article_id')")
        except RecordError as exc:
            report.rejected.append((number, str(exc)))
            continue
        if len(batch) >= BATCH:
            flush()
    flush()
    if phase and groups:
        phase("storing", len(groups))
        storing = True
    for group in groups.values():
        try:
            doc = group.document()
            if group.legacy != doc.uid and doc.uid not in store and group.legacy in store:
                doc = _renamed(doc, group.legacy)  # stored by an earlier version under its non-ASCII uid
        except RecordError as exc:  # reported on the line that began the document
            report.rejected.append((group.line, str(exc)))
            if storing and progress:
                progress(1)
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
        self.legacy = uid

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


def _renamed(doc: Document, uid: str) -> Document:
    data = doc.to_dict()
    data["uid"], data["source_id"] = uid, uid.split(":", 1)[1]
    return Document.from_dict(data)


@functools.lru_cache(maxsize=65536)
def _slug(text: str) -> str:
    """slug(), remembered: an article-level file repeats its document's id and source on every line."""
    return slug(text)


def _source_of(item: dict) -> str:
    record_id = item.get("id")
    if isinstance(record_id, str) and ":" in record_id:
        return _slug(record_id.split(":", 1)[0]).replace("-", "_") or "import"
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
            raise RecordError(f"'{name}' phải là chuỗi, không phải {type(value).__name__}")
    return checked


def _add_article(groups: dict[str, _Group], item: dict, line: int, note_parser: NoteParser | None = None) -> None:
    raw_id = item.get("doc_id") or item.get("doc_number") or ""
    doc_id = _slug(raw_id)  # ASCII ("163-2016-nđ-cp" -> "163-2016-nd-cp"): addresses without percent-encoding
    if not doc_id:
        raise RecordError("điều không cho biết thuộc văn bản nào ('doc_id' và 'doc_number' đều trống)")
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        raise RecordError("điều không có nội dung ('text')")
    uid = f"{_source_of(item)}:{doc_id}"
    group = groups.get(uid)
    if group is None:
        for name in ("issued_date", "effective_date"):
            _date(item, name)  # reject a bad date on the line that carries it
        if not any(" ".join(nfc(item.get(name) or "").split()) for name in ("doc_title", "doc_number")):
            raise RecordError("điều không cho biết tên ('doc_title') hay số ký hiệu ('doc_number') của văn bản")
        group = groups[uid] = _Group(uid, item, line)
        group.legacy = f"{_source_of(item)}:{raw_id}"  # the uid an earlier version made of the raw id
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
    record_id = item.get("id") or item.get("doc_id") or item.get("doc_number") or ""
    source_id = slug(record_id.split(":", 1)[1] if ":" in record_id else record_id)
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
