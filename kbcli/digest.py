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
@click.option("--week", metavar="YYYY-Www", help="Tuần ISO, ví dụ 2026-W10; mặc định là tuần trọn vẹn gần nhất.")
@click.option(
    "--to",
    "to",
    multiple=True,
    metavar="ADDRESS",
    help="Gửi tới địa chỉ này (lặp lại được, hoặc cách nhau bằng dấu phẩy), mỗi lần chạy.",
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False, allow_dash=True),
    metavar="FILE",
    help="Ghi vào FILE: HTML nếu tên kết thúc bằng .html hoặc .htm, còn lại là văn bản thuần; '-' để in ra.",
)
@pass_context
def digest(ctx: Context, week: str | None, to: tuple[str, ...], out: str | None) -> None:
    """Lập bản tin "Văn bản mới" của một tuần và gửi đi.

    Không có --to hay --out thì gửi cho những người đã đăng ký bản tin và đã xác nhận (`kb alerts add
    ĐỊA_CHỈ --digest`) mà chưa nhận bản tin tuần đó: chạy mỗi sáng thứ Hai; chạy lại không gửi trùng.
    Tuần không có gì mới cũng gửi, nói rõ như vậy."""
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
            click.echo(f"{result.title}: đã ghi vào {out}", err=True)
    addresses = [a.strip() for item in to for a in item.split(",") if a.strip()]
    if out and not addresses:
        return
    if not addresses and not any(s.active for s in list_subscriptions(ctx.store, kind=DIGEST)):
        click.echo(
            "Chưa ai nhận bản tin: đăng ký địa chỉ bằng `kb alerts add ĐỊA_CHỈ --digest`, "
            "hoặc dùng --to ĐỊA_CHỈ hay --out TỆP.",
            err=True,
        )
        return
    _warn_site_url(ctx)
    with Mailer(config) as mailer:
        report = send_digest(ctx.store, config, result, mailer, to=addresses or None)
    if report.sent:
        click.echo(f"{result.title}: đã gửi tới {', '.join(report.sent)}")
    if report.skipped:
        click.echo(f"Đã nhận bản tin tuần này từ trước: {', '.join(report.skipped)}")
    if not report.sent and not report.skipped and not report.errors:
        click.echo("Không có người nhận bản tin nào đang hoạt động.")
    for error in report.errors:
        click.echo(f"Lỗi: {error}", err=True)
    if report.errors:
        sys.exit(1)
