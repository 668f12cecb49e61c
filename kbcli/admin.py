"""`kb admin`: the password of the web UI's administration pages (/quan-tri/), kept hashed in the instance."""

from __future__ import annotations

import sys

import click

from kbcli._context import Context, pass_context
from web import admin_state as kbadmin


@click.group()
def admin() -> None:
    """The administration pages of the web UI (/quan-tri/): refresh, sources, subscriptions (docs/WEB.md)."""


@admin.command("password")
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input instead of asking twice.",
)
@pass_context
def password(ctx: Context, password_stdin: bool) -> None:
    """Set (or replace) the administrator's password.

    Only a hash (scrypt) is stored, in <instance>/admin.json (mode 600). At least
    10 characters. Replacing the password ends every open administration session."""
    config = ctx.config
    if password_stdin:
        line = sys.stdin.readline()
        value = line[:-1] if line.endswith("\n") else line
        value = value[:-1] if value.endswith("\r") else value
    else:
        value = click.prompt(
            "New administrator password",
            hide_input=True,
            value_proc=_acceptable,
            confirmation_prompt="Repeat the password",
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
        click.echo(f"Administrator password replaced in {path}; every open administration session has ended.")
    else:
        click.echo(f"Administrator password set in {path}. Log in at {site}/quan-tri/dang-nhap")


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
    """Remove the administrator's password: the administration pages can no longer be reached."""
    if kbadmin.disable(ctx.config):
        click.echo(
            f"Administrator password removed ({kbadmin.password_path(ctx.config)}); "
            "the administration pages are closed until `kb admin password` sets a new one."
        )
    else:
        click.echo("No administrator password was set; the administration pages were already closed.")


@admin.command("status")
@pass_context
def status(ctx: Context) -> None:
    """Whether an administrator's password is set, and when."""
    try:
        creds = kbadmin.load_credentials(ctx.config)
    except kbadmin.AdminError as exc:
        raise click.ClickException(str(exc)) from None
    if creds is None:
        click.echo("No administrator password: the administration pages are closed (set one with `kb admin password`).")
    else:
        click.echo(f"Administrator password set at {creds.set_at} ({kbadmin.password_path(ctx.config)}).")
