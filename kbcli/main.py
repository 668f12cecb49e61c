"""The `kb` click group: instance selection, error handling, and registration of the commands."""

from __future__ import annotations

import sys

import click

from kb import config as kbconfig
from kb.errors import KBError
from kb.store import Store
from kbcli import clickvi

clickvi.install()  # click's own words (Usage, Options, its error messages) in Vietnamese


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


class KBCommand(click.Command):
    """A command whose usage line reads "[TÙY_CHỌN]"."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[TÙY_CHỌN]")
        super().__init__(*args, **kwargs)


class KBSubGroup(click.Group):
    """A group of commands (kb index, kb alerts, …) whose usage line reads in Vietnamese."""

    command_class = KBCommand

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("options_metavar", "[TÙY_CHỌN]")
        kwargs.setdefault("subcommand_metavar", "LỆNH [ĐỐI_SỐ]...")
        super().__init__(*args, **kwargs)


KBSubGroup.group_class = KBSubGroup


class KBGroup(KBSubGroup):
    """Turns the project's errors into one short message and exit code 1, never a traceback."""

    def invoke(self, ctx):
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
            click.echo("\nĐã dừng; những gì đã lưu vẫn được giữ.", err=True)
            sys.exit(130)


@click.group(cls=KBGroup)
@click.option(
    "--instance",
    "-i",
    envvar="KB_INSTANCE",
    type=click.Path(file_okay=False),
    help="Thư mục instance chứa cơ sở dữ liệu, chỉ mục tìm kiếm và config.toml (mặc định ./instance).",
)
@click.version_option(package_name="hdnd-kb")
@click.pass_context
def cli(ctx: click.Context, instance: str | None) -> None:
    """Cơ sở dữ liệu văn bản pháp luật của Văn phòng HĐND tỉnh: thu thập, tìm kiếm, kiểm tra căn cứ, thông báo.

    Mọi lệnh nhận --instance THƯ_MỤC (hoặc biến KB_INSTANCE). Xem `kb LỆNH --help`."""
    ctx.obj = Context(instance)
    ctx.call_on_close(ctx.obj.close)


pass_context = click.make_pass_decorator(Context)


def _register() -> None:
    """Import every module of this package: each defines its commands on `cli` when imported."""
    import importlib
    import pkgutil

    import kbcli

    for module in pkgutil.iter_modules(kbcli.__path__):
        if module.name != "main":
            importlib.import_module(f"kbcli.{module.name}")


_register()
