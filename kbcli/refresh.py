"""`kb refresh`: collect new and changed documents from the public sources into the store."""

from __future__ import annotations

import signal
import sys

import click

from kb.errors import RecordError
from kb.locks import instance_lock
from kb.model import parse_date
from kbcli import _sync as sync
from kbcli._context import Context, pass_context
from scrapers import SOURCES, build
from scrapers.base import Relevance
from scrapers.http import Fetcher
from scrapers.refresh import Refresher, SourceReport


@click.command()
@click.argument("sources", nargs=-1, metavar="[SOURCE]...")
@click.option(
    "--source",
    "-s",
    "source_options",
    multiple=True,
    metavar="SOURCE",
    help="Nguồn cần cập nhật (như đối số SOURCE; có thể lặp lại).",
)
@click.option(
    "--since",
    metavar="DATE",
    help="Đi ngược đến ngày DATE (YYYY-MM-DD hoặc dd/mm/yyyy) thay vì dừng ở văn bản đã biết.",
)
@click.option("--full", is_flag=True, help="Đi hết mọi danh sách và đọc lại mọi văn bản liên quan.")
@click.option(
    "--base-url",
    "base_urls",
    multiple=True,
    metavar="[SOURCE=]URL",
    help="Dùng URL thay cho địa chỉ gốc đã cấu hình (bản sao hoặc máy chủ cục bộ). "
    "URL không kèm tên nguồn chỉ dùng được khi cập nhật đúng một nguồn.",
)
@click.option(
    "--record",
    "record_dir",
    type=click.Path(file_okay=False),
    help="Lưu mọi phản hồi nhận được (URL, mã trạng thái, tiêu đề, nội dung) vào thư mục này.",
)
@click.option(
    "--replay",
    "replay_dir",
    type=click.Path(file_okay=False, exists=True),
    help="Trả lời mọi yêu cầu từ thư mục do --record ghi, không dùng mạng.",
)
@click.option("--no-index", is_flag=True, help="Chỉ lưu văn bản; để chỉ mục tìm kiếm cho lần cập nhật sau.")
@pass_context
def refresh(
    ctx: Context,
    sources: tuple[str, ...],
    source_options: tuple[str, ...],
    since: str | None,
    full: bool,
    base_urls: tuple[str, ...],
    record_dir: str | None,
    replay_dir: str | None,
    no_index: bool,
) -> None:
    """Thu thập văn bản mới và văn bản thay đổi từ các nguồn công khai.

    SOURCE là vbpl, congbao hoặc congbao_tinh (mặc định: sources.enabled). Cập nhật dần: mỗi danh sách
    được đọc từ mới đến cũ và dừng ở văn bản đã lưu không đổi; chỉ tải văn bản mới hoặc thay đổi. In một
    dòng tóm tắt cho mỗi nguồn; thoát với mã 1 khi một nguồn lỗi (các nguồn khác vẫn chạy)."""
    config = ctx.config
    explicit = list(dict.fromkeys(sources + source_options))
    names = explicit or list(config.get("sources", "enabled"))
    unknown = [n for n in names if n not in SOURCES]
    if unknown:
        raise click.ClickException(f"không có nguồn {', '.join(unknown)} (các nguồn: {', '.join(SOURCES)})")
    if record_dir and replay_dir:
        raise click.ClickException("không dùng --record và --replay cùng lúc")
    overrides = _base_urls(base_urls, names)
    if since:
        try:
            since = parse_date(since, "--since")
        except RecordError as exc:
            raise click.ClickException(str(exc)) from None

    ctx.creating()
    with instance_lock(config, "refresh", "kb refresh"):  # two refreshes must not walk the same sources
        fetcher = Fetcher.from_config(config, record_dir=record_dir, replay_dir=replay_dir)
        relevance = Relevance.from_config(config)
        settings = config.section("refresh")
        refresher = Refresher(
            ctx.store,
            full=full,
            since=since,
            stop_after=settings["stop_after"],
            max_failures=settings["max_failures"],
            progress=_Progress(),
        )
        previous = signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGTERM, _terminate)  # systemd stop / kill: end like Ctrl-C, store consistent
        reports: list[SourceReport] = []
        try:
            for name in names:
                source = build(name, fetcher, config, base_url=overrides.get(name), relevance=relevance)
                report = refresher.run(source)
                reports.append(report)
                _print_report(report, explicit=name in explicit)
        finally:
            signal.signal(signal.SIGTERM, previous)
            # Also when this run changed nothing: a run killed after storing left the index behind.
            if no_index:
                sync.update_derived(ctx)
            else:
                sync.update_index(ctx)
    failed = [r for r in reports if r.error or (r.not_configured and r.source in explicit)]
    if failed:
        sys.exit(1)


def _base_urls(values: tuple[str, ...], names: list[str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for value in values:
        name, sep, url = value.partition("=")
        if sep and name in SOURCES and "://" not in name:
            result[name] = url
        elif len(names) == 1:
            result[names[0]] = value
        else:
            raise click.ClickException(
                f"--base-url {value}: khi cập nhật nhiều nguồn, hãy ghi tên nguồn (--base-url SOURCE=URL)"
            )
    return result


def _print_report(report: SourceReport, explicit: bool) -> None:
    click.echo(report.summary())
    for failure in report.failures[:20]:
        click.echo(f"{report.source}: lỗi ở {failure['id']}: {failure['error']}", err=True)
    if len(report.failures) > 20:
        click.echo(f"{report.source}: … và {len(report.failures) - 20} văn bản lỗi khác", err=True)
    if report.error:
        click.echo(f"Lỗi: {report.error}", err=True)
    elif report.not_configured and explicit:
        click.echo(f"Lỗi: {report.source}: {report.not_configured}", err=True)


class _Progress:
    """One self-updating line on a terminal; a line every 100 documents otherwise (logs, cron)."""

    def __init__(self):
        self.tty = sys.stderr.isatty()
        self.last = 0

    def __call__(self, report: SourceReport, done: bool) -> None:
        line = (
            f"{report.source}: {report.seen} đã xem, {report.new} mới, {report.changed} thay đổi, {report.failed} lỗi"
        )
        if self.tty:
            click.echo("\r" + line.ljust(78), nl=done, err=True)
        elif not done and report.seen - self.last >= 100:
            self.last = report.seen
            click.echo(line, err=True)
        if done:
            self.last = 0


def _terminate(signum, frame):
    raise KeyboardInterrupt
