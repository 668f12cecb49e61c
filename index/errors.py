"""Errors of the index package."""

from kb.errors import KBError


class IndexError_(KBError):
    """The index cannot be opened, built or written."""


class QueryError(KBError):
    """A query the user typed cannot be understood; the message says why, in Vietnamese."""
