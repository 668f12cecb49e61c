"""Commands that move data in and out of the store: import, export, stats."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from kb import jsonl
from kbcli import sync
from kbcli.main import Context, cli, pass_context


@cli.command("import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--no-index", is_flag=True, help="Store only; leave the search index for a later `kb index update`.")
@pass_context
def import_(ctx: Context, paths: tuple[str, ...], no_index: bool) -> None:
    """Load documents from JSON Lines files (.jsonl or .jsonl.gz).

    Accepts what `kb export` writes and article-level files such as shared/corpus/*.jsonl.
    A malformed line is reported with its number and skipped; every other line is imported."""
    failed = False
    for path in paths:
        if not Path(path).is_file():
            raise click.ClickException(f"no such file: {path}")
        size = os.path.getsize(path)
        with click.progressbar(length=size, label=f"Importing {Path(path).name}", file=sys.stderr) as bar:
            report = jsonl.import_file(ctx.store, path, progress=bar.update)
        click.echo(
            f"{path}: {report.added} added, {report.changed} changed, {report.unchanged} unchanged "
            f"({report.articles} articles)"
        )
        if report.rejected:
            failed = True
            for number, reason in report.rejected[:20]:
                click.echo(f"{path}:{number}: rejected: {reason}", err=True)
            if len(report.rejected) > 20:
                click.echo(f"… and {len(report.rejected) - 20} more rejected lines", err=True)
            click.echo(f"{path}: {len(report.rejected)} line(s) rejected; the others were imported.", err=True)
    if no_index:
        sync.update_derived(ctx)
    else:
        sync.update_index(ctx)
    if failed:
        sys.exit(1)


@cli.command()
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, allow_dash=True),
    default="-",
    help="File to write (.jsonl or .jsonl.gz); default standard output.",
)
@pass_context
def export(ctx: Context, output: str) -> None:
    """Write every document as JSON Lines in the documented schema (docs/SCHEMA.md)."""
    store = ctx.store
    if output == "-":
        count = jsonl.export(store, sys.stdout)
    else:
        tmp = Path(output + ".part")  # written aside, renamed when complete: no half-written export
        with jsonl.open_export(tmp, compress=output.endswith(".gz")) as out:
            with click.progressbar(length=store.count(), label="Exporting", file=sys.stderr) as bar:
                count = jsonl.export(store, out, progress=bar.update)
        tmp.replace(output)
    click.echo(f"{count} documents exported", err=True)


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@pass_context
def stats(ctx: Context, as_json: bool) -> None:
    """Counts of documents, articles, types, statuses, changes and recent runs."""
    data = ctx.store.stats()
    data["index"] = sync.index_stats(ctx)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
        return
    click.echo(f"Documents: {data['documents']:,}")
    click.echo(f"Articles:  {data['articles']:,}")
    click.echo(f"Changes recorded: {data['events']:,} events, {data['versions']:,} previous versions")
    if data["by_type"]:
        click.echo("By type:")
        for name, count in sorted(data["by_type"].items(), key=lambda kv: -kv[1]):
            click.echo(f"  {name:<24} {count:>7,}")
    if data["by_status"]:
        click.echo("By status:")
        for name, count in sorted(data["by_status"].items(), key=lambda kv: -kv[1]):
            click.echo(f"  {name:<24} {count:>7,}")
    if data["index"]:
        click.echo(f"Index: {data['index']}")
