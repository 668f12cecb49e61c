"""Commands that move data in and out of the store: import, export, stats."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from kb import jsonl
from kb.dates import VN_TZ
from kb.legal.amendments import parse_amendment_note
from kb.legal.transitions import remembered_statuses
from kb.text import thousands as number
from kbcli import _sync as sync
from kbcli._context import Context, pass_context
from kbcli._progress import Phases


@click.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--no-index", is_flag=True, help="Chỉ lưu văn bản; để chỉ mục tìm kiếm cho lệnh `kb index update` sau.")
@click.option(
    "--allow-rejects",
    is_flag=True,
    help="Dòng bị từ chối chỉ là cảnh báo: vẫn báo từng dòng nhưng thoát với mã 0 "
    "(để chuỗi lệnh `kb import … && kb serve` chạy tiếp).",
)
@pass_context
def import_(ctx: Context, paths: tuple[str, ...], no_index: bool, allow_rejects: bool) -> None:
    """Nhập văn bản từ tệp JSON Lines (.jsonl hoặc .jsonl.gz).

    Nhận tệp do `kb export` ghi và tệp theo từng điều như ../shared/corpus/*.jsonl.gz; nhiều tệp cùng
    một số ký hiệu hợp thành một văn bản. Dòng hỏng được báo kèm tệp, dòng, cột và lý do rồi bỏ qua; mọi dòng
    khác vẫn được nhập. Thoát với mã 1 nếu có dòng bị từ chối, trừ khi có --allow-rejects."""
    failed = False
    for path in paths:
        if not Path(path).is_file():
            raise click.ClickException(f"không có tệp {path}")
    ctx.creating()
    for path in paths:
        name = Path(path).name
        labels = {"reading": f"Đọc {name}", "storing": f"Lưu văn bản của {name}"}
        with Phases(labels) as bar:
            report = jsonl.import_file(
                ctx.store, path, progress=bar.update, phase=bar.phase, note_parser=parse_amendment_note
            )
        click.echo(
            f"{path}: thêm {number(report.added)}, thay đổi {number(report.changed)}, "
            f"không đổi {number(report.unchanged)} văn bản ({number(report.articles)} điều)"
        )
        if report.rejected:
            failed = True
            for line, reason in report.rejected[:20]:
                click.echo(f"{path}, dòng {line}: bị từ chối: {reason}", err=True)
            if len(report.rejected) > 20:
                click.echo(f"… và {number(len(report.rejected) - 20)} dòng bị từ chối khác", err=True)
            click.echo(
                f"{path}: {number(len(report.rejected))} dòng bị từ chối; các dòng khác đã được nhập.",
                err=True,
            )
    if no_index:
        sync.update_derived(ctx)
    else:
        sync.update_index(ctx)
    if failed and not allow_rejects:
        sys.exit(1)


@click.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    help="Tệp ghi ra (.jsonl hoặc .jsonl.gz); mặc định là đầu ra chuẩn.",
)
@pass_context
def export(ctx: Context, output: str) -> None:
    """Ghi mọi văn bản ra JSON Lines theo lược đồ đã mô tả (docs/SCHEMA.md)."""
    store = ctx.documents()
    if output == "-":
        count = jsonl.export(store, sys.stdout)
    else:
        tmp = Path(output + ".part")  # written aside, renamed when complete: no half-written export
        with jsonl.open_export(tmp, compress=output.endswith(".gz")) as out:
            with click.progressbar(length=store.count(), label="Xuất văn bản", file=sys.stderr) as bar:
                count = jsonl.export(store, out, progress=bar.update)
        tmp.replace(output)
    click.echo(f"Đã xuất {number(count)} văn bản.", err=True)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="In ra dạng JSON.")
@pass_context
def stats(ctx: Context, as_json: bool) -> None:
    """Số văn bản, số điều, theo loại, theo tình trạng hiệu lực, các thay đổi đã ghi và chỉ mục tìm kiếm."""
    store = ctx.documents()
    # the status as kb.legal.validity derives it (remembered at the last derivation: after every write and
    # daily), not the label a source printed; documents never derived yet keep their stored label
    data = store.stats(remembered_statuses(store))
    data["index"] = sync.index_stats(ctx)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"Văn bản: {number(data['documents'])}")
    click.echo(f"Điều:    {number(data['articles'])}")
    click.echo(f"Thay đổi đã ghi: {number(data['events'])} sự kiện, {number(data['versions'])} phiên bản trước")
    if data["by_type"]:
        click.echo("Theo loại văn bản:")
        for name, count in sorted(data["by_type"].items(), key=lambda kv: -kv[1]):
            click.echo(f"  {name:<24} {number(count):>7}")
    if data["by_status"]:
        click.echo("Theo tình trạng hiệu lực:")
        for name, count in sorted(data["by_status"].items(), key=lambda kv: -kv[1]):
            click.echo(f"  {name:<24} {number(count):>7}")
    click.echo(index_line(data["index"], data["events"] and ctx.store.last_event_id()))


def index_line(index: dict, last_event: int) -> str:
    """The index in one sentence: built or not, records, size, how far behind the store."""
    if not index or not index.get("built"):
        return "Chỉ mục tìm kiếm: chưa có (tạo bằng `kb index rebuild`)."
    size = f"{index['size_mb']:.1f}".replace(".", ",")
    behind = last_event - (index.get("event_id") or 0)
    state = "theo kịp cơ sở dữ liệu" if behind <= 0 else f"chậm {number(behind)} sự kiện (chạy `kb index update`)"
    built = vn_datetime(index.get("built_at"))
    return (
        f"Chỉ mục tìm kiếm: {number(index['records'])} bản ghi, {size} MB, lược đồ {index.get('schema')}, "
        f"{state}" + (f"; tạo lúc {built}" if built else "") + "."
    )


def vn_datetime(iso: str | None) -> str:
    """'2026-12-06T22:01:32+00:00' -> '06/12/2026 22:01' (as stored; empty when unknown)."""
    if not iso:
        return ""
    try:
        moment = dt.datetime.fromisoformat(iso)
    except ValueError:
        return iso
    if moment.tzinfo is not None:
        moment = moment.astimezone(VN_TZ)
    return moment.strftime("%d/%m/%Y %H:%M")
