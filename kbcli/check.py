"""Commands of the legal-basis checker and the delegation tracker: `kb check`, `kb delegations`."""

from __future__ import annotations

import json
import sys
import textwrap

import click

from kb.dates import vn_date
from kb.legal import derived
from kb.legal.checker import SEVERITY_LABELS, Checker, planned_date
from kb.legal.delegation import ANSWERED, DERIVATION, OPEN, STATUS_LABELS, stored_delegations
from kb.legal.report_table import report_table
from kb.readers import MAX_BYTES, Limits, read_document, read_path
from kb.tables import to_tsv
from kb.text import thousands as n
from kbcli import _sync as sync
from kbcli._context import Context, pass_context


@click.command()
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
@click.option(
    "--on",
    "on",
    metavar="DATE",
    help="Ngày dự kiến dự thảo có hiệu lực (dd/mm/yyyy hoặc yyyy-mm-dd); mặc định hôm nay.",
)
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "tsv", "markdown"]),
    default="table",
    show_default=True,
    help="table: để đọc; tsv: dán vào Word hoặc Excel; markdown: dán vào văn bản Markdown.",
)
@pass_context
def check(ctx: Context, file: str, on: str | None, as_json: bool, fmt: str) -> None:
    """Kiểm tra căn cứ pháp lý của một dự thảo (DOCX, PDF, HTML hoặc văn bản; '-' đọc đầu vào chuẩn).

    Với mỗi trích dẫn: văn bản được viện dẫn trong cơ sở dữ liệu, tình trạng hiệu lực vào ngày dự kiến có
    hiệu lực, các văn bản sửa đổi mà dự thảo chưa viện dẫn, và ngày, số không khớp.
    Mã thoát: 0 khi không có phát hiện [Lỗi], 3 khi báo cáo có phát hiện đó, 1 khi người dùng nhập sai."""
    planned = planned_date(on)  # a bad date is a one-line error before anything is read
    if file == "-":
        data = sys.stdin.buffer.read(MAX_BYTES + 1)
        text = read_document(data, "stdin", limits=Limits.from_config(ctx.config))
        source = None
    else:
        text = read_path(file, limits=Limits.from_config(ctx.config))
        source = file
    report = Checker(ctx.documents(), ctx.config.get("province", "name")).check(text, planned, source=source)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(report, fmt, source)
    if report.counts()["error"]:
        raise click.exceptions.Exit(EXIT_FINDING_ERROR)


EXIT_FINDING_ERROR = 3  # the report holds an [Lỗi] finding (1 stays "user error"); for scripts that gate on it


def _print_report(report, fmt: str, source: str | None) -> None:
    headers, rows = report_table(report)
    counts = report.counts()
    if fmt == "table":
        click.echo("KẾT QUẢ KIỂM TRA CĂN CỨ PHÁP LÝ" + (f" — {source}" if source else ""))
        click.echo(f"Ngày dự kiến có hiệu lực: {vn_date(report.on)}")
        click.echo(
            f"Số văn bản được viện dẫn: {n(counts['citations'])} (xác định được {n(counts['resolved'])}); "
            f"{counts['error']} lỗi, {counts['warning']} cảnh báo, {counts['info']} lưu ý."
        )
        click.echo("")
    if not rows:
        click.echo("Không tìm thấy trích dẫn văn bản nào trong nội dung." if fmt == "table" else "")
        return
    click.echo(_render(headers, rows, fmt))


@click.command()
@click.option(
    "--status",
    type=click.Choice([OPEN, ANSWERED, "all"]),
    default="all",
    show_default=True,
    help="open: chưa có nghị quyết của tỉnh viện dẫn; answered: đã có.",
)
@click.option("--field", "field_", metavar="TEXT", help="Only parents in this field (lĩnh vực), accent-insensitive.")
@click.option("--since", metavar="DATE", help="Chỉ văn bản giao có hiệu lực (hoặc ban hành) từ ngày này.")
@click.option("--province", metavar="NAME", help="Tỉnh có nghị quyết thực hiện (mặc định: province.name).")
@click.option("--limit", type=click.IntRange(min=1), help="In tối đa chừng này nội dung.")
@click.option("--json", "as_json", is_flag=True, help="In ra dạng JSON.")
@click.option("--format", "fmt", type=click.Choice(["table", "tsv", "markdown"]), default="table", show_default=True)
@pass_context
def delegations(
    ctx: Context,
    status: str,
    field_: str | None,
    since: str | None,
    province: str | None,
    limit: int | None,
    as_json: bool,
    fmt: str,
) -> None:
    """Nội dung văn bản trung ương giao HĐND tỉnh quy định, quyết định (mới nhất trước), và nghị quyết của
    tỉnh đã viện dẫn làm căn cứ (nếu có). Đọc từ dữ liệu dẫn xuất: trả lời trong chưa đến một giây."""
    province = province or ctx.config.get("province", "name")
    since_iso = planned_date(since) if since else None
    if not derived.state(ctx.documents(), DERIVATION).current:
        sync.update_derived(ctx)  # a store written by an older version, or by a command killed before it
    items = stored_delegations(
        ctx.store, province, status=None if status == "all" else status, field=field_, since=since_iso
    )
    shown = items[:limit] if limit else items
    if as_json:
        click.echo(
            json.dumps(
                {"province": province, "count": len(items), "items": [d.to_dict() for d in shown]},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    open_count = sum(1 for d in items if d.status == OPEN)
    if fmt == "table":
        click.echo(f"NỘI DUNG GIAO HĐND TỈNH QUY ĐỊNH — tỉnh {province}")
        click.echo(
            f"{n(len(items))} nội dung; {n(open_count)} chưa ban hành, {n(len(items) - open_count)} đã ban hành."
        )
        click.echo("")
    if not shown:
        if fmt == "table":
            click.echo("Không có nội dung nào.")
        return
    headers = list(DELEGATION_COLUMNS)
    rows = []
    for i, d in enumerate(shown, 1):
        answers = "; ".join(f"{a.number or a.title} ({vn_date(a.issued)})" for a in d.answers)
        if not answers and d.related:
            answers = "Có thể liên quan: " + "; ".join(a.number or a.title for a in d.related)
        cells = (str(i), d.parent_label, d.provision, vn_date(d.parent_effective), d.excerpt)
        rows.append([*cells, STATUS_LABELS[d.status], answers])
    click.echo(_render(headers, rows, fmt))


@click.group("derived")
def derived_group() -> None:
    """Dữ liệu dẫn xuất (nội dung giao HĐND quy định, …): tính khi văn bản thay đổi, lưu trong cơ sở dữ liệu."""


@derived_group.command("status")
@pass_context
def derived_status(ctx: Context) -> None:
    """Cho biết mỗi loại dữ liệu dẫn xuất đã được tính đến sự kiện thay đổi nào."""
    for st in derived.states(ctx.documents()):
        if st.rebuilding:
            where = "đang tính lại toàn bộ (chưa xong; lệnh ghi tiếp theo sẽ tính tiếp)"
        elif st.version is None:
            where = "chưa tính (chạy `kb derived rebuild`)"
        elif st.current:
            where = "đã cập nhật"
        else:
            where = f"chậm {st.last_event_id - st.event_id} sự kiện (chạy `kb derived update`)"
        click.echo(f"{st.label}: {where}; {n(st.rows)} dòng; đến sự kiện {st.event_id}/{st.last_event_id}.")


@derived_group.command("update")
@pass_context
def derived_update(ctx: Context) -> None:
    """Tính phần dữ liệu dẫn xuất còn thiếu theo các thay đổi mới của văn bản."""
    ctx.documents()
    for result in sync.update_derived(ctx):
        click.echo(f"{derived.state(ctx.store, result.name).label}: đã xét {n(result.documents)} văn bản.")


@derived_group.command("rebuild")
@pass_context
def derived_rebuild(ctx: Context) -> None:
    """Tính lại toàn bộ dữ liệu dẫn xuất từ mọi văn bản đã lưu."""
    ctx.documents()
    sync.update_derived(ctx, full=True)
    for st in derived.states(ctx.store):
        click.echo(f"{st.label}: đã tính lại, {n(st.rows)} dòng.")


# --- rendering -------------------------------------------------------------------------------

_WIDTHS = {"STT": 4, "Vị trí": 10, "Điều, khoản": 12, "Có hiệu lực từ": 14, "Tình trạng": 12}


DELEGATION_COLUMNS = (
    "STT",
    "Văn bản giao",
    "Điều, khoản",
    "Có hiệu lực từ",
    "Nội dung giao",
    "Tình trạng",
    "Nghị quyết của tỉnh",
)


def _render(headers: list[str], rows: list[list[str]], fmt: str) -> str:
    """The table for the terminal: TSV (kb.tables, as the web's downloads), Markdown, or text columns."""
    if fmt == "tsv":
        return to_tsv(headers, rows, file=False)
    if fmt == "markdown":

        def cell(value: str) -> str:
            return " ".join(str(value).split()).replace("|", "\\|")

        lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
        lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
        return "\n".join(lines)
    widths = [_WIDTHS.get(h, 26 if h.startswith("Tình trạng") else 28) for h in headers]
    widths[-1] = 40
    out = [" │ ".join(h.ljust(w)[:w] if len(h) <= w else h[:w] for h, w in zip(headers, widths))]
    out.append("─┼─".join("─" * w for w in widths))
    for row in rows:
        cells = [textwrap.wrap(" ".join(str(value).split()), w) or [""] for value, w in zip(row, widths)]
        for k in range(max(len(c) for c in cells)):
            out.append(" │ ".join((c[k] if k < len(c) else "").ljust(w) for c, w in zip(cells, widths)))
        out.append("─┼─".join("─" * w for w in widths))
    return "\n".join(out)


__all__ = ["check", "delegations", "derived_group", "SEVERITY_LABELS"]
