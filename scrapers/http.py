"""The one polite HTTP client of the scrapers: the only code in the project that touches the network.

A `Fetcher` is built once per refresh and injected into every source. It gives:

- a `requests` session with a descriptive User-Agent (config `http.user_agent`), connect/read
  timeouts (`http.timeout`), and an optional CA bundle (`http.ca_bundle`, for servers with an
  incomplete certificate chain: add the missing intermediate instead of turning verification off);
- retries with exponential back-off (`http.retries`, `http.backoff`) on connection errors, timeouts,
  429 and 5xx, honouring `Retry-After` (seconds or an HTTP date; a wait longer than
  `http.max_wait` gives up instead of hammering);
- a delay between two requests to the same host (`http.delay`, default 1 s);
- conditional GET (`etag=` / `last_modified=` in, `Response.etag` / `.last_modified` out, 304 is
  `Response.not_modified`);
- robots.txt for HTML sites (`robots=True`): a disallowed URL raises `RobotsDisallowed`; a
  robots.txt that answers 4xx allows everything, one that cannot be read (5xx, unreachable) allows
  nothing (RFC 9309);
- errors that name the method, the URL and what went wrong;
- `record_dir`: every response received (URL, status, headers, body) is saved as one JSON file;
  `replay_dir`: responses are answered from such a recording, in the order they were recorded,
  without the network (no delays, no back-off sleeps).
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import json
import re
import time
import urllib.robotparser
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import requests
from requests.structures import CaseInsensitiveDict

from scrapers.errors import BadResponse, FetchError, RobotsDisallowed

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504, 507, 508, 509, 520, 521, 522, 523, 524})
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_TITLE = re.compile(r"<title[^>]*>(.*?)</title>", re.I | re.S)


@dataclass
class Response:
    """A received response, fully read."""

    method: str
    url: str
    status: int
    headers: CaseInsensitiveDict = field(default_factory=CaseInsensitiveDict)
    content: bytes = b""
    reason: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304

    @property
    def etag(self) -> str | None:
        return self.headers.get("ETag")

    @property
    def last_modified(self) -> str | None:
        return self.headers.get("Last-Modified")

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def text(self) -> str:
        charset = "utf-8"
        match = re.search(r"charset=([\w.-]+)", self.headers.get("Content-Type") or "", re.I)
        if match:
            charset = match.group(1)
        try:
            text = self.content.decode(charset, errors="replace")
        except LookupError:
            text = self.content.decode("utf-8", errors="replace")
        return text.lstrip("\ufeff")

    def json(self):
        """The body as JSON, tolerating the control characters vbpl leaves inside strings."""
        return parse_json(self.text, self.url, self.method)


def parse_json(text: str, url: str, method: str = "GET"):
    """Parse JSON from a source; raise BadResponse naming the URL when it is not JSON."""
    body = text.lstrip("\ufeff").strip()
    if not body:
        raise BadResponse(f"{method} {url}: phản hồi rỗng thay vì JSON", url)
    if body.startswith("<"):
        title = _TITLE.search(body)
        what = f" ({' '.join(title.group(1).split())[:80]!r})" if title else ""
        raise BadResponse(f"{method} {url}: nhận được một trang HTML{what} thay vì JSON", url)
    try:
        return json.loads(_CONTROL.sub("", body), strict=False)
    except json.JSONDecodeError as exc:
        raise BadResponse(
            f"{method} {url}: JSON không hợp lệ ({exc.msg} ở ký tự {exc.pos} trên {len(body)}; bị cắt cụt?)", url
        ) from None


class Fetcher:
    """Polite HTTP: one per refresh, shared by the sources. Not thread-safe (one request at a time)."""

    def __init__(
        self,
        user_agent: str = "hdnd-kb",
        delay: float = 1.0,
        timeout: float = 30.0,
        retries: int = 4,
        backoff: float = 1.0,
        max_wait: float = 300.0,
        verify: bool | str = True,
        max_bytes: int = 50 * 1024 * 1024,
        record_dir: str | Path | None = None,
        replay_dir: str | Path | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.user_agent = user_agent
        self.delay = max(0.0, float(delay))
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        self.backoff = max(0.0, float(backoff))
        self.max_wait = float(max_wait)
        self.verify = verify
        self.max_bytes = int(max_bytes)
        self.record_dir = Path(record_dir) if record_dir else None
        self.replay_dir = Path(replay_dir) if replay_dir else None
        self.session = session or requests.Session()
        self.session.headers.update({"User-Agent": user_agent, "Accept-Language": "vi,en;q=0.5"})
        self._sleep = sleep
        self._clock = clock
        self._last_request: dict[str, float] = {}
        self._robots: dict[str, urllib.robotparser.RobotFileParser | bool] = {}
        self._replay: dict[str, list[dict]] | None = None
        self._replay_pos: dict[str, int] = {}
        self._record_seq = 0
        self.requests = 0  # requests sent (or replayed), retries included
        self.slept = 0.0  # seconds spent waiting (delays and back-off)
        if self.record_dir:
            self.record_dir.mkdir(parents=True, exist_ok=True)
            self._record_seq = len(list(self.record_dir.glob("*.json")))
        if self.replay_dir and not self.replay_dir.is_dir():
            raise FetchError(
                f"không có bản ghi để phát lại: {self.replay_dir} không phải là thư mục", str(self.replay_dir)
            )

    @classmethod
    def from_config(cls, config, record_dir=None, replay_dir=None, **overrides) -> Fetcher:
        """A fetcher with the [http] settings of a kb Config."""
        http = config.section("http")
        options = dict(
            user_agent=http["user_agent"],
            delay=http["delay"],
            timeout=http["timeout"],
            retries=http["retries"],
            backoff=http["backoff"],
            max_wait=http["max_wait"],
            verify=http["ca_bundle"] or True,
            max_bytes=int(http["max_mb"] * 1024 * 1024),
            record_dir=record_dir,
            replay_dir=replay_dir,
        )
        options.update(overrides)
        return cls(**options)

    # --- public API --------------------------------------------------------------------------
    def get(self, url: str, **kwargs) -> Response:
        return self.request("GET", url, **kwargs)

    def post_json(self, url: str, payload, **kwargs) -> Response:
        return self.request("POST", url, json_body=payload, **kwargs)

    def request(
        self,
        method: str,
        url: str,
        *,
        params: dict | None = None,
        json_body=None,
        headers: dict | None = None,
        robots: bool = False,
        etag: str | None = None,
        last_modified: str | None = None,
        max_bytes: int | None = None,
    ) -> Response:
        """Send one request (with retries); return the response of status 2xx or 304.

        Raise FetchError (naming the URL) for other statuses, after the retries for 429/5xx."""
        prepared = self.session.prepare_request(requests.Request(method, url, params=params, json=json_body))
        full_url = prepared.url
        body = prepared.body if isinstance(prepared.body, bytes) else (prepared.body or "").encode()
        if robots and not self._robots_allow(full_url):
            raise RobotsDisallowed(f"{method} {full_url}: robots.txt của {_origin(full_url)} không cho phép", full_url)
        extra = dict(headers or {})
        if etag:
            extra["If-None-Match"] = etag
        if last_modified:
            extra["If-Modified-Since"] = last_modified
        limit = max_bytes or self.max_bytes
        attempts = self.retries + 1
        for attempt in range(attempts):
            last = attempt == attempts - 1
            self._wait_for_host(full_url)
            try:
                response = self._send(method, full_url, body, json_body, extra, limit)
            except (requests.Timeout, requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                what = "quá thời gian chờ" if isinstance(exc, requests.Timeout) else "không kết nối được"
                if last:
                    raise FetchError(
                        f"{method} {full_url}: {what} sau {attempts} lần thử: {_short(exc)}", full_url
                    ) from None
                self._pause(self._backoff(attempt))
                continue
            if 200 <= response.status < 300 or response.status == 304:
                return response
            if response.status in RETRY_STATUSES:
                wait = _retry_after(response.headers.get("Retry-After"))
                if wait is not None and wait > self.max_wait:
                    raise FetchError(
                        f"{method} {full_url}: HTTP {response.status}; máy chủ yêu cầu chờ "
                        f"{wait:.0f} giây (quá http.max_wait={self.max_wait:.0f} giây)",
                        full_url,
                        response.status,
                    )
                if last:
                    raise FetchError(
                        f"{method} {full_url}: HTTP {response.status} {response.reason}".rstrip()
                        + f" sau {attempts} lần thử",
                        full_url,
                        response.status,
                    )
                self._pause(wait if wait is not None else self._backoff(attempt))
                continue
            raise FetchError(
                f"{method} {full_url}: HTTP {response.status} {response.reason}".rstrip(), full_url, response.status
            )
        raise AssertionError("unreachable")  # pragma: no cover

    # --- internals ----------------------------------------------------------------------------
    def _send(self, method, url, body: bytes, json_body, headers, limit) -> Response:
        self.requests += 1
        if self.replay_dir:
            return self._replayed(method, url, body)
        raw = self.session.request(
            method,
            url,
            json=json_body,
            headers=headers,
            timeout=(self.timeout, self.timeout),
            verify=self.verify,
            stream=True,
            allow_redirects=True,
        )
        try:
            chunks, size = [], 0
            for chunk in raw.iter_content(64 * 1024):
                size += len(chunk)
                if size > limit:
                    raise FetchError(f"{method} {url}: lớn hơn {limit // (1024 * 1024)} MB (http.max_mb)", url)
                chunks.append(chunk)
        finally:
            raw.close()
        response = Response(
            method,
            raw.url or url,
            raw.status_code,
            CaseInsensitiveDict(raw.headers),
            b"".join(chunks),
            raw.reason or "",
        )
        if self.record_dir:
            self._record(method, url, body, response)
        return response

    def _wait_for_host(self, url: str) -> None:
        if self.replay_dir:
            return
        host = urlsplit(url).netloc
        last = self._last_request.get(host)
        now = self._clock()
        if last is not None and self.delay > 0:
            wait = last + self.delay - now
            if wait > 0:
                self._pause(wait)
        self._last_request[host] = self._clock()

    def _pause(self, seconds: float) -> None:
        if self.replay_dir or seconds <= 0:
            return
        self.slept += seconds
        self._sleep(seconds)

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff * (2**attempt), self.max_wait)

    def _robots_allow(self, url: str) -> bool:
        origin = _origin(url)
        rules = self._robots.get(origin)
        if rules is None:
            robots_url = origin + "/robots.txt"
            try:
                response = self.request("GET", robots_url)
                parser = urllib.robotparser.RobotFileParser(robots_url)
                parser.parse(response.text.splitlines())
                rules = parser
            except FetchError as exc:
                # RFC 9309: robots.txt answering 4xx means no rules; unreachable (5xx, network) means
                # assume everything is disallowed. A replay without a recorded robots.txt is a 404.
                if exc.status is not None and 400 <= exc.status < 500 or getattr(exc, "not_recorded", False):
                    rules = True
                else:
                    rules = str(exc)
            self._robots[origin] = rules
        if isinstance(rules, str):
            raise RobotsDisallowed(f"{url}: không tải, vì không đọc được robots.txt của {origin} ({rules})", url)
        if isinstance(rules, bool):
            return rules
        return rules.can_fetch(self.user_agent, url)

    # --- recording and replay -------------------------------------------------------------------
    def _record(self, method: str, url: str, body: bytes, response: Response) -> None:
        key = _request_key(method, url, body)
        self._record_seq += 1
        try:
            text, encoding = response.content.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(response.content).decode("ascii"), "base64"
        record = {
            "method": method,
            "url": url,
            "request_body": body.decode("utf-8", errors="replace") or None,
            "status": response.status,
            "reason": response.reason,
            "final_url": response.url,
            "headers": dict(response.headers),
            "encoding": encoding,
            "body": text,
        }
        path = self.record_dir / f"{self._record_seq:05d}-{key[:12]}.json"
        path.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")

    def _replayed(self, method: str, url: str, body: bytes) -> Response:
        if self._replay is None:
            self._replay = {}
            for path in sorted(self.replay_dir.glob("*.json")):
                try:
                    record = json.loads(path.read_text(encoding="utf-8"))
                    key = _request_key(record["method"], record["url"], (record.get("request_body") or "").encode())
                except (ValueError, KeyError, TypeError):
                    raise FetchError(f"{path}: không phải một phản hồi đã ghi", str(path)) from None
                self._replay.setdefault(key, []).append(record)
        key = _request_key(method, url, body)
        records = self._replay.get(key)
        if not records:
            error = FetchError(f"{method} {url}: không có phản hồi đã ghi trong {self.replay_dir}", url)
            error.not_recorded = True
            raise error
        pos = self._replay_pos.get(key, 0)
        self._replay_pos[key] = pos + 1
        record = records[min(pos, len(records) - 1)]
        content = (
            base64.b64decode(record["body"]) if record.get("encoding") == "base64" else record["body"].encode("utf-8")
        )
        return Response(
            method,
            record.get("final_url") or url,
            int(record["status"]),
            CaseInsensitiveDict(record.get("headers") or {}),
            content,
            record.get("reason") or "",
        )


def _request_key(method: str, url: str, body: bytes) -> str:
    return hashlib.sha1(method.upper().encode() + b" " + url.encode() + b"\n" + (body or b"")).hexdigest()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - time.time())


def _short(exc: Exception) -> str:
    """The useful end of a requests/urllib3 error: 'Failed to resolve …', '[Errno 111] Connection refused'."""
    text = str(exc)
    if "Caused by " in text:
        text = text.rsplit("Caused by ", 1)[1]
        text = re.sub(r"^\w+\(['\"]?", "", text)
        text = re.sub(r"^\w+Connection(?:Pool)?\([^)]*\): |^<[^>]*>: ", "", text)
        text = re.sub(r"['\"]?\)+$", "", text)
    return " ".join(text.split())[:200]
