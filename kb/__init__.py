"""The knowledge base core: the document model, the SQLite store with its change history,
configuration, and JSON Lines import/export.

This package imports none of the project's other packages (scrapers, index, web, kbcli).
"""
