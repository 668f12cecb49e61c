"""Keeping the search index in step with the store after every command that changes the store."""

from __future__ import annotations

import sys

import click

from index import build
from kb.legal.transitions import derive_statuses
from kbcli._context import Context


def update_index(ctx: Context) -> int:
    """Apply the store's change events to the index (building it when missing or outdated).

    Every command that changes the store calls this before it finishes, so a document stored is a
    document findable. Returns the number of documents re-indexed."""
    derive_statuses(ctx.store)  # statuses changed by a relation or a date crossed: events the index applies
    index_dir = ctx.config.index_dir
    reason = build.needs_rebuild(index_dir)
    timeout = ctx.config.get("index", "writer_timeout")
    if reason:
        total = ctx.store.count()
        with click.progressbar(length=total, label=f"Building the search index ({reason})", file=sys.stderr) as bar:
            return build.rebuild(ctx.store, index_dir, progress=bar.update, if_needed=True)
    pending = len({e.uid for e in ctx.store.events(since_id=build.read_meta(index_dir).event_id)})
    if not pending:
        return 0
    with click.progressbar(length=pending, label="Updating the search index", file=sys.stderr) as bar:
        return build.update(ctx.store, index_dir, timeout=timeout, progress=bar.update)


def index_stats(ctx: Context) -> dict:
    return build.stats(ctx.config.index_dir)
