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
from kbcli._context import Context, pass_context


def _today() -> str:
    return review_date(None)


def entries_on(ctx: Context, settings: Settings, on: str):
    """The entries on `on`: the derived list for today, computed for another date."""
    store = ctx.documents()
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


@click.group("review", invoke_without_command=True)
@click.option(
    "--on",
    "on",
    metavar="DATE",
    help="Xét hiệu lực các căn cứ vào ngày này (dd/mm/yyyy hoặc yyyy-mm-dd); mặc định: hôm nay.",
)
@click.option("--ban", metavar="NAME", help=f"Chỉ văn bản thuộc Ban này của HĐND (hoặc “{UNASSIGNED}”).")
@click.option(
    "--issuer", type=click.Choice(ISSUER_KINDS, case_sensitive=False), help="Chỉ văn bản của HĐND hoặc của UBND."
)
@click.option(
    "--field", "field_", metavar="TEXT", help="Chỉ văn bản thuộc lĩnh vực này (một phần tên, không phân biệt dấu)."
)
@click.option("--year", type=click.IntRange(1945, 2100), help="Chỉ văn bản ban hành trong năm này.")
@click.option("--cause", type=click.Choice(CAUSES), help="Chỉ văn bản có nguyên nhân này.")
@click.option(
    "--sort",
    type=click.Choice(SORTS),
    default="moi",
    show_default=True,
    help="moi/cu: theo ngày căn cứ thay đổi (mới/cũ trước); ban-hanh: theo ngày ban hành.",
)
@click.option("--reviewed", is_flag=True, help="Cả văn bản đã rà soát mà căn cứ chưa có thay đổi mới.")
@click.option("--ended", is_flag=True, help="Cả văn bản của tỉnh đã hết hiệu lực.")
@click.option("--json", "as_json", is_flag=True, help="In ra dạng JSON.")
@click.option(
    "--csv",
    "csv_file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Ghi phụ lục ra tệp CSV (Excel); - là đầu ra chuẩn.",
)
@click.option("--docx", "docx_file", type=click.Path(dir_okay=False), help="Ghi phụ lục ra tệp DOCX (Word).")
@pass_context
@click.pass_context
def review(
    click_ctx, ctx: Context, on, ban, issuer, field_, year, cause, sort, reviewed, ended, as_json, csv_file, docx_file
):
    """Rà soát: văn bản của tỉnh còn hiệu lực có căn cứ ban hành đã thay đổi, theo nguyên nhân.

    Lệnh con: rebuild (tính lại toàn bộ danh sách), mark (ghi nhận kết quả rà soát), history (lịch sử rà soát)."""
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
    entries = select(entries_on(ctx, settings, day), f, settings, latest_marks(ctx.documents()))
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
    """Tính lại toàn bộ danh sách rà soát từ cơ sở dữ liệu (các lệnh nhập, cập nhật văn bản tự cập nhật danh sách)."""
    store = ctx.documents()
    with click.progressbar(length=store.count(), label="Tính lại danh sách rà soát", file=sys.stderr) as bar:

        def progress(_label, done, total):
            bar.update(done - bar.pos)

        derived.rebuild(store, [DERIVATION], progress=progress)
    settings = Settings.from_config(ctx.config)
    entries = select(stored_entries(store), Filters(), settings, latest_marks(store))
    click.echo(f"Danh sách rà soát đã tính lại: {len(entries)} văn bản của tỉnh {settings.province} cần rà soát.")


@review.command("mark")
@click.argument("uid")
@click.option(
    "--verdict",
    type=click.Choice(VERDICTS),
    required=True,
    help="con_phu_hop: đã rà soát — còn phù hợp; de_xuat_sua_doi: đã đề xuất sửa đổi.",
)
@click.option("--by", "reviewer", required=True, metavar="NAME", help="Họ tên người rà soát.")
@click.option("--note", default="", help="Ghi chú kèm theo kết quả.")
@click.option("--date", "day", metavar="DATE", help="Ngày rà soát (mặc định: hôm nay).")
@pass_context
def mark(ctx: Context, uid: str, verdict: str, reviewer: str, note: str, day: str | None) -> None:
    """Ghi nhận văn bản đã rà soát: văn bản rời danh sách cho đến khi căn cứ có thay đổi mới."""
    store = ctx.documents()
    entry = stored_entry(store, store.resolve_uid(uid) or uid)
    if entry is None or not entry.listed:
        raise ReviewError(f"Văn bản {uid} không có trong danh sách rà soát.")
    m = mark_reviewed(store, entry, verdict, reviewer, note, day)
    click.echo(f"{entry.number or entry.uid}: {m.verdict_label} ({vn_date(m.reviewed_on)}, {m.reviewer}).")


@review.command("history")
@click.argument("uid")
@pass_context
def history(ctx: Context, uid: str) -> None:
    """Lịch sử rà soát của một văn bản, cũ nhất trước."""
    store = ctx.documents()
    found = marks(store, store.resolve_uid(uid) or uid)
    if not found:
        click.echo("Chưa có lần rà soát nào được ghi nhận.")
    for m in found:
        click.echo(
            f"{vn_date(m.reviewed_on)}  {VERDICT_LABELS.get(m.verdict, m.verdict)}  {m.reviewer}"
            + (f" — {m.note}" if m.note else "")
        )
