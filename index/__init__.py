"""The Whoosh full-text index: Vietnamese analysis, schema, building from the store, searching.

Derived from the store and rebuilt from it at will (`kb index rebuild`). Imports only `kb`.
"""
