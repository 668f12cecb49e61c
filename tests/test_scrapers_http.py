"""The polite HTTP client (scrapers/http.py) against a real local HTTP server, and the helpers the
other scraper tests share: `LocalServer` (http.server on 127.0.0.1, port 0, with injectable faults),
`make_pdf` (a small PDF with a real text layer, or a scan without one), and `no_internet`."""

from __future__ import annotations

import io
import json
import re
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from scrapers.errors import BadResponse, FetchError, RobotsDisallowed
from scrapers.http import Fetcher, parse_json

# --- helpers shared by the scraper tests ---------------------------------------------------------


@pytest.fixture(autouse=True)
def no_internet(monkeypatch):
    """Any connection to somewhere other than this machine fails the test."""
    real_connect = socket.socket.connect

    def guarded(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"a test tried to reach the network: {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@dataclass
class Seen:
    method: str
    path: str
    query: dict
    body: bytes
    headers: dict

    @property
    def json(self):
        return json.loads(self.body or b"null")


@dataclass
class Reply:
    status: int = 200
    body: bytes | str = b""
    headers: dict = field(default_factory=dict)
    content_type: str = "application/json; charset=utf-8"


class LocalServer:
    """A real HTTP server on 127.0.0.1 (port 0) whose routes are Python functions.

    `fault(pattern, *faults)` queues faults for the next requests whose path matches: "500",
    "503", "429:<seconds>" (with Retry-After), "timeout:<seconds>" (answer late), "truncate"
    (half the body), "html" (an HTML error page with status 200), "close" (no answer), "401"."""

    def __init__(self):
        self.routes: list[tuple[str, re.Pattern, object]] = []
        self.log: list[Seen] = []
        self.faults: list[tuple[re.Pattern, list[str]]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def setup(self):
                super().setup()
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms ACK waits

            def do_GET(self):
                server._handle(self)

            def do_POST(self):
                server._handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def route(self, method: str, pattern: str):
        def register(fn):
            self.routes.append((method, re.compile(pattern + r"$"), fn))
            return fn

        return register

    def fault(self, pattern: str, *faults: str):
        self.faults.append((re.compile(pattern), list(faults)))

    def requests(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        return [
            s for s in self.log if (method is None or s.method == method) and (path is None or re.search(path, s.path))
        ]

    def _take_fault(self, path: str) -> str | None:
        with self.lock:
            for pattern, queue in self.faults:
                if queue and pattern.search(path):
                    return queue.pop(0)
        return None

    def _handle(self, handler: BaseHTTPRequestHandler):
        parts = urlsplit(handler.path)
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        seen = Seen(
            handler.command, parts.path, parse_qs(parts.query, keep_blank_values=True), body, dict(handler.headers)
        )
        with self.lock:
            self.log.append(seen)
        fault = self._take_fault(parts.path)
        reply = None
        if fault and fault.startswith("timeout"):
            time.sleep(float(fault.split(":")[1]))
            fault = None
        if fault == "close":
            handler.close_connection = True
            handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if fault in ("500", "503", "401"):
            reply = Reply(int(fault), b'{"error": "injected"}')
        elif fault and fault.startswith("429"):
            reply = Reply(429, b"slow down", {"Retry-After": fault.split(":")[1]}, "text/plain")
        elif fault == "html":
            reply = Reply(
                200,
                "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
                content_type="text/html",
            )
        if reply is None:
            for method, pattern, fn in self.routes:
                match = pattern.match(parts.path)
                if method == handler.command and match:
                    reply = fn(seen, **match.groupdict())
                    break
            else:
                reply = Reply(404, b"not found", content_type="text/plain")
        data = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
        if fault == "truncate":
            data = data[: max(1, len(data) // 2)]
        try:
            handler.send_response(reply.status)
            handler.send_header("Content-Type", reply.content_type)
            handler.send_header("Content-Length", str(len(data)))
            for name, value in reply.headers.items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture
def server():
    s = LocalServer()
    yield s
    s.close()


def make_pdf(pages: list[list[str]], scanned: bool = False) -> bytes:
    """A small PDF. Text pages carry a real text layer (a Type0 font with a ToUnicode map, so any
    Vietnamese text extracts exactly); a `scanned` PDF has only an image on each page."""
    chars = sorted({ord(c) for lines in pages for line in lines for c in line} or {32})
    cmap = [
        "/CIDInit /ProcSet findresource begin 12 dict begin begincmap",
        "/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def",
        "/CMapName /Adobe-Identity-UCS def /CMapType 2 def",
        "1 begincodespacerange <0000> <FFFF> endcodespacerange",
    ]
    for i in range(0, len(chars), 100):
        chunk = chars[i : i + 100]
        cmap += [f"{len(chunk)} beginbfchar"] + [f"<{c:04X}> <{c:04X}>" for c in chunk] + ["endbfchar"]
    cmap += ["endcmap CMapName currentdict /CMap defineresource pop end end"]
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        3: b"<< /Type /Font /Subtype /Type0 /BaseFont /KBTest /Encoding /Identity-H /DescendantFonts [4 0 R]"
        b" /ToUnicode 5 0 R >>",
        4: b"<< /Type /Font /Subtype /CIDFontType2 /BaseFont /KBTest /CIDSystemInfo << /Registry (Adobe)"
        b" /Ordering (Identity) /Supplement 0 >> /DW 500 >>",
        6: b"<< /Type /XObject /Subtype /Image /Width 2 /Height 2 /ColorSpace /DeviceGray /BitsPerComponent 8"
        b" /Length 4 >>\nstream\n\x80\x40\x40\x80\nendstream",
    }
    stream = "\n".join(cmap).encode()
    objects[5] = b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream"
    kids = []
    number = 7
    for lines in pages:
        page, content = number, number + 1
        number += 2
        kids.append(f"{page} 0 R")
        if scanned:
            ops = b"q 500 0 0 700 50 70 cm /Im1 Do Q"
            resources = "/XObject << /Im1 6 0 R >>"
        else:
            ops = (
                "BT /F1 11 Tf 14 TL 40 800 Td\n"
                + "\n".join("<" + "".join(f"{ord(c):04X}" for c in line) + "> Tj T*" for line in lines)
                + "\nET"
            ).encode()
            resources = "/Font << /F1 3 0 R >>"
        objects[page] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << {resources} >>"
            f" /Contents {content} 0 R >>"
        ).encode()
        objects[content] = b"<< /Length %d >>\nstream\n" % len(ops) + ops + b"\nendstream"
    objects[2] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(kids)} >>".encode()
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for key in sorted(objects):
        offsets[key] = out.tell()
        out.write(b"%d 0 obj\n" % key + objects[key] + b"\nendobj\n")
    xref = out.tell()
    size = max(objects) + 1
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % size)
    for key in range(1, size):
        out.write(b"%010d 00000 n \n" % offsets[key])
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (size, xref))
    return out.getvalue()


def fetcher(**options) -> Fetcher:
    settings = dict(user_agent="hdnd-kb-test/1.0", delay=0, timeout=2, retries=2, backoff=0.01)
    settings.update(options)
    return Fetcher(**settings)


# --- the fetcher ---------------------------------------------------------------------------------


def test_retries_5xx_then_succeeds_and_names_the_url_when_it_gives_up(server):
    server.route("GET", "/ok")(lambda seen: Reply(body=b'{"a": 1}'))
    server.fault("/ok", "500", "503")
    f = fetcher()
    assert f.get(server.url + "/ok").json() == {"a": 1}
    assert len(server.requests("GET", "/ok")) == 3

    server.fault("/ok", "500", "500", "500")
    with pytest.raises(FetchError) as err:
        f.get(server.url + "/ok")
    assert err.value.status == 500
    assert f"GET {server.url}/ok: HTTP 500" in str(err.value) and "sau 3 lần thử" in str(err.value)


def test_429_waits_as_long_as_retry_after_says(server):
    server.route("GET", "/slow")(lambda seen: Reply(body=b"[]"))
    server.fault("/slow", "429:7")
    waits = []
    f = fetcher(sleep=waits.append)
    assert f.get(server.url + "/slow").json() == []
    assert waits == [7.0]
    server.fault("/slow", "429:9999")
    with pytest.raises(FetchError, match="máy chủ yêu cầu chờ 9999 giây"):
        f.get(server.url + "/slow")


def test_backoff_is_exponential_on_connection_errors(server):
    server.route("GET", "/x")(lambda seen: Reply(body=b"{}"))
    server.fault("/x", "close", "close")
    waits = []
    f = fetcher(retries=3, backoff=0.5, sleep=waits.append)
    assert f.get(server.url + "/x").json() == {}
    assert waits == [0.5, 1.0]


def test_a_timeout_is_retried_and_finally_reported_with_the_url(server):
    server.route("GET", "/late")(lambda seen: Reply(body=b"{}"))
    server.fault("/late", "timeout:0.6")
    f = fetcher(timeout=0.3, retries=1)
    assert f.get(server.url + "/late").json() == {}
    server.fault("/late", "timeout:0.6", "timeout:0.6")
    with pytest.raises(FetchError, match=rf"GET {server.url}/late: quá thời gian chờ sau 2 lần thử"):
        f.get(server.url + "/late")


def test_connection_errors_say_what_happened():
    with pytest.raises(
        FetchError,
        match=r"GET http://127.0.0.1:9/x: không kết nối được sau 1 lần thử: "
        r"Failed to establish a new connection: \[Errno 111\] Connection refused$",
    ):
        fetcher(retries=0).get("http://127.0.0.1:9/x")


def test_client_errors_are_not_retried(server):
    with pytest.raises(FetchError) as err:
        fetcher().get(server.url + "/missing")
    assert err.value.status == 404 and len(server.requests(path="/missing")) == 1


def test_delay_between_requests_to_one_host(server):
    server.route("GET", "/d")(lambda seen: Reply(body=b"{}"))
    clock = [100.0]
    waits = []

    def sleep(seconds):
        waits.append(round(seconds, 3))
        clock[0] += seconds

    f = fetcher(delay=1.5, sleep=sleep, clock=lambda: clock[0])
    for _ in range(3):
        f.get(server.url + "/d")
    assert waits == [1.5, 1.5]


def test_user_agent_conditional_get_and_304(server):
    @server.route("GET", "/feed.rss")
    def feed(seen):
        if seen.headers.get("If-None-Match") == '"v1"':
            return Reply(304, b"")
        return Reply(body=b"<rss/>", headers={"ETag": '"v1"'}, content_type="application/rss+xml")

    f = fetcher()
    first = f.get(server.url + "/feed.rss")
    assert first.status == 200 and first.etag == '"v1"'
    again = f.get(server.url + "/feed.rss", etag=first.etag)
    assert again.not_modified
    assert server.requests()[0].headers["User-Agent"] == "hdnd-kb-test/1.0"


def test_robots_txt_is_respected_for_html_sites(server):
    server.route("GET", "/robots.txt")(
        lambda seen: Reply(body="User-agent: *\nDisallow: /private/\n", content_type="text/plain")
    )
    server.route("GET", "/public/page")(lambda seen: Reply(body="<html></html>", content_type="text/html"))
    f = fetcher()
    assert f.get(server.url + "/public/page", robots=True).status == 200
    with pytest.raises(RobotsDisallowed, match="/private/x: robots.txt của .* không cho phép"):
        f.get(server.url + "/private/x", robots=True)
    assert len(server.requests(path="/robots.txt")) == 1  # read once per host
    assert not server.requests(path="/private/x")


def test_unreadable_robots_txt_disallows_and_missing_one_allows(server):
    server.route("GET", "/robots.txt")(lambda seen: Reply(503, b"down"))
    with pytest.raises(
        RobotsDisallowed, match=r"/page: không tải, vì không đọc được robots.txt của .* \(GET .*/robots.txt: HTTP 503"
    ):
        fetcher(retries=0).get(server.url + "/page", robots=True)
    other = LocalServer()
    try:
        other.route("GET", "/page")(lambda seen: Reply(body=b"ok", content_type="text/html"))
        assert fetcher().get(other.url + "/page", robots=True).status == 200  # robots.txt: 404
    finally:
        other.close()


def test_record_then_replay_without_the_network(server, tmp_path):
    server.route("POST", "/doc/all")(lambda seen: Reply(body=json.dumps({"page": seen.json["pageNumber"]})))
    server.route("GET", "/file.pdf")(lambda seen: Reply(body=make_pdf([["Điều 1."]]), content_type="application/pdf"))
    server.fault("/doc/all", "500")
    recorder = fetcher(record_dir=tmp_path / "rec")
    assert recorder.post_json(server.url + "/doc/all", {"pageNumber": 1}).json() == {"page": 1}
    assert recorder.post_json(server.url + "/doc/all", {"pageNumber": 2}).json() == {"page": 2}
    pdf = recorder.get(server.url + "/file.pdf").content
    recorded = sorted((tmp_path / "rec").glob("*.json"))
    assert len(recorded) == 4  # the 500 is recorded too
    first = json.loads(recorded[0].read_text(encoding="utf-8"))
    assert first["url"] == server.url + "/doc/all" and first["status"] == 500 and "headers" in first

    server.close()  # no network from here on
    replayer = fetcher(replay_dir=tmp_path / "rec", sleep=lambda s: pytest.fail("replay must not sleep"))
    assert replayer.post_json(server.url + "/doc/all", {"pageNumber": 1}).json() == {"page": 1}
    assert replayer.post_json(server.url + "/doc/all", {"pageNumber": 2}).json() == {"page": 2}
    assert replayer.get(server.url + "/file.pdf").content == pdf
    with pytest.raises(FetchError, match="không có phản hồi đã ghi"):
        replayer.get(server.url + "/other")


def test_json_quirks_control_characters_truncation_and_html_pages():
    assert parse_json('{"title": "Nghị\x01 quyết\x1f", "n": "a\tb"}', "u") == {"title": "Nghị quyết", "n": "a\tb"}
    with pytest.raises(BadResponse, match=r"GET http://h/doc/1: JSON không hợp lệ .*bị cắt cụt"):
        parse_json('{"data": {"id": "1", "title": "Ngh', "http://h/doc/1")
    with pytest.raises(BadResponse, match=r"nhận được một trang HTML \('502 Bad Gateway'\) thay vì JSON"):
        parse_json("<html><title>502 Bad Gateway</title></html>", "http://h/doc/1")
    with pytest.raises(BadResponse, match="phản hồi rỗng"):
        parse_json("  ", "http://h/doc/1")


def test_responses_larger_than_the_limit_are_refused(server):
    server.route("GET", "/big")(lambda seen: Reply(body=b"x" * 300_000, content_type="application/pdf"))
    with pytest.raises(FetchError, match="lớn hơn"):
        fetcher(max_bytes=100_000).get(server.url + "/big")
