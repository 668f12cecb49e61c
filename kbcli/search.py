"""Commands for searching and for the search index: search, index rebuild|update|check|stats."""

from __future__ import annotations

import json
import re
import sys

import click

from index import build
from index.search import FACET_PARAMS, SORTS, UNITS, SearchService
from kbcli import sync
from kbcli.main import Context, cli, pass_context

_TAGS = re.compile(r"</?mark>")


@cli.command()
@click.argument("query", nargs=-1)
@click.option(
    "--unit",
    type=click.Choice(UNITS),
    default="document",
    show_default=True,
    help="Whole documents, or single articles (Điều).",
)
@click.option("--sort", type=click.Choice(SORTS), default="relevance", show_default=True)
@click.option("--limit", "-n", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--page", type=click.IntRange(1), default=1, show_default=True)
@click.option("--loai", multiple=True, help='Loại văn bản, e.g. --loai "Thông tư".')
@click.option("--coquan", multiple=True, help="Cơ quan ban hành (part of the name is enough).")
@click.option("--hieuluc", multiple=True, help='Tình trạng hiệu lực, e.g. "còn hiệu lực".')
@click.option("--nam", multiple=True, help="Năm ban hành.")
@click.option("--linhvuc", multiple=True, help="Lĩnh vực.")
@click.option("--phamvi", multiple=True, help="Trung ương or Địa phương.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_context
def search(
    ctx: Context, query: tuple[str, ...], unit, sort, limit, page, loai, coquan, hieuluc, nam, linhvuc, phamvi, as_json
) -> None:
    """Search the knowledge base.

    QUERY uses the same language as the web search box: words (all must match), "quoted phrases",
    -exclusions, OR, and fields such as loai:"Thông tư" coquan:HĐND nam:2020..2025. A số ký hiệu
    (15/2025/NQ-HĐND, with or without diacritics) finds that document."""
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
    if result.fallback:
        click.echo("Không có kết quả chứa tất cả các từ; dưới đây là kết quả chứa một số từ.")
    click.echo(f"{result.total} kết quả ({result.took_ms:.0f} ms), trang {result.page}/{result.pages}")
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


@cli.group()
def index() -> None:
    """The search index: rebuild, update, check, stats."""


@index.command()
@click.option(
    "--procs",
    type=click.IntRange(1, 8),
    default=None,
    help="Processes writing segments side by side (default: one per CPU core, at most 4; "
    "a small store is built in one).",
)
@pass_context
def rebuild(ctx: Context, procs: int | None) -> None:
    """Rebuild the whole index from the store (into a new folder, swapped in when complete)."""
    with click.progressbar(length=ctx.store.count(), label="Indexing", file=sys.stderr) as bar:
        count = build.rebuild(ctx.store, ctx.config.index_dir, progress=bar.update, procs=procs)
    click.echo(f"Indexed {count} documents.")


@index.command()
@pass_context
def update(ctx: Context) -> None:
    """Apply the store's changes recorded since the last update."""
    count = sync.update_index(ctx)
    click.echo(f"{count} documents re-indexed.")


@index.command()
@click.option("--repair", is_flag=True, help="Re-index the documents that differ.")
@pass_context
def check(ctx: Context, repair: bool) -> None:
    """Compare the index with the store: documents missing from it or left in it."""
    report = build.check(ctx.store, ctx.config.index_dir)
    click.echo(
        f"Store: {len(ctx.store.uids())} documents; index watermark event {report.watermark}"
        f" of {report.store_event_id}."
    )
    for uid in report.missing[:20]:
        click.echo(f"missing from the index: {uid}")
    for uid in report.extra[:20]:
        click.echo(f"in the index but not in the store: {uid}")
    if report.ok:
        click.echo("The index agrees with the store.")
        return
    if repair:
        build.repair(ctx.store, ctx.config.index_dir, report.missing + report.extra)
        sync.update_index(ctx)
        click.echo("Repaired.")
        return
    click.echo(
        f"{len(report.missing)} missing, {len(report.extra)} extra; run `kb index check --repair` "
        "or `kb index rebuild`."
    )
    sys.exit(1)


@index.command("stats")
@pass_context
def index_stats(ctx: Context) -> None:
    """Size, record count, schema and watermark of the index."""
    for key, value in build.stats(ctx.config.index_dir).items():
        click.echo(f"{key}: {value}")
