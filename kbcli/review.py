"""`kb review`: the province's documents whose legal basis changed (rà soát, docs/REVIEW.md) — the list,
its exports, marks, history, and the full recomputation of the derived list."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import click

from kb.dates import vn_date
from kb.legal import derived
from kb.legal.review import (
    CAUSES,
    DERIVATION,
    ISSUER_KINDS,
    REPLACED,
    SORTS,
    SUGGESTION_LABELS,
    UNASSIGNED,
    VERDICT_LABELS,
    VERDICTS,
    Filters,
    ReviewBuilder,
    ReviewError,
    Settings,
    grouped,
    latest_marks,
    mark_reviewed,
    marks,
    review_date,
    select,
    stored_entries,
    stored_entry,
)
from kb.legal.review_export import annex_csv, annex_docx
from kbcli.main import Context, cli, pass_context


def _today() -> str:
    return review_date(None)


def entries_on(ctx: Context, settings: Settings, on: str):
    """The entries on `on`: the derived list for today, computed for another date."""
    store = ctx.store
    if on == _today():
        state = derived.state(store, DERIVATION)
        if not state.computed:
            raise click.ClickException(
                "Danh sách rà soát chưa được tính: chạy `kb review rebuild` (hoặc `kb import`, `kb refresh`)."
            )
        if not state.current:
            click.echo(
                "Lưu ý: danh sách rà soát chưa cập nhật các thay đổi mới nhất; chạy `kb review rebuild`.", err=True
            )
        return stored_entries(store)
    # another date: computed now from the store (slower; the derived list holds today's)
    return ReviewBuilder(store, settings.places).build(on)


@cli.group("review", invoke_without_command=True)
@click.option(
    "--on", "on", metavar="DATE", help="Validity of the bases on this date (dd/mm/yyyy or yyyy-mm-dd); default today."
)
@click.option("--ban", metavar="NAME", help=f"Only the documents of this Ban of the HĐND (or “{UNASSIGNED}”).")
@click.option("--issuer", type=click.Choice(ISSUER_KINDS, case_sensitive=False), help="Only HĐND or UBND documents.")
@click.option(
    "--field", "field_", metavar="TEXT", help="Only documents of this lĩnh vực (accent-insensitive substring)."
)
@click.option("--year", type=click.IntRange(1945, 2100), help="Only documents issued in this year.")
@click.option("--cause", type=click.Choice(CAUSES), help="Only entries with this cause.")
@click.option(
    "--sort",
    type=click.Choice(SORTS),
    default="moi",
    show_default=True,
    help="moi/cu: by date of the change; ban-hanh: by issue date.",
)
@click.option("--reviewed", is_flag=True, help="Also the entries marked reviewed whose bases did not change since.")
@click.option("--ended", is_flag=True, help="Also documents of the province that are no longer in force.")
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option(
    "--csv", "csv_file", type=click.Path(dir_okay=False, allow_dash=True), help="Write the annex as CSV (Excel)."
)
@click.option("--docx", "docx_file", type=click.Path(dir_okay=False), help="Write the annex as DOCX (Word).")
@pass_context
@click.pass_context
def review(
    click_ctx, ctx: Context, on, ban, issuer, field_, year, cause, sort, reviewed, ended, as_json, csv_file, docx_file
):
    """The province's documents in force whose legal basis (Căn cứ) changed, grouped by cause (rà soát).

    Subcommands: `rebuild` (recompute the whole list), `mark` (record a review), `history` (marks of a document)."""
    if click_ctx.invoked_subcommand:
        return
    settings = Settings.from_config(ctx.config)
    day = review_date(on)
    if ban and ban != UNASSIGNED and ban not in settings.bans:
        raise click.ClickException(f"Không có Ban “{ban}”; các Ban: {', '.join(settings.bans)}, {UNASSIGNED}.")
    issuer_kind = next((k for k in ISSUER_KINDS if issuer and k.lower() == issuer.lower()), None)
    f = Filters(
        issuer=issuer_kind, linhvuc=field_ or "", year=year, ban=ban or "", cause=cause, sort=sort, reviewed=reviewed
    )
    entries = select(entries_on(ctx, settings, day), f, settings, latest_marks(ctx.store))
    if csv_file:
        data = annex_csv(entries)
        if csv_file == "-":
            click.echo(data, nl=False)
        else:
            Path(csv_file).write_text(data, encoding="utf-8", newline="")
            click.echo(f"{len(entries)} văn bản → {csv_file}", err=True)
    if docx_file:
        Path(docx_file).write_bytes(annex_docx(entries, settings.province, day, ban or ""))
        click.echo(f"{len(entries)} văn bản → {docx_file}", err=True)
    if csv_file or docx_file:
        return
    if as_json:
        out = {
            "on": day,
            "province": settings.province,
            "count": len(entries),
            "entries": [e.to_dict() | {"bans": settings.bans_of(e)} for e in entries],
        }
        click.echo(json.dumps(out, ensure_ascii=False, indent=2))
        return
    click.echo(f"VĂN BẢN CỦA TỈNH {settings.province.upper()} CẦN RÀ SOÁT — hiệu lực căn cứ ngày {vn_date(day)}")
    if ban:
        click.echo(ban)
    changed = sum(1 for e in entries if e.changes)
    click.echo(f"{len(entries)} văn bản: {changed} có căn cứ đã thay đổi, {len(entries) - changed} chỉ cần xác minh.")
    for _cause, label, items in grouped(entries):
        click.echo("")
        click.echo(f"== {label} ({len(items)}) ==")
        for i, e in enumerate(items, 1):
            click.echo(f"{i}. {e.label} (ban hành {vn_date(e.issued)})")
            for r in e.reasons:
                text = f"{', '.join(r.articles) + ' ' if r.articles else ''}{r.basis}: {r.detail}"
                if r.cause == REPLACED and r.current:
                    text += f" Văn bản đang có hiệu lực: {r.current[-1].label}."
                click.echo(textwrap.fill(text, width=110, initial_indent="   - ", subsequent_indent="     "))
            click.echo(f"   Kiến nghị: {SUGGESTION_LABELS[e.suggestion].lower()}")
            click.echo(f"   Mã văn bản: {e.uid}")


@review.command("rebuild")
@pass_context
def rebuild(ctx: Context) -> None:
    """Recompute the whole review list from the store (the writing commands keep it up to date otherwise)."""
    with click.progressbar(length=ctx.store.count(), label="Tính lại danh sách rà soát", file=sys.stderr) as bar:

        def progress(_label, done, total):
            bar.update(done - bar.pos)

        derived.rebuild(ctx.store, [DERIVATION], progress=progress)
    settings = Settings.from_config(ctx.config)
    entries = select(stored_entries(ctx.store), Filters(), settings, latest_marks(ctx.store))
    click.echo(f"Danh sách rà soát đã tính lại: {len(entries)} văn bản của tỉnh {settings.province} cần rà soát.")


@review.command("mark")
@click.argument("uid")
@click.option(
    "--verdict",
    type=click.Choice(VERDICTS),
    required=True,
    help="con_phu_hop: còn phù hợp; de_xuat_sua_doi: đã đề xuất sửa đổi.",
)
@click.option("--by", "reviewer", required=True, metavar="NAME", help="Who reviewed it.")
@click.option("--note", default="", help="A note kept with the mark.")
@click.option("--date", "day", metavar="DATE", help="Date of the review (default today).")
@pass_context
def mark(ctx: Context, uid: str, verdict: str, reviewer: str, note: str, day: str | None) -> None:
    """Mark a document reviewed: it leaves the list until a new change of its bases."""
    entry = stored_entry(ctx.store, ctx.store.resolve_uid(uid) or uid)
    if entry is None or not entry.listed:
        raise ReviewError(f"Văn bản {uid} không có trong danh sách rà soát.")
    m = mark_reviewed(ctx.store, entry, verdict, reviewer, note, day)
    click.echo(f"{entry.number or entry.uid}: {m.verdict_label} ({vn_date(m.reviewed_on)}, {m.reviewer}).")


@review.command("history")
@click.argument("uid")
@pass_context
def history(ctx: Context, uid: str) -> None:
    """The review marks of a document, oldest first."""
    found = marks(ctx.store, ctx.store.resolve_uid(uid) or uid)
    if not found:
        click.echo("Chưa có lần rà soát nào được ghi nhận.")
    for m in found:
        click.echo(
            f"{vn_date(m.reviewed_on)}  {VERDICT_LABELS.get(m.verdict, m.verdict)}  {m.reviewer}"
            + (f" — {m.note}" if m.note else "")
        )
