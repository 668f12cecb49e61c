"""`kb serve`: the web UI and JSON API with a production WSGI server.

One process (`--workers 1`, the default) is served by waitress: pure Python, threads, any OS.
Several processes (`--workers N`, N > 1) are served by gunicorn's master/worker model with the gthread
worker class (`--threads` per worker), on Linux and other Unix systems. The app is created in each worker
after the fork (no preloading), so each worker opens its own SQLite connections and index searchers.
Both stop gracefully on SIGTERM and Ctrl+C: requests being served are given time to finish.
"""

from __future__ import annotations

import errno
import os
import select
import signal
import sys

import click

from index import build
from kb.legal import derived
from kbcli import _sync as sync
from kbcli._context import Context, pass_context

# Slow clients (issue 20): waitress reads every request whole, asynchronously, before a thread serves it,
# so a slow client costs a connection, not a thread; the limit on connections is what ~110 slow sockets
# exhausted. gunicorn's gthread worker reads a request's headers in a thread: without a reverse proxy
# that buffers requests, a few slow clients occupy every thread (README: a proxy is required in production).
WAITRESS = {
    "connection_limit": 1000,  # open connections before waitress stops accepting (its default: 100)
    "channel_timeout": 30,  # seconds a connection may stay silent (its default: 120)
    "cleanup_interval": 10,  # how often silent connections are looked for (its default: 30)
    "max_request_header_size": 65536,
    "backlog": 1024,
}
READ_TIMEOUT = 15  # seconds a gunicorn thread waits for the next bytes of a request before closing it
GUNICORN = {
    "worker_class": "gthread",
    "worker_connections": 1000,
    "keepalive": 5,
    "timeout": 120,  # WORKER_TIMEOUT
    "limit_request_line": 8190,
    "limit_request_fields": 100,
    "limit_request_field_size": 8190,
}
GRACEFUL_SECONDS = 30  # a worker being stopped finishes its requests for at most this long
WORKER_TIMEOUT = 120  # a gunicorn worker whose main loop is silent this long is restarted
# (gthread workers report from their main loop, not from the request threads: a long request, such as
# a checker upload of a large PDF, does not count against this; only a worker that is stuck does)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Địa chỉ lắng nghe (0.0.0.0: mọi giao diện mạng).")
@click.option("--port", default=8080, type=click.IntRange(0, 65535), show_default=True, help="Cổng TCP.")
@click.option(
    "--workers",
    default=1,
    type=click.IntRange(1, 64),
    show_default=True,
    help="Số tiến trình phục vụ. 1: waitress, một tiến trình (mọi hệ điều hành). Nhiều hơn: gunicorn, mỗi "
    "worker một tiến trình (Linux/Unix), phục vụ nhiều yêu cầu hơn mỗi giây; khoảng mỗi lõi CPU một tiến trình.",
)
@click.option(
    "--threads",
    default=4,
    type=click.IntRange(1, 64),
    show_default=True,
    help="Số yêu cầu mỗi tiến trình phục vụ cùng lúc.",
)
@pass_context
def serve(ctx: Context, host: str, port: int, workers: int, threads: int) -> None:
    """Phục vụ giao diện web và API JSON của instance này (waitress, hoặc gunicorn khi --workers > 1).

    Máy chủ chỉ đọc cơ sở dữ liệu và chỉ mục; chạy `kb refresh` hoặc `kb import` bên cạnh để thêm văn bản
    (instance chưa có văn bản thì trang web hướng dẫn cách làm). Tìm kiếm thấy những gì các lệnh đó ghi sau
    vài giây, ở mọi worker. Giới hạn tần suất (web.subscribe_limit, web.check_limit) tính theo từng tiến
    trình: với N worker, một máy khách có thể được tới N lần giới hạn."""
    from web import create_app

    config = ctx.config
    _raise_open_files_limit()
    app = create_app({"INSTANCE": str(config.instance)})  # checks the configuration before serving
    if not config.db_path.exists():  # served as it is (a page explains what to do); nothing is created
        click.echo(ctx.missing_message(), err=True)
    elif ctx.store.count() == 0:
        click.echo(ctx.empty_message() + " Trang web giải thích cách làm.", err=True)
    else:
        # derived data of a store written by an older version: computed now, never in a request
        if any(not st.current for st in derived.states(ctx.store)):
            sync.update_derived(ctx)
    if ctx.exists() and ctx.store.count() and build.current_dir(config.index_dir) is None:
        click.echo("Chưa có chỉ mục tìm kiếm: tạo bằng `kb index rebuild`.", err=True)
    shown = "localhost" if host in ("127.0.0.1", "::1") else (f"[{host}]" if ":" in host else host)
    if workers == 1:
        click.echo(
            f"Phục vụ {config.instance} tại http://{shown}:{port}/ bằng waitress, {threads} luồng (Ctrl+C để dừng)",
            err=True,
        )
        _serve_waitress(app, host, port, threads, max_body=int(app.config["MAX_CONTENT_LENGTH"]))
    else:
        del app  # each worker creates its own after the fork
        click.echo(
            f"Phục vụ {config.instance} tại http://{shown}:{port}/ bằng gunicorn, {workers} tiến trình "
            f"worker, mỗi tiến trình {threads} luồng (Ctrl+C để dừng)",
            err=True,
        )
        _serve_gunicorn(str(config.instance), host, port, workers, threads)
    click.echo("Đã dừng.", err=True)


def _raise_open_files_limit() -> None:
    """Every thread's searcher holds each file of the index open (about 23 per segment: a few hundred),
    and so does every process: raise the soft limit on open files (often 1,024) to the hard limit."""
    try:
        import resource
    except ImportError:  # Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else 65536
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        except (ValueError, OSError):
            pass


def _serve_waitress(app, host: str, port: int, threads: int, max_body: int) -> None:
    import waitress

    def stop(signum, frame):
        raise SystemExit(0)  # waitress's run() ends on it and lets running requests finish (5 s)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        # poll(), not select(): select() fails on descriptors past 1,023 ("filedescriptor out of range"),
        # which the searchers' open index files push the connections' sockets past, and waitress then exits.
        # Ctrl+C (KeyboardInterrupt) ends run() as SIGTERM does.
        # max_request_body_size: a body larger than the app accepts is refused with 413 by waitress itself,
        # before it is spooled to a temporary file (its default is 1 GiB).
        waitress.serve(
            app,
            host=host,
            port=port,
            threads=threads,
            ident="hdnd-kb",
            asyncore_use_poll=hasattr(select, "poll"),  # not on Windows
            max_request_body_size=max_body,
            **WAITRESS,
        )
    except OSError as exc:
        if exc.errno in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise click.ClickException(f"không lắng nghe được ở {host}:{port}: {exc.strerror}") from None
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)


def _bounded_worker_class():
    """gunicorn's gthread worker whose connections time out after READ_TIMEOUT seconds without a byte: a
    slow client holds a thread for that long at most, never forever (gthread reads with blocking sockets)."""
    import socket

    from gunicorn.workers.gthread import ThreadWorker

    class TimedSocket(socket.socket):
        def setblocking(self, flag: bool) -> None:
            if flag:
                self.settimeout(READ_TIMEOUT)
            else:
                super().setblocking(False)

    class BoundedThreadWorker(ThreadWorker):
        def accept(self, listener):
            accept = listener.accept

            def timed_accept():
                sock, address = accept()
                return TimedSocket(sock.family, sock.type, sock.proto, fileno=sock.detach()), address

            listener.accept = timed_accept  # noqa: B010 (the listener is gunicorn's socket wrapper)
            try:
                return super().accept(listener)
            finally:
                del listener.accept

    return BoundedThreadWorker


def _serve_gunicorn(instance: str, host: str, port: int, workers: int, threads: int) -> None:
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError as exc:  # not installed, or Windows (gunicorn needs fcntl and fork)
        where = "trên Windows" if sys.platform == "win32" else "ở đây"
        raise click.ClickException(
            f"--workers {workers} cần gunicorn, không dùng được {where} ({exc}); "
            "hãy phục vụ bằng --workers 1 (waitress), thêm --threads nếu cần"
        ) from None

    class Server(BaseApplication):
        """gunicorn configured from the command's options (not from gunicorn's command line)."""

        def load_config(self):
            for key, value in {
                "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
                "workers": workers,
                **GUNICORN,
                "worker_class": _bounded_worker_class(),
                "threads": threads,
                "preload_app": False,  # the app, its SQLite connections and searchers: per worker
                "timeout": WORKER_TIMEOUT,
                "graceful_timeout": GRACEFUL_SECONDS,
                # proxy headers are the app's business (web.proxy_count), as with waitress
                "forwarded_allow_ips": "",
                "secure_scheme_headers": {},
                "forwarder_headers": "",
                "control_socket_disable": True,  # one fixed socket per user would clash between instances
                "proc_name": "hdnd-kb",
                "errorlog": "-",
                "loglevel": "info",
            }.items():
                self.cfg.set(key, value)

        def load(self):
            from web import create_app

            return create_app({"INSTANCE": instance})

    master = os.getpid()
    try:
        Server().run()
    except SystemExit as exc:  # the arbiter exits when it stops; 0 is a normal stop
        if os.getpid() != master:  # a worker (forked inside run()) ends here: let it exit as it asked
            raise
        if exc.code not in (0, None):
            raise click.ClickException(f"gunicorn dừng với mã {exc.code} (xem các thông báo phía trên)") from None
