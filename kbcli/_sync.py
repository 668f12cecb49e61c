"""Keeping what is derived from the store — the derived legal data (kb/legal/derived.py) and the search
index — in step with it after every command that changes the store.

A command that writes documents calls `update_index(ctx)` before it finishes (it brings the derived
data up to date first), or `update_derived(ctx)` alone when told to leave the index for later."""

from __future__ import annotations

import sys

import click

from index import build, compaction
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
            return build.rebuild(ctx.store, index_dir, progress=bar.update, if_needed=True)
    pending = len({e.uid for e in ctx.store.events(since_id=build.read_meta(index_dir).event_id)})
    if not pending:
        return 0
    with Counted(pending, "Cập nhật chỉ mục tìm kiếm", after) as bar:
        count = build.update(ctx.store, index_dir, timeout=timeout, progress=bar.update)
    compact_index(ctx)
    return count


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
