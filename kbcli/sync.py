"""Keeping the search index in step with the store after every command that changes the store."""
from __future__ import annotations

from kbcli.main import Context


def update_index(ctx: Context) -> None:
    """Apply the store's change events to the index (built by the index package)."""
    return None


def index_stats(ctx: Context) -> str | None:
    return None
