"""`kb admin`: the password of the web UI's administration pages (/quan-tri/), kept hashed in the instance."""

from __future__ import annotations

import sys

import click

from kbcli._context import Context, pass_context
from web import admin_state as kbadmin


@click.group()
def admin() -> None:
    """Trang quản trị của giao diện web (/quan-tri/): cập nhật, nguồn dữ liệu, theo dõi (docs/WEB.md)."""


@admin.command("password")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Đọc mật khẩu từ dòng đầu của đầu vào chuẩn thay vì hỏi hai lần.",
)
@pass_context
def password(ctx: Context, password_stdin: bool) -> None:
    """Đặt (hoặc thay) mật khẩu quản trị.

    Chỉ lưu giá trị băm (scrypt), trong <instance>/admin.json (quyền 600). Tối thiểu 10 ký tự.
    Thay mật khẩu thì mọi phiên quản trị đang mở đều kết thúc."""
    config = ctx.config
    if password_stdin:
        line = sys.stdin.readline()
        value = line[:-1] if line.endswith("\n") else line
        value = value[:-1] if value.endswith("\r") else value
    else:
        value = click.prompt(
            "Mật khẩu quản trị mới",
            hide_input=True,
            value_proc=_acceptable,
            confirmation_prompt="Nhập lại mật khẩu",
            err=True,
        )
    try:
        replaced = kbadmin.load_credentials(config) is not None
    except kbadmin.AdminError:
        replaced = True
    kbadmin.set_password(config, value)  # AdminError (too short …) becomes a one-line message
    path = kbadmin.password_path(config)
    site = config.get("site", "url").rstrip("/")
    if replaced:
        click.echo(f"Đã thay mật khẩu quản trị trong {path}; mọi phiên quản trị đang mở đã kết thúc.")
    else:
        click.echo(f"Đã đặt mật khẩu quản trị trong {path}. Đăng nhập tại {site}/quan-tri/dang-nhap")


def _acceptable(value: str) -> str:
    """Ask again at once for a password that would be refused."""
    try:
        kbadmin.check_password(value)
    except kbadmin.AdminError as exc:
        raise click.BadParameter(str(exc)) from None
    return value


@admin.command("disable")
@pass_context
def disable(ctx: Context) -> None:
    """Xóa mật khẩu quản trị: không ai vào được trang quản trị nữa."""
    if kbadmin.disable(ctx.config):
        click.echo(
            f"Đã xóa mật khẩu quản trị ({kbadmin.password_path(ctx.config)}); "
            "trang quản trị đóng cho đến khi `kb admin password` đặt mật khẩu mới."
        )
    else:
        click.echo("Chưa có mật khẩu quản trị; trang quản trị vốn đã đóng.")


@admin.command("status")
@pass_context
def status(ctx: Context) -> None:
    """Cho biết đã đặt mật khẩu quản trị chưa, và đặt lúc nào."""
    try:
        creds = kbadmin.load_credentials(ctx.config)
    except kbadmin.AdminError as exc:
        raise click.ClickException(str(exc)) from None
    if creds is None:
        click.echo("Chưa có mật khẩu quản trị: trang quản trị đang đóng (đặt bằng `kb admin password`).")
    else:
        click.echo(f"Mật khẩu quản trị đặt lúc {creds.set_at} ({kbadmin.password_path(ctx.config)}).")
