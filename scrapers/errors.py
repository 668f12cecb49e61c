"""The scrapers' exceptions. Every one derives from ScraperError (itself a kb KBError), so the CLI
turns it into one short line. "Unchanged", "not relevant" and "skipped" are return values, not errors.

- FetchError: the network or the server failed (after the retries); names the method, URL and status.
- BadResponse: a response arrived but its body is unusable (truncated JSON, an HTML error page
  where JSON was expected). For one document this fails that document only.
- LayoutChanged: the source no longer looks the way the parser knows (a field or a selector is
  missing). It stops the whole source, naming the source, the field or selector and the URL.
"""

from __future__ import annotations

from kb.errors import KBError


class ScraperError(KBError):
    """Base of every error raised by the scrapers package."""


class FetchError(ScraperError):
    """A request failed: connection error, timeout, or an HTTP error status after the retries."""

    def __init__(self, message: str, url: str, status: int | None = None):
        super().__init__(message)
        self.url = url
        self.status = status


class RobotsDisallowed(FetchError):
    """robots.txt of an HTML site does not allow our User-Agent to fetch this URL."""


class BadResponse(ScraperError):
    """A response body that cannot be used: not JSON, truncated, an error page."""

    def __init__(self, message: str, url: str):
        super().__init__(message)
        self.url = url


class LayoutChanged(ScraperError):
    """The source's page or JSON no longer has a field or element the parser needs."""

    def __init__(self, source: str, what: str, url: str, detail: str = ""):
        self.source, self.what, self.url = source, what, url
        message = f"{source}: trang nguồn đã đổi cấu trúc: không thấy {what} ở {url}"
        if detail:
            message += f" ({detail})"
        super().__init__(message)
