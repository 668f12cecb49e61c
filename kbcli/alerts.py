"""`kb alerts`: subscriptions managed by administrators, and the run that sends the alerts."""

from __future__ import annotations

import json
import sys

import click

from index.matching import SearchMatcher, read_query
from kb.alerts import delivery
from kb.alerts import subscriptions as subs
from kb.alerts.delivery import send_confirmations
from kb.alerts.links import FACET_PARAMS
from kb.alerts.mail import Mailer, MailError
from kb.alerts.review import deliver_review, subscribe_review
from kb.alerts.subscriptions import FREQUENCIES, SubscriptionError
from kb.locks import instance_lock
from kbcli import _sync as sync
from kbcli._context import Context, pass_context

PARAM_FACETS = {param: facet for facet, param in FACET_PARAMS.items()}


@click.group()
def alerts() -> None:
    """Thông báo qua e-mail: tìm kiếm đã lưu và văn bản được theo dõi (docs/ALERTS.md)."""


def _warn_site_url(ctx: Context) -> None:
    if ctx.config.is_default("site", "url"):
        click.echo(
            f"Lưu ý: site.url đang là giá trị mặc định {ctx.config.get('site', 'url')}; các liên kết trong e-mail "
            "trỏ về đó. Đặt [site] url trong config.toml hoặc biến KB_SITE_URL.",
            err=True,
        )


@alerts.command("add")
@click.argument("email")
@click.option("--query", "-q", metavar="QUERY", help="Thông báo theo tìm kiếm này (cách viết như `kb search`).")
@click.option(
    "--filter",
    "-f",
    "filters",
    multiple=True,
    metavar="PARAM=VALUE",
    help="Bộ lọc của tìm kiếm, như trong địa chỉ của nó: loai, coquan, hieuluc, nam, linhvuc, phamvi (lặp lại được).",
)
@click.option(
    "--url", metavar="URL", help="Thông báo theo một tìm kiếm chép từ trình duyệt (tham số q và các bộ lọc của nó)."
)
@click.option("--document", "-d", "uid", metavar="UID", help="Theo dõi một văn bản (mã của nó, ví dụ vbpl:187649).")
@click.option("--digest", is_flag=True, help="Receive the weekly “Văn bản mới” digest (sent by `kb digest`).")
@click.option("--review", is_flag=True, help="Theo dõi văn bản của tỉnh cần rà soát (docs/REVIEW.md).")
@click.option("--ban", metavar="NAME", help="Cùng --review: chỉ văn bản thuộc Ban này của HĐND.")
@click.option("--label", "-l", default="", help="Vì sao theo dõi (ghi trong e-mail).")
@click.option(
    "--every",
    type=click.Choice(FREQUENCIES),
    default=None,
    help=f"Tần suất: immediate (ngay lần chạy tới), daily (hằng ngày), weekly (hằng tuần). Mặc định {subs.DEFAULT_FREQUENCY}.",
)
@click.option(
    "--confirmed",
    is_flag=True,
    help="Địa chỉ đã biết là đúng (ví dụ hộp thư chung của một Ban): không gửi e-mail xác nhận.",
)
@pass_context
def add(
    ctx: Context,
    email: str,
    query: str | None,
    filters: tuple[str, ...],
    url: str | None,
    uid: str | None,
    digest: bool,
    review: bool,
    ban: str | None,
    label: str,
    every: str | None,
    confirmed: bool,
) -> None:
    """Đăng ký cho EMAIL theo dõi một tìm kiếm, một văn bản hoặc bản tin tuần.

    Không có --confirmed thì địa chỉ nhận một e-mail xác nhận, và không nhận gì khác cho đến khi mở liên
    kết trong đó."""
    chosen = [
        name
        for name, given in (
            ("--query/--url", query is not None or url is not None or filters),
            ("--document", uid),
            ("--digest", digest),
            ("--review", review),
        )
        if given
    ]
    if len(chosen) != 1:
        raise click.UsageError("hãy cho một trong --query (hoặc --url, --filter), --document, --digest hoặc --review")
    if ban and not review:
        raise click.UsageError("--ban đi cùng --review")
    store, config = ctx.creating().store, ctx.config
    if review:
        result = subscribe_review(store, config, email, ban=ban, frequency=every, label=label, confirmed=confirmed)
    elif uid:
        result = subs.follow_document(store, config, email, uid, label=label, frequency=every, confirmed=confirmed)
    elif digest:
        if every not in (None, "weekly"):
            raise click.UsageError("bản tin gửi hằng tuần")
        result = subs.subscribe_digest(store, config, email, label=label, confirmed=confirmed)
    else:
        q, facet_filters = subs.search_from_url(url) if url else ("", {})
        if query is not None:
            q = f"{q} {query}".strip()
        for item in filters:
            param, sep, value = item.partition("=")
            if not sep or param.strip() not in PARAM_FACETS or not value.strip():
                raise click.UsageError(
                    f"--filter {item!r}: viết THAM_SỐ=GIÁ_TRỊ, THAM_SỐ là một trong {', '.join(PARAM_FACETS)}"
                )
            facet_filters.setdefault(PARAM_FACETS[param.strip()], []).append(value.strip())
        result = subs.subscribe_search(
            store,
            config,
            email,
            q,
            facet_filters,
            read_query=read_query,
            label=label,
            frequency=every,
            confirmed=confirmed,
        )
    sub = result.subscription
    verb = "Đã đăng ký" if result.created else "Đã đăng ký từ trước"
    frequency = subs.FREQUENCY_LABELS.get(sub.frequency, sub.frequency)
    click.echo(f"{verb}: số {sub.id} {sub.email} – {sub.describe()} ({frequency}, {sub.status_label})")
    if sub.status == subs.PENDING and not sub.confirm_sent_at:
        _warn_site_url(ctx)
        try:
            with Mailer(config) as mailer:
                report = send_confirmations(store, config, mailer, email=sub.email)
        except MailError as exc:
            click.echo(f"Chưa gửi được e-mail xác nhận ({exc}); `kb alerts run` sẽ thử lại.", err=True)
            return
        if report.confirmations:
            click.echo(f"Đã gửi e-mail xác nhận tới {sub.email}.")
        elif not report.errors:
            hours = ctx.config.get("alerts", "confirm_resend_hours")
            click.echo(
                f"Địa chỉ {sub.email} vừa nhận thư xác nhận chưa đầy {hours} giờ trước: mục này sẽ có trong "
                "thư xác nhận tiếp theo (`kb alerts run` gửi sau khoảng thời gian đó)."
            )
        for error in report.errors:
            click.echo(f"Chưa gửi được e-mail xác nhận ({error}); `kb alerts run` sẽ thử lại.", err=True)


@alerts.command("list")
@click.option("--email", metavar="ADDRESS", help="Chỉ các mục theo dõi của địa chỉ này.")
@click.option("--all", "include_ended", is_flag=True, help="Kể cả các mục đã hủy.")
@click.option("--json", "as_json", is_flag=True, help="In ra dạng JSON.")
@pass_context
def list_(ctx: Context, email: str | None, include_ended: bool, as_json: bool) -> None:
    """Liệt kê các mục theo dõi: số, địa chỉ, nội dung theo dõi, tần suất, trạng thái, thư gần nhất."""
    items = subs.list_subscriptions(ctx.store, email, include_ended=include_ended)
    if as_json:
        click.echo(json.dumps([s.to_dict() for s in items], ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo("Chưa có mục theo dõi nào." if not email else f"{email} chưa có mục theo dõi nào.")
        return
    for s in items:
        last = s.last_sent_at[:16].replace("T", " ") if s.last_sent_at else "chưa gửi"
        frequency = subs.FREQUENCY_LABELS.get(s.frequency, s.frequency)
        click.echo(f"#{s.id:<4} {s.email:<32} {frequency:<20} {s.status_label:<14} thư gần nhất: {last}")
        click.echo(f"      {s.describe()}" + (f" — {s.label}" if s.label else ""))
        if s.error:
            click.echo(f"      trục trặc: {s.error}")


@alerts.command("remove")
@click.argument("ids", nargs=-1, required=True, type=int)
@pass_context
def remove(ctx: Context, ids: tuple[int, ...]) -> None:
    """Kết thúc các mục theo dõi theo số (vẫn được giữ lại, ở trạng thái đã hủy, để đối chiếu)."""
    failed = False
    for sub_id in ids:
        try:
            sub = subs.remove(ctx.store, sub_id, by="admin")
        except SubscriptionError as exc:
            click.echo(f"Lỗi: {exc}", err=True)
            failed = True
            continue
        click.echo(f"Đã kết thúc số {sub.id} {sub.email} – {sub.describe()}")
    if failed:
        sys.exit(1)


@alerts.command("run")
@click.option("--dry-run", is_flag=True, help="Hiện các thư sẽ gửi; không gửi và không ghi lại gì.")
@pass_context
def run(ctx: Context, dry_run: bool) -> None:
    """Gửi e-mail xác nhận và các thông báo đến hạn (đặt lịch chạy vài phút một lần).

    Đối chiếu các thay đổi từ lần gửi trước của mỗi mục theo dõi, gửi một thư cho mỗi địa chỉ và ghi lại.
    Chạy lại lúc nào cũng được: không thư nào gửi hai lần."""
    sync.update_index(ctx)
    _warn_site_url(ctx)
    matcher = SearchMatcher(ctx.config.index_dir)
    try:
        report = delivery.run_alerts(ctx.store, ctx.config, matcher, dry_run=dry_run)
    finally:
        matcher.close()
    with instance_lock(ctx.config, "alerts", "kb alerts run"), Mailer(ctx.config) as mailer:
        reviewed = deliver_review(ctx.store, ctx.config, mailer, dry_run=dry_run)  # kb/alerts/review.py
    for msg in reviewed.messages:
        click.echo(f"--- To: {msg['To']}\n--- Subject: {msg['Subject']}\n")
        click.echo(msg.get_body(("plain",)).get_content())
    report.errors += reviewed.errors
    if dry_run:
        for sent in report.confirmations + report.messages:
            click.echo(f"--- Gửi tới: {sent.email}\n--- Tiêu đề: {sent.subject}\n")
            click.echo(sent.message.get_body(("plain",)).get_content())
    prefix = "Sẽ gửi" if dry_run else "Đã gửi"
    click.echo(
        f"{prefix} {len(report.confirmations)} e-mail xác nhận và {len(report.messages)} thư thông báo "
        f"({sum(m.hits for m in report.messages)} văn bản); đã xét {report.checked} mục theo dõi"
        + (f"; {report.lapsed} mục không được xác nhận đã hết hạn" if report.lapsed else "")
        + "."
        + (f" Đã gửi {len(reviewed.sent)} thư “văn bản của tỉnh cần rà soát”." if reviewed.sent else "")
    )
    for error in report.errors:
        click.echo(f"Lỗi: {error}", err=True)
    if report.errors:
        sys.exit(1)
