"""`kb alerts`: subscriptions managed by administrators, and the run that sends the alerts."""

from __future__ import annotations

import json
import sys

import click

from index.matching import SearchMatcher, read_query
from kb import config as kbconfig
from kb.alerts import delivery
from kb.alerts import subscriptions as subs
from kb.alerts.delivery import send_confirmations
from kb.alerts.mail import Mailer, MailError
from kb.alerts.review import deliver_review, subscribe_review
from kb.alerts.subscriptions import FACET_PARAMS, FREQUENCIES, SubscriptionError
from kb.locks import instance_lock
from kbcli import sync
from kbcli.main import Context, cli, pass_context

PARAM_FACETS = {param: facet for facet, param in FACET_PARAMS.items()}


@cli.group()
def alerts() -> None:
    """E-mail alerts: saved searches and followed documents (docs/ALERTS.md)."""


def _warn_site_url(ctx: Context) -> None:
    if ctx.config.get("site", "url") == kbconfig.DEFAULTS["site"]["url"]:
        click.echo(
            f"Note: site.url is the default {ctx.config.get('site', 'url')}; the links in e-mails point "
            "there. Set [site] url in config.toml or KB_SITE_URL.",
            err=True,
        )


@alerts.command("add")
@click.argument("email")
@click.option("--query", "-q", metavar="QUERY", help="Alert on this search (the query language of `kb search`).")
@click.option(
    "--filter",
    "-f",
    "filters",
    multiple=True,
    metavar="PARAM=VALUE",
    help="A facet of the search, as in its URL: loai, coquan, hieuluc, nam, linhvuc, phamvi (repeatable).",
)
@click.option("--url", metavar="URL", help="Alert on a search copied from the browser (its q and facet parameters).")
@click.option("--document", "-d", "uid", metavar="UID", help="Follow one document (its uid, e.g. vbpl:187649).")
@click.option("--digest", is_flag=True, help="Receive the weekly “Văn bản mới” digest (sent by `kb digest`).")
@click.option("--review", is_flag=True, help="Theo dõi văn bản của tỉnh cần rà soát (docs/REVIEW.md).")
@click.option("--ban", metavar="NAME", help="Cùng --review: chỉ văn bản thuộc Ban này của HĐND.")
@click.option("--label", "-l", default="", help="Why this is followed (shown in the e-mails).")
@click.option(
    "--every",
    type=click.Choice(FREQUENCIES),
    default=None,
    help=f"How often: immediate (next run), daily, weekly. Default {subs.DEFAULT_FREQUENCY}.",
)
@click.option(
    "--confirmed",
    is_flag=True,
    help="The address is known to be right (e.g. a Ban's shared mailbox): no confirmation e-mail.",
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
    """Subscribe EMAIL to a search, a document or the weekly digest.

    Without --confirmed the address gets one confirmation e-mail, and nothing else until the link in
    it is opened."""
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
        raise click.UsageError("give one of --query (or --url, --filter), --document, --digest or --review")
    if ban and not review:
        raise click.UsageError("--ban goes with --review")
    store, config = ctx.store, ctx.config
    if review:
        result = subscribe_review(store, config, email, ban=ban, frequency=every, label=label, confirmed=confirmed)
    elif uid:
        result = subs.follow_document(store, config, email, uid, label=label, frequency=every, confirmed=confirmed)
    elif digest:
        if every not in (None, "weekly"):
            raise click.UsageError("the digest is weekly")
        result = subs.subscribe_digest(store, config, email, label=label, confirmed=confirmed)
    else:
        q, facet_filters = subs.search_from_url(url) if url else ("", {})
        if query is not None:
            q = f"{q} {query}".strip()
        for item in filters:
            param, sep, value = item.partition("=")
            if not sep or param.strip() not in PARAM_FACETS or not value.strip():
                raise click.UsageError(
                    f"--filter {item!r}: write PARAM=VALUE with PARAM one of {', '.join(PARAM_FACETS)}"
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
    verb = "Subscribed" if result.created else "Already subscribed"
    click.echo(f"{verb}: #{sub.id} {sub.email} – {sub.describe()} ({sub.frequency}, {sub.status_label})")
    if sub.status == subs.PENDING and not sub.confirm_sent_at:
        _warn_site_url(ctx)
        try:
            with Mailer(config) as mailer:
                report = send_confirmations(store, config, mailer, email=sub.email)
        except MailError as exc:
            click.echo(f"The confirmation e-mail was not sent ({exc}); `kb alerts run` will try again.", err=True)
            return
        if report.confirmations:
            click.echo(f"Confirmation e-mail sent to {sub.email}.")
        for error in report.errors:
            click.echo(f"The confirmation e-mail was not sent ({error}); `kb alerts run` will try again.", err=True)


@alerts.command("list")
@click.option("--email", metavar="ADDRESS", help="Only the subscriptions of this address.")
@click.option("--all", "include_ended", is_flag=True, help="Include ended subscriptions.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def list_(ctx: Context, email: str | None, include_ended: bool, as_json: bool) -> None:
    """List subscriptions: id, address, what is followed, frequency, state, last message."""
    items = subs.list_subscriptions(ctx.store, email, include_ended=include_ended)
    if as_json:
        click.echo(json.dumps([s.to_dict() for s in items], ensure_ascii=False, indent=2))
        return
    if not items:
        click.echo("No subscriptions." if not email else f"No subscriptions for {email}.")
        return
    for s in items:
        last = s.last_sent_at[:16].replace("T", " ") if s.last_sent_at else "never"
        click.echo(f"#{s.id:<4} {s.email:<32} {s.frequency:<9} {s.status_label:<14} last sent: {last}")
        click.echo(f"      {s.describe()}" + (f" — {s.label}" if s.label else ""))
        if s.error:
            click.echo(f"      problem: {s.error}")


@alerts.command("remove")
@click.argument("ids", nargs=-1, required=True, type=int)
@pass_context
def remove(ctx: Context, ids: tuple[int, ...]) -> None:
    """End subscriptions by id (they are kept, ended, for the record)."""
    failed = False
    for sub_id in ids:
        try:
            sub = subs.remove(ctx.store, sub_id, by="admin")
        except SubscriptionError as exc:
            click.echo(f"Error: {exc}", err=True)
            failed = True
            continue
        click.echo(f"Ended #{sub.id} {sub.email} – {sub.describe()}")
    if failed:
        sys.exit(1)


@alerts.command("run")
@click.option("--dry-run", is_flag=True, help="Show the messages that would be sent; send and record nothing.")
@pass_context
def run(ctx: Context, dry_run: bool) -> None:
    """Send confirmations and the alerts that are due (schedule every few minutes).

    Matches the change events since each subscription's last delivery, sends one message per address
    and records it. Safe to run again at any time: nothing is sent twice."""
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
            click.echo(f"--- To: {sent.email}\n--- Subject: {sent.subject}\n")
            click.echo(sent.message.get_body(("plain",)).get_content())
    prefix = "Would send" if dry_run else "Sent"
    click.echo(
        f"{prefix} {len(report.confirmations)} confirmation(s) and {len(report.messages)} alert message(s) "
        f"({sum(m.hits for m in report.messages)} documents); {report.checked} subscription(s) checked"
        + (f"; {report.lapsed} unconfirmed subscription(s) lapsed" if report.lapsed else "")
        + "."
        + (f" Đã gửi {len(reviewed.sent)} thư “văn bản của tỉnh cần rà soát”." if reviewed.sent else "")
    )
    for error in report.errors:
        click.echo(f"Error: {error}", err=True)
    if report.errors:
        sys.exit(1)
