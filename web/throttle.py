"""The administrator's login throttle, shared by every thread and worker process of an instance.

Counts live in a small SQLite file of the instance (`<instance>/admin-logins.sqlite`, mode 600): each attempt
is counted *before* its password is checked, in one `BEGIN IMMEDIATE` transaction, so 40 parallel guesses
cannot all pass a check that none of them has yet counted. Two keys are counted per attempt, the client
address and the account:

- an address gets `limit` free failures, then waits `base` seconds, doubled at each further failure, at most
  `max_wait` (a back-off that ends, not a ban);
- the account gets more free failures (from every address together) and a short back-off (`account_max_wait`):
  it slows a distributed guesser without letting a stranger lock the administrator out.

A successful login clears both. Failures are forgotten `window` seconds after the last one (or after the end
of its wait).
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

FILE = "admin-logins.sqlite"


@dataclass(frozen=True)
class Rule:
    limit: int  # free failures before the first wait
    base: float  # the first wait, in seconds; doubled at each further failure
    max_wait: float
    window: float  # seconds without a failure after which the count starts again


class LoginThrottle:
    def __init__(self, instance: Path, address: Rule, account: Rule):
        self.path = Path(instance) / FILE
        self.rules = {"address": address, "account": account}

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        db.execute(
            "CREATE TABLE IF NOT EXISTS failures (key TEXT PRIMARY KEY, count INTEGER NOT NULL, "
            "last REAL NOT NULL, until REAL NOT NULL)"
        )
        return db

    def attempt(self, address: str, account: str, now: float) -> float:
        """Count one attempt for the address and the account: 0 when it may go on (the password is then
        checked), else the seconds to wait (nothing counted)."""
        keys = [("address", f"address:{address}"), ("account", f"account:{account}")]
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")  # one attempt at a time, across threads and processes
            states = {}
            for kind, key in keys:
                row = db.execute("SELECT count, last, until FROM failures WHERE key=?", (key,)).fetchone()
                count, last, until = row if row else (0, 0.0, 0.0)
                if now - max(last, until) > self.rules[kind].window:
                    count, until = 0, 0.0
                states[key] = (kind, count, until)
            wait = max(until - now for _, _, until in states.values())
            if wait > 0:
                db.execute("ROLLBACK")
                return wait
            for key, (kind, count, _) in states.items():
                rule = self.rules[kind]
                count += 1
                limited = rule.limit > 0 and count >= rule.limit  # a limit of 0: not throttled
                until = now + min(rule.max_wait, rule.base * 2 ** min(count - rule.limit, 30)) if limited else 0.0
                db.execute("INSERT OR REPLACE INTO failures VALUES (?, ?, ?, ?)", (key, count, now, until))
            db.execute("COMMIT")
            return 0.0
        finally:
            db.close()

    def succeeded(self, address: str, account: str) -> None:
        """The password was right: forget the failures of the address and of the account."""
        db = self._connect()
        try:
            db.execute("DELETE FROM failures WHERE key IN (?, ?)", (f"address:{address}", f"account:{account}"))
        finally:
            db.close()
