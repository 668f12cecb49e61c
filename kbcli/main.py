"""The `kb` click group: instance selection, error handling, and the explicit list of its commands.

Command modules (kbcli/<name>.py) define commands with `@click.command` and import nothing of this
module; helpers that are not commands are named with a leading underscore (kbcli/_context.py,
kbcli/_sync.py)."""

from __future__ import annotations

import click

import scrapers  # noqa: F401  (declares the sources' settings before any configuration is loaded)
from kbcli import _clickvi, admin, alerts, check, data, digest, refresh, review, search, serve
from kbcli._context import Context, KBGroup, UserError, pass_context


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


# Every command, registered here (a module defines its commands; importing it registers nothing).
COMMANDS: tuple[click.Command, ...] = (
    data.import_,
    data.export,
    data.stats,
    refresh.refresh,
    search.search,
    search.index,
    serve.serve,
    check.check,
    check.delegations,
    check.derived_group,
    review.review,
    alerts.alerts,
    digest.digest,
    admin.admin,
)
for _command in COMMANDS:
    cli.add_command(_command)


def _vietnamese_usage(command: click.Command) -> None:
    """Usage lines read "kb index [TÙY_CHỌN] LỆNH [ĐỐI_SỐ]..." (click's words: kbcli/_clickvi.py)."""
    command.options_metavar = "[TÙY_CHỌN]"
    if isinstance(command, click.Group):
        command.subcommand_metavar = "LỆNH [ĐỐI_SỐ]..."
        for sub in command.commands.values():
            _vietnamese_usage(sub)


_clickvi.install()
_vietnamese_usage(cli)

__all__ = ["cli", "COMMANDS", "Context", "UserError", "pass_context"]
