"""`kb digest`: the weekly "Văn bản mới" digest, written to a file and/or mailed."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from kb.alerts.digest import digest_for, render_html, render_text, send_digest
from kb.alerts.mail import Mailer
from kb.alerts.subscriptions import DIGEST, list_subscriptions
from kbcli._context import Context, pass_context
from kbcli.alerts import _warn_site_url


@click.command()
@click.option("--week", metavar="YYYY-Www", help="ISO week, e.g. 2026-W10; default the last complete week.")
@click.option(
    "--to",
    "to",
    multiple=True,
    metavar="ADDRESS",
    help="Mail it to this address (repeatable, or comma-separated), every time it is run.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, allow_dash=True),
    metavar="FILE",
    help="Write it to FILE: HTML when the name ends in .html or .htm, else plain text; '-' prints it.",
)
@pass_context
def digest(ctx: Context, week: str | None, to: tuple[str, ...], out: str | None) -> None:
    """Build the "Văn bản mới" digest of a week and send it.

    With neither --to nor --out, it is mailed to the confirmed digest subscribers (`kb alerts add
    ADDRESS --digest`) that have not received that week's yet: run it every Monday morning; running
    it again sends nothing twice. An empty week is sent too, saying so."""
    config = ctx.config
    result = digest_for(ctx.documents(), config, week)
    if out:
        if out == "-":
            click.echo(render_text(result, config), nl=False)
        else:
            html = Path(out).suffix.lower() in (".html", ".htm")
            content = render_html(result, config) if html else render_text(result, config)
            tmp = Path(out + ".part")
            tmp.write_text(content, encoding="utf-8")
            tmp.replace(out)
            click.echo(f"{result.title}: written to {out}", err=True)
    addresses = [a.strip() for item in to for a in item.split(",") if a.strip()]
    if out and not addresses:
        return
    if not addresses and not any(s.active for s in list_subscriptions(ctx.store, kind=DIGEST)):
        click.echo(
            "No one receives the digest yet: subscribe addresses with `kb alerts add ADDRESS --digest`, "
            "or give --to ADDRESS or --out FILE.",
            err=True,
        )
        return
    _warn_site_url(ctx)
    with Mailer(config) as mailer:
        report = send_digest(ctx.store, config, result, mailer, to=addresses or None)
    if report.sent:
        click.echo(f"{result.title}: sent to {', '.join(report.sent)}")
    if report.skipped:
        click.echo(f"Already received this week's digest: {', '.join(report.skipped)}")
    if not report.sent and not report.skipped and not report.errors:
        click.echo("No active digest subscriber.")
    for error in report.errors:
        click.echo(f"Error: {error}", err=True)
    if report.errors:
        sys.exit(1)
