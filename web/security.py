"""Web security in one place: CSRF tokens on every form, security headers on every response, a
clear 413 for oversized bodies, an in-process rate limiter, and on-site-only redirect targets.

CSRF: a random token kept in Flask's signed session cookie (SameSite=Lax, HttpOnly) and repeated in
a hidden `csrf_token` field of every POST form (`{{ csrf_field() }}` in templates). Every POST,
PUT, PATCH or DELETE must carry it, except views marked `@csrf_exempt`: the RFC 8058 one-click
unsubscribe (a mail client posts `List-Unsubscribe=One-Click` without cookies; the signed token in
the URL is the proof) and POST /api/check (it changes nothing and is rate limited).

The session is signed with SECRET_KEY when it is configured, else with a key derived from the
instance's alerts secret (`alerts.secret`, or <instance>/secret.key), read on first use.

Rate limits are per client address (request.remote_addr; set PROXY_COUNT when behind a reverse proxy
so that X-Forwarded-For is used) and per process: N requests per RATE_WINDOW seconds, a sliding
window. Several worker processes each keep their own count.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict, deque
from urllib.parse import urlsplit

from flask import Flask, current_app, has_request_context, request, session
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup, escape
from werkzeug.exceptions import BadRequest, Forbidden, RequestEntityTooLarge, TooManyRequests

CSRF_FIELD = "csrf_token"
CSRF_MESSAGE = (
    "Biểu mẫu đã hết hạn hoặc trình duyệt không gửi cookie của trang này, nên yêu cầu bị từ chối "
    "để bảo vệ bạn. Hãy tải lại trang (F5) rồi gửi lại."
)
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Paths whose pages hold a person's links or text (tokens, drafts): never kept by caches or the back-forward cache.
NO_STORE_PREFIXES = ("/theo-doi/", "/kiem-tra-can-cu", "/api/check")
_UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


# --- CSRF ----------------------------------------------------------------------------------------
class CSRFError(BadRequest):
    description = CSRF_MESSAGE


def csrf_exempt(view):
    """Mark a view as not needing the CSRF token (say why where it is used)."""
    view.csrf_exempt = True
    return view


def csrf_token() -> str:
    """This browser session's token (made on first use)."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_field() -> Markup:
    return Markup('<input type="hidden" name="%s" value="%s">') % (CSRF_FIELD, escape(csrf_token()))


def check_size() -> None:
    """Refuse a declared body beyond MAX_CONTENT_LENGTH on every route, before anything reads it
    (Werkzeug refuses it too, but only when a view reads the body; a chunked body is cut when read)."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit and request.content_length and request.content_length > limit:
        raise RequestEntityTooLarge()


def check_csrf() -> None:
    if request.method not in _UNSAFE:
        return
    view = current_app.view_functions.get(request.endpoint or "")
    if view is None or getattr(view, "csrf_exempt", False):
        return
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    expected = session.get("csrf") or ""
    if not expected or not sent or not hmac.compare_digest(str(sent), str(expected)):
        raise CSRFError()


class _LazyKeySessionInterface(SecureCookieSessionInterface):
    """Signs the session with SECRET_KEY, or with a key derived from the alerts secret, read on first use
    (so that creating the app writes nothing into the instance folder)."""

    _lock = threading.Lock()

    def get_signing_serializer(self, app: Flask):
        if not app.secret_key:
            with self._lock:
                if not app.secret_key:
                    from kb.alerts.tokens import secret_key

                    base = secret_key(app.extensions["kb_config"])
                    app.secret_key = hmac.new(base, b"hdnd-kb/web-session", hashlib.sha256).hexdigest()
        return super().get_signing_serializer(app)

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure when SESSION_COOKIE_SECURE says so, and always on a request that came over HTTPS."""
        return bool(super().get_cookie_secure(app) or (has_request_context() and request.is_secure))


# --- rate limits ---------------------------------------------------------------------------------
class RateLimiter:
    """At most `limit` hits per `window` seconds per key (a sliding window), in this process.

    Memory is bounded: at most `max_keys` keys are remembered (the least recently seen are dropped)."""

    def __init__(self, limit: int, window: float, max_keys: int = 10_000, clock=time.monotonic):
        self.limit, self.window, self.max_keys, self.clock = limit, window, max_keys, clock
        self._hits: OrderedDict[str, deque] = OrderedDict()
        self._lock = threading.Lock()

    def hit(self, key: str) -> float:
        """Count one hit; 0 when allowed, else the seconds to wait before the next one is allowed."""
        if self.limit <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            hits = self._hits.pop(key, None) or deque()
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            self._hits[key] = hits
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
            if len(hits) >= self.limit:
                return max(0.5, hits[0] + self.window - now)
            hits.append(now)
            return 0.0

    def wait(self, key: str) -> float:
        """Like `hit`, without counting a hit: 0 when a hit would be allowed now."""
        if self.limit <= 0:
            return 0.0
        now = self.clock()
        with self._lock:
            recent = [t for t in self._hits.get(key, ()) if t > now - self.window]
            return max(0.5, recent[0] + self.window - now) if len(recent) >= self.limit else 0.0


class RateLimited(TooManyRequests):
    def __init__(self, wait: float, what: str):
        minutes = max(1, round(wait / 60))
        super().__init__(f"Bạn đã {what} quá nhiều lần trong thời gian ngắn. Xin thử lại sau khoảng {minutes} phút.")
        self.retry_after = int(wait) + 1


RATE_WHAT = {"subscribe": "gửi yêu cầu theo dõi", "check": "kiểm tra căn cứ"}


def rate_limited(name: str):
    """Decorator: POSTs to this view count against the `name` limit (SUBSCRIBE_LIMIT, CHECK_LIMIT)."""

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            if request.method == "POST":
                limiter = current_app.extensions["kb_limiters"][name]
                wait = limiter.hit(request.remote_addr or "?")
                if wait:
                    raise RateLimited(wait, RATE_WHAT[name])
            return view(*args, **kwargs)

        return wrapper

    return decorate


# --- cross-site requests ----------------------------------------------------------------------------
CROSS_SITE_MESSAGE = (
    "Yêu cầu này được gửi từ một trang khác nên bị từ chối. Hãy dùng trang Kiểm tra căn cứ của chính trang này, "
    "hoặc gọi API từ chương trình (không kèm tiêu đề Origin của trình duyệt)."
)


class CrossSite(Forbidden):
    description = CROSS_SITE_MESSAGE


def own_origins() -> set[str]:
    """The origins ("https://host[:port]") this site is reached at: site.url and web.trusted_hosts when they
    are configured, else the address of this request (an instance still on the default site.url)."""
    origins = set()
    if current_app.config.get("SITE_URL_SET"):
        parts = urlsplit(current_app.config["SITE_URL"])
        origins.add(f"{parts.scheme}://{parts.netloc}".lower())
    for host in current_app.config.get("SITE_HOSTS") or ():
        origins.update({f"http://{host}".lower(), f"https://{host}".lower()})
    if not origins:
        origins.add(request.host_url.rstrip("/").lower())
    return origins


def is_cross_site() -> bool:
    """A browser sent this request from another site: Sec-Fetch-Site says so, or Origin names another site
    (or "null": a sandboxed frame or a file). Programs send neither header."""
    if request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
        return True
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return origin.strip().rstrip("/").lower() not in own_origins()


def same_site_only(view):
    """Decorator: a POST that a browser sends from another site is refused with 403 (the checker answers any
    request: without this, any page an office user opens could make the browser post to the internal server)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if request.method in _UNSAFE and is_cross_site():
            current_app.logger.warning(
                "refused a cross-site %s %s (Origin %r, Sec-Fetch-Site %r)",
                request.method,
                request.path,
                request.headers.get("Origin"),
                request.headers.get("Sec-Fetch-Site"),
            )
            raise CrossSite()
        return view(*args, **kwargs)

    return wrapper


# --- redirects -----------------------------------------------------------------------------------
def safe_next(target: str | None, fallback: str) -> str:
    """`target` when it is a path on this site ("/theo-doi/…"), else `fallback`: never another site
    ("//evil.example", "https://…", "/\\evil.example", "javascript:…")."""
    if not target:
        return fallback
    text = str(target).strip()
    if (
        not text.startswith("/")
        or text.startswith("//")
        or "\\" in text
        or any(ord(c) < 32 or ord(c) == 127 for c in text)
    ):
        return fallback
    parts = urlsplit(text)
    if parts.scheme or parts.netloc:
        return fallback
    return text


FORWARDED_WARN_EVERY = 3600.0  # seconds between two warnings of one process
_forwarded_warned = [float("-inf")]


def _warn_forwarded_without_proxy_count() -> None:
    """A proxy forwards the client's address but web.proxy_count is 0: every client then shares the proxy's
    address for the rate limits and the login throttle (one stranger slows everyone). Logged, at most hourly."""
    if "X-Forwarded-For" in request.headers:
        now = time.monotonic()
        if now - _forwarded_warned[0] >= FORWARDED_WARN_EVERY or current_app.testing:
            _forwarded_warned[0] = now
            current_app.logger.warning(
                "a request came with X-Forwarded-For from %s but web.proxy_count is 0: the rate limits and the "
                "administrator's login throttle count every client as the proxy's address; behind a reverse proxy "
                "set web.proxy_count (KB_WEB_PROXY_COUNT) to the number of proxies",
                request.remote_addr,
            )


# --- wiring ---------------------------------------------------------------------------------------
def init_app(app: Flask) -> None:
    app.session_interface = _LazyKeySessionInterface()
    window = app.config["RATE_WINDOW"]
    app.extensions["kb_limiters"] = {
        "subscribe": RateLimiter(app.config["SUBSCRIBE_LIMIT"], window),
        "check": RateLimiter(app.config["CHECK_LIMIT"], window),
    }
    app.jinja_env.globals.update(csrf_field=csrf_field, csrf_token=csrf_token)
    app.before_request(check_size)
    app.before_request(check_csrf)
    if int(app.config.get("PROXY_COUNT") or 0) <= 0:
        app.before_request(_warn_forwarded_without_proxy_count)

    @app.after_request
    def headers(response):
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.path.startswith(NO_STORE_PREFIXES):
            response.headers["Cache-Control"] = "no-store"
        return response


__all__ = [
    "CSRF_FIELD",
    "CSRFError",
    "RateLimiter",
    "RateLimited",
    "csrf_exempt",
    "csrf_field",
    "csrf_token",
    "init_app",
    "rate_limited",
    "safe_next",
    "same_site_only",
]
