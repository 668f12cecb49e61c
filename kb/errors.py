"""Exceptions of the knowledge base core. Every error the kb package raises derives from KBError."""


class KBError(Exception):
    """Base of every error raised by the kb package; its message is meant for users."""


class ConfigError(KBError):
    """The instance configuration is unreadable or holds an invalid value."""


class RecordError(KBError):
    """A record (a JSON object) does not follow the documented schema."""


class StoreError(KBError):
    """The store cannot be opened or written (locked, corrupt, newer schema)."""
