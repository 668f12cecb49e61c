"""Keeping what is derived from the store — the derived legal data (kb/legal/derived.py) and the search
index — in step with it after every command that changes the store.

A command that writes documents calls `update_index(ctx)` before it finishes (it brings the derived
data up to date first), or `update_derived(ctx)` alone when told to leave the index for later."""

from __future__ import annotations

import os
import sys

import click

from index import build, compaction, semantic
from kb.legal import derived
from kb.legal.transitions import derive_statuses
from kbcli._context import Context
from kbcli._progress import Counted


def update_derived(ctx: Context, full: bool = False) -> list[derived.Result]:
    """Bring every derivation up to date with the store's change events (resuming a killed run);
    full: recompute them from every document. Statuses changed by a relation or a date crossed are derived
    first (kb.legal.transitions: change events that the index and the derivations then apply), with or
    without an index update (`--no-index` too)."""
    derive_statuses(ctx.store)
    current: list = []  # [label, total, bar]

    def close() -> None:
        if current:
            current.pop()[2].__exit__(None, None, None)

    def progress(label: str, done: int, total: int) -> None:
        if not current or current[0][:2] != (label, total):
            close()
            bar = click.progressbar(length=total, label=f"Cập nhật dữ liệu dẫn xuất: {label}", file=sys.stderr)
            bar.__enter__()
            current.append((label, total, bar))
        bar = current[0][2]
        bar.update(done - bar.pos)

    try:
        return (derived.rebuild if full else derived.refresh)(ctx.store, progress=progress)
    finally:
        close()


def update_index(ctx: Context) -> int:
    """Apply the store's change events to the index (building it when missing or outdated).

    Every command that changes the store calls this before it finishes, so a document stored is a
    document findable. Statuses changed by a relation or a date crossed are derived first (events the index
    applies), then the derived legal data is brought up to date. Returns the number of documents re-indexed."""
    update_derived(ctx)
    index_dir = ctx.config.index_dir
    reason = build.needs_rebuild(index_dir)
    timeout = ctx.config.get("index", "writer_timeout")
    after = "Ghi chỉ mục tìm kiếm xuống đĩa…"
    if reason:
        total = ctx.store.count()
        with Counted(total, f"Lập chỉ mục tìm kiếm ({reason})", after) as bar:
            count = build.rebuild(ctx.store, index_dir, progress=bar.update, if_needed=True)
        keep_vectors(ctx, None)
        return count
    changed = {e.uid for e in ctx.store.events(since_id=build.read_meta(index_dir).event_id)}
    if not changed:
        return 0
    with Counted(len(changed), "Cập nhật chỉ mục tìm kiếm", after) as bar:
        count = build.update(ctx.store, index_dir, timeout=timeout, progress=bar.update)
    compact_index(ctx)
    keep_vectors(ctx, changed)
    return count


def keep_vectors(ctx: Context, uids: set[str] | None) -> None:
    """Once the sentence model's vectors were made (`kb index embed`), those of new and changed documents
    (all, after a rebuild) are made with every index update."""
    if semantic.available() and semantic.Vectors.of(ctx.config.index_dir) is not None:
        embed_vectors(ctx, uids=uids)


def embed_vectors(ctx: Context, uids: set[str] | None = None, limit: int | None = None) -> tuple[int, int]:
    """Make the sentence model's vectors (index/semantic.py) of the index records that have none or
    whose text changed (of the documents `uids`; all when None), at most `limit`, committed every few
    dozen: a stopped run keeps what it made. Returns (made, still to make)."""
    index_dir = ctx.config.index_dir
    vectors = semantic.Vectors.of(index_dir, create=True)
    try:
        searcher = build.open_searcher(index_dir)
        try:
            todo, gone = semantic.plan(searcher, vectors, uids)
        finally:
            searcher.close()  # the embedding takes minutes to hours: no segment files held meanwhile
        vectors.drop(gone)
        chosen = todo[:limit] if limit is not None else todo
        if chosen:
            encoder = semantic.Encoder(threads=os.cpu_count() or 2)
            with Counted(len(chosen), "Tính vectơ ngữ nghĩa (mô hình câu)", "") as bar:
                semantic.embed(vectors, encoder, chosen, progress=bar.update)
        return len(chosen), len(todo) - len(chosen)
    finally:
        vectors.close()


def compact_index(ctx: Context) -> int:
    """Rewrite the small segments that updates leave (index.compaction), when there are enough of them.
    The update is already committed and searchable; this keeps later searches as fast as after a rebuild."""
    bar: list[Counted] = []

    def start(total: int) -> None:
        bar.append(Counted(total, "Gộp các phân đoạn nhỏ của chỉ mục", "Ghi chỉ mục tìm kiếm xuống đĩa…"))

    try:
        return compaction.compact(
            ctx.store,
            ctx.config.index_dir,
            timeout=ctx.config.get("index", "writer_timeout"),
            progress=lambda n: bar[0].update(n),
            start=start,
        )
    finally:
        if bar:
            bar[0].__exit__(None, None, None)


def index_stats(ctx: Context) -> dict:
    return build.stats(ctx.config.index_dir)
