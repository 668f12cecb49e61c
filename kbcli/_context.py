"""What every command shares (not a command): the `Context` (the configuration and a lazily opened
store; only the commands that add documents may create an instance), `pass_context`, `UserError` (one
line "Lỗi: …"), and `KBGroup`, which turns the project's errors into that one line, never a traceback."""

from __future__ import annotations

import signal
import sys
import threading

import click

from kb import config as kbconfig
from kb.errors import KBError
from kb.store import Store


class UserError(click.ClickException):
    """A user error: one line "Lỗi: …" on standard error and exit code 1 (never a traceback)."""

    def show(self, file=None) -> None:
        click.echo(f"Lỗi: {self.format_message()}", err=True, file=file)


class Context:
    """What every command shares: the configuration and a lazily opened store.

    Only the commands that add documents (`kb import`, `kb refresh`, `kb alerts add`) create an instance:
    they call `creating()` first. Every other command finds a missing instance a one-line error saying
    where it looked and what to run, and `documents()` does the same for an instance without documents."""

    def __init__(self, instance: str | None):
        self._instance = instance
        self._config = None
        self._store = None
        self._may_create = False

    def creating(self) -> Context:
        """This command may create the instance (its folder and its database)."""
        self._may_create = True
        return self

    def _where(self) -> str:
        how = (
            "theo --instance hoặc KB_INSTANCE"
            if self._instance is not None
            else "thư mục mặc định ./instance; chọn thư mục khác bằng --instance hoặc KB_INSTANCE"
        )
        return f"{self.config.instance} ({how})"

    def missing_message(self) -> str:
        return (
            f"Không tìm thấy cơ sở dữ liệu ở {self._where()}: tạo bằng `kb import TỆP.jsonl` "
            "(không cần internet) hoặc `kb refresh`, hoặc chỉ đúng thư mục đã có."
        )

    def empty_message(self) -> str:
        return (
            f"Cơ sở dữ liệu ở {self._where()} chưa có văn bản nào: thêm bằng `kb import TỆP.jsonl` "
            "(không cần internet) hoặc `kb refresh`."
        )

    def exists(self) -> bool:
        return self._store is not None or self.config.db_path.exists()

    @property
    def config(self) -> kbconfig.Config:
        if self._config is None:
            self._config = kbconfig.load(self._instance)
        return self._config

    @property
    def store(self) -> Store:
        if self._store is None:
            if not self._may_create and not self.config.db_path.exists():
                raise UserError(self.missing_message())
            self._store = Store(self.config.db_path, self.config.get("sources", "priority"))
        return self._store

    def documents(self) -> Store:
        """The store of a command that needs documents (a one-line error when it has none)."""
        store = self.store
        if store.count() == 0:
            raise UserError(self.empty_message())
        return store

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
            raise UserError(str(exc)) from None
        except click.UsageError:
            raise
        except click.ClickException as exc:
            if isinstance(exc, UserError):
                raise
            error = UserError(exc.message)
            error.exit_code = exc.exit_code
            raise error from None
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
