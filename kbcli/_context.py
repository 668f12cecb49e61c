"""What every command shares (not a command): the `Context` (the configuration and a lazily opened
store), `pass_context`, and `KBGroup`, which turns the project's errors into one short message."""

from __future__ import annotations

import signal
import sys
import threading

import click

from kb import config as kbconfig
from kb.errors import KBError
from kb.store import Store


class Context:
    """What every command shares: the configuration and a lazily opened store."""

    def __init__(self, instance: str | None):
        self._instance = instance
        self._config = None
        self._store = None

    @property
    def config(self) -> kbconfig.Config:
        if self._config is None:
            self._config = kbconfig.load(self._instance)
        return self._config

    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store(self.config.db_path, self.config.get("sources", "priority"))
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


class KBGroup(click.Group):
    """Turns the project's errors into one short message and exit code 1, never a traceback."""

    def invoke(self, ctx):
        previous = _stop_on_sigterm()
        try:
            return super().invoke(ctx)
        except KBError as exc:
            raise click.ClickException(str(exc)) from None
        except KeyboardInterrupt:
            click.echo("\nĐã dừng theo yêu cầu; những gì đã lưu vẫn được giữ nguyên.", err=True)
            sys.exit(130)
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


def _stop_on_sigterm():
    """SIGTERM (systemd stop, `kill PID`) ends a command as Ctrl-C does: transactions roll back, an index
    build stops its writer processes and removes its unfinished generation. Returns the previous handler
    (None when not in the main thread, where no handler can be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _interrupt)


pass_context = click.make_pass_decorator(Context)
