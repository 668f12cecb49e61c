"""`kb serve`: the web UI and JSON API with waitress, a production WSGI server."""
from __future__ import annotations

import click

from index import build
from kbcli.main import Context, cli, pass_context


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on (0.0.0.0 for every network interface).")
@click.option("--port", default=8080, type=click.IntRange(0, 65535), show_default=True, help="TCP port.")
@click.option("--threads", default=4, type=click.IntRange(1, 64), show_default=True,
              help="Requests served at the same time.")
@pass_context
def serve(ctx: Context, host: str, port: int, threads: int) -> None:
    """Serve the web UI and the JSON API of this instance (waitress).

    The server only reads the store and the index; run `kb refresh` or `kb import` beside it to add
    documents (an empty instance shows a page explaining how)."""
    import waitress

    from web import create_app

    config = ctx.config
    app = create_app({"INSTANCE": str(config.instance)})
    if not config.db_path.exists():
        click.echo(f"The instance {config.instance} is empty: add documents with `kb refresh` or `kb import`.",
                   err=True)
    elif build.current_dir(config.index_dir) is None:
        click.echo("There is no search index yet: build it with `kb index rebuild`.", err=True)
    shown = "localhost" if host in ("127.0.0.1", "::1") else host
    click.echo(f"Serving {config.instance} on http://{shown}:{port}/ (Ctrl+C to stop)", err=True)
    waitress.serve(app, host=host, port=port, threads=threads, ident="hdnd-kb")
