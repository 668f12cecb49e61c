"""Administration pages under /quan-tri/, behind a login: start a refresh, choose the sources, see and
end every subscription (docs/WEB.md, "Quản trị / Administration").

- **Login.** One administrator password, set on the server with `kb admin password`; only its hash is
  kept (<instance>/admin.json, web.admin_state). Without it, every page here says how to set one and nothing
  else can be reached. A login is remembered in Flask's signed session cookie (the key derived from the
  instance's secret, HttpOnly, SameSite=Lax, Secure over HTTPS) with the time of the login and the
  password's `epoch`: it lasts ADMIN_SESSION_HOURS, and a new password ends it. The session is cleared
  (a new CSRF token) on login and on logout (POST). Logins are throttled per client address and per
  account, across threads and worker processes, with a back-off that ends (web/throttle.py): each attempt
  is counted before its password is checked; a 429 says how long to wait.
- **Every route requires the login** (a `before_request` of the blueprint), but the login page and
  logout: a GET without it goes to the login page with `next` (a path of this site only), any other
  method gets 403. The app's CSRF check runs before, on every POST.
- **Refresh.** POST starts `kb refresh` for the instance as a separate process (its own session, so it
  outlives this one), never inside the web process; its output goes to <instance>/admin-refresh.log.
  `kb refresh` holds <instance>/refresh.lock: while it is held (whoever started it), no second one starts.
- **Sources** are `[sources] enabled` of <instance>/config.toml, rewritten atomically by
  `web.admin_state.set_enabled_sources` (the only line changed); `kb refresh` reads it at its next run.
- **Subscriptions**: all of them, and "Kết thúc" (kb.alerts.subscriptions.remove, ended_by="admin"), which
  first shows what will end and asks for confirmation (a second form, so it works without JavaScript).
"""

from __future__ import annotations

import datetime as dt
import hmac
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from flask import Blueprint, current_app, flash, g, make_response, redirect, render_template, request, session, url_for

from kb import config as kbconfig
from kb.alerts import subscriptions as subs
from kb.alerts.subscriptions import FREQUENCY_LABELS, STATUS_LABELS, SubscriptionError
from kb.dates import VN_TZ
from kb.errors import ConfigError
from kb.store import Store
from web import admin_state as kbadmin
from web.common import get_store
from web.security import RateLimited, csrf_token, safe_next
from web.throttle import LoginThrottle, Rule

bp = Blueprint("admin", __name__, url_prefix="/quan-tri")

SESSION_KEY = "admin"
ACCOUNT = "admin"  # the one administrator account (its failed logins are counted too)
OPEN_ENDPOINTS = {"admin.login", "admin.logout"}  # reachable without a login (logout only clears one's session)
REFRESH_CODE = "from kbcli.main import cli; cli(prog_name='kb')"
LOG_START, LOG_END = "=== kb refresh started", "=== kb refresh ended"
LOG_MAX_BYTES = 1_000_000  # the log is moved to admin-refresh.log.1 beyond this, when a refresh starts
LOG_TAIL_LINES = 60
KIND_LABELS = {subs.SEARCH: "Tìm kiếm", subs.DOCUMENT: "Văn bản", subs.DIGEST: "Bản tin tuần"}
NEED_LOGIN = "Cần đăng nhập quản trị để làm việc này. Hãy đăng nhập rồi làm lại."


def now() -> float:
    """The clock of the sessions (a test moves it)."""
    return time.time()


@dataclass
class AdminState:
    """What this process keeps: the failed-login counter and the refresh it started, if any."""

    failures: LoginThrottle
    lock: threading.Lock = field(default_factory=threading.Lock)
    child: subprocess.Popen | None = None

    def child_running(self) -> bool:
        return self.child is not None and self.child.poll() is None


@bp.record_once
def setup(state) -> None:
    app = state.app  # ADMIN_* are [web] settings (kb.config.SETTINGS)
    c = app.config
    window = float(c["ADMIN_LOGIN_WINDOW"])
    app.extensions["kb_admin"] = AdminState(
        LoginThrottle(
            Path(c["INSTANCE"]),
            address=Rule(
                int(c["ADMIN_LOGIN_LIMIT"]), float(c["ADMIN_LOGIN_BACKOFF"]), float(c["ADMIN_LOGIN_MAX_WAIT"]), window
            ),
            account=Rule(
                int(c["ADMIN_ACCOUNT_LIMIT"]),
                float(c["ADMIN_ACCOUNT_BACKOFF"]),
                float(c["ADMIN_ACCOUNT_MAX_WAIT"]),
                window,
            ),
        )
    )


def admin_state() -> AdminState:
    return current_app.extensions["kb_admin"]


def kb_config() -> kbconfig.Config:
    return current_app.extensions["kb_config"]


# --- the login ----------------------------------------------------------------------------------
def credentials() -> kbadmin.Credentials | None:
    """The administrator's password hash (None: none set, or its file is damaged: g.admin_problem says so)."""
    if "admin_creds" not in g:
        g.admin_problem = None
        try:
            g.admin_creds = kbadmin.load_credentials(kb_config())
        except kbadmin.AdminError as exc:
            current_app.logger.error("administration closed: %s", exc)
            g.admin_problem = str(exc)
            g.admin_creds = None
    return g.admin_creds


def logged_in() -> bool:
    creds = credentials()
    data = session.get(SESSION_KEY)
    if creds is None or not isinstance(data, dict):
        return False
    if not hmac.compare_digest(str(data.get("epoch", "")).encode(), creds.epoch.encode()):
        return False  # the password was changed since this login
    at = data.get("at")
    if not isinstance(at, (int, float)):
        return False
    age = now() - at
    return -60 <= age < current_app.config["ADMIN_SESSION_HOURS"] * 3600


@bp.before_request
def require_login():
    if request.endpoint in OPEN_ENDPOINTS or logged_in():
        return None
    expired = isinstance(session.get(SESSION_KEY), dict)
    session.pop(SESSION_KEY, None)
    if request.method in ("GET", "HEAD"):
        if expired and credentials() is not None:
            flash("Phiên đăng nhập quản trị đã hết hạn. Hãy đăng nhập lại.", "warn")
        return redirect(url_for("admin.login", next=request.full_path.rstrip("?")))
    return _refuse(403, NEED_LOGIN, "Cần đăng nhập")


@bp.after_request
def private(response):
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.context_processor
def admin_context() -> dict:
    return {"admin_logged_in": logged_in()}


def _refuse(status: int, message: str, title: str):
    return make_response(render_template("error.html", status=status, title=title, message=message), status)


def _client() -> str:
    return request.remote_addr or "?"


@bp.route("/dang-nhap", methods=["GET", "POST"])
def login():
    target = safe_next(request.values.get("next"), url_for("admin.dashboard"))
    creds = credentials()
    if creds is None:
        status = 200 if request.method == "GET" else 403
        return render_template("admin/login.html", closed=True, problem=g.admin_problem, next=target), status
    if request.method == "GET":
        if logged_in():
            return redirect(target)
        return render_template("admin/login.html", closed=False, next=target, error=None)
    throttle = admin_state().failures
    wait = throttle.attempt(_client(), ACCOUNT, now())  # counted before the password is checked
    if wait:
        raise RateLimited(wait, "đăng nhập sai")
    if not creds.verify(request.form.get("password", "")):
        current_app.logger.warning("administration: failed login from %s", _client())
        return render_template("admin/login.html", closed=False, next=target, error="Mật khẩu không đúng."), 403
    throttle.succeeded(_client(), ACCOUNT)
    session.clear()  # a new session: nothing of before the login is kept
    session[SESSION_KEY] = {"epoch": creds.epoch, "at": now()}
    csrf_token()
    current_app.logger.info("administration: login from %s", _client())
    return redirect(target)


@bp.post("/dang-xuat")
def logout():
    session.clear()
    flash("Đã đăng xuất khỏi trang quản trị.", "ok")
    return redirect(url_for("admin.login"))


# --- the dashboard and the refresh ----------------------------------------------------------------
def _store() -> Store | None:
    """The store, when the instance has one (the administration never creates it)."""
    return get_store() if Path(current_app.config["DB_PATH"]).exists() else None


def _fresh_config() -> kbconfig.Config:
    """The instance's configuration as `kb refresh` will read it (config.toml may have changed)."""
    return kbconfig.load(kb_config().instance)


@bp.errorhandler(ConfigError)
def config_error(exc: ConfigError):
    """config.toml was edited into something `kb refresh` would refuse: say what, to the administrator."""
    current_app.logger.error("configuration: %s", exc)
    message = f"Tệp cấu hình có lỗi, các lệnh kb sẽ dừng cho đến khi sửa: {exc}"
    return render_template("error.html", status=500, title="Tệp cấu hình có lỗi", message=message, back=None), 500


def refresh_state(config: kbconfig.Config) -> dict:
    pid = kbadmin.refresh_running(config)
    starting = pid is None and admin_state().child_running()
    return {
        "running": pid is not None or starting,
        "pid": pid or (admin_state().child.pid if starting else None),
        "starting": starting,
    }


def run_rows(store: Store | None, running: bool) -> list[dict]:
    rows = []
    for run in store.runs(current_app.config["ADMIN_RUNS"]) if store else []:
        counts = run.get("counts") or {}
        if run.get("finished"):
            outcome, css = ("Lỗi", "tag-warn") if run.get("error") else ("Xong", "tag-ok")
        elif running and not rows:
            outcome, css = "Đang chạy", "tag-muted"
        else:
            outcome, css = "Bị ngắt", "tag-warn"  # killed, or still running in another instance's lock
        rows.append({"run": run, "counts": counts, "outcome": outcome, "css": css})
    return rows


def log_tail(config: kbconfig.Config) -> list[str]:
    """The output of the last refresh started from these pages."""
    path = kbadmin.refresh_log_path(config)
    try:
        with open(path, "rb") as handle:
            handle.seek(max(0, path.stat().st_size - 200_000))
            lines = handle.read().decode("utf-8", "replace").splitlines()
    except FileNotFoundError:
        return []
    starts = [i for i, line in enumerate(lines) if line.startswith(LOG_START)]
    lines = lines[starts[-1] :] if starts else lines
    lines = [line.rsplit("\r", 1)[-1] for line in lines]
    return lines[-LOG_TAIL_LINES:]


def source_rows(config: kbconfig.Config, store: Store | None) -> list[dict]:
    enabled = list(config.get("sources", "enabled"))
    priority = list(config.get("sources", "priority"))
    last = kbadmin.last_runs(store) if store else {}
    rows = []
    for name, info in kbadmin.sources().items():
        settings = config.section(info.section)
        rows.append(
            {
                "name": name,
                "title": info.title,
                "enabled": name in enabled,
                "base_url": str(settings.get("base_url") or ""),
                "section": info.section,
                "problem": kbadmin.source_problem(config, name),
                "priority": priority.index(name) + 1 if name in priority else None,
                "last": last.get(name),
            }
        )
    return rows


@bp.get("/")
def dashboard():
    config = _fresh_config()
    store = _store()
    state = refresh_state(config)
    subscriptions = subs.list_subscriptions(store, include_ended=True) if store else []
    counts = {status: sum(1 for s in subscriptions if s.status == status) for status in STATUS_LABELS}
    unknown = [n for n in config.get("sources", "enabled") if n not in kbadmin.sources()]
    return render_template(
        "admin/dashboard.html",
        refresh=state,
        runs=run_rows(store, state["running"]),
        sources=source_rows(config, store),
        unknown_sources=unknown,
        log=log_tail(config),
        sub_counts=counts,
        status_labels=STATUS_LABELS,
        has_store=store is not None,
        overridden=kbadmin.sources_overridden(),
    )


def start_refresh(config: kbconfig.Config) -> subprocess.Popen:
    """`kb refresh` for this instance in a process of its own: its own session (a signal to this
    server does not reach it, and it outlives it), output appended to the log, reaped by a thread."""
    log = kbadmin.refresh_log_path(config)
    log.parent.mkdir(parents=True, exist_ok=True)
    try:
        if log.stat().st_size > LOG_MAX_BYTES:
            os.replace(log, log.with_name(log.name + ".1"))
    except FileNotFoundError:
        pass
    env = dict(os.environ, KB_INSTANCE=str(config.instance), PYTHONUNBUFFERED="1")
    started = dt.datetime.now(VN_TZ).strftime("%Y-%m-%d %H:%M:%S %z")
    with kbadmin.open_refresh_log(config) as handle:
        handle.write(f"{LOG_START} at {started} from the administration pages (client {_client()}) ===\n")
        handle.flush()
        child = subprocess.Popen(
            [sys.executable, "-c", REFRESH_CODE, "refresh"],
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            cwd=str(config.instance),
            env=env,
            start_new_session=True,
            close_fds=True,
        )

    def reap() -> None:
        status = child.wait()
        with kbadmin.open_refresh_log(config) as handle:
            ended = dt.datetime.now(VN_TZ).strftime("%Y-%m-%d %H:%M:%S %z")
            handle.write(f"{LOG_END} at {ended}: exit status {status} (process {child.pid}) ===\n")

    threading.Thread(target=reap, name="kb-refresh-reaper", daemon=True).start()
    return child


@bp.post("/cap-nhat")
def refresh():
    config = _fresh_config()
    state = admin_state()
    with state.lock:
        pid = kbadmin.refresh_running(config)
        if pid is not None or state.child_running():
            shown = pid or state.child.pid
            flash(
                f"Một lần cập nhật đang chạy (tiến trình {shown}); chưa bắt đầu lần mới. "
                "Đợi nó xong rồi bấm lại nếu cần.",
                "warn",
            )
            return redirect(url_for("admin.dashboard"))
        try:
            state.child = start_refresh(config)
        except OSError as exc:
            current_app.logger.error("administration: cannot start kb refresh: %s", exc)
            return _refuse(500, f"Không khởi động được lệnh cập nhật: {exc}", "Không khởi động được")
        current_app.logger.info("administration: kb refresh started (process %s) by %s", state.child.pid, _client())
    flash(
        f"Đã bắt đầu cập nhật từ các nguồn (tiến trình {state.child.pid}). Tải lại trang này để xem tiến độ; "
        "văn bản mới có thể tìm được ngay khi lệnh xong.",
        "ok",
    )
    return redirect(url_for("admin.dashboard"))


# --- sources --------------------------------------------------------------------------------------
@bp.route("/nguon", methods=["GET", "POST"])
def sources():
    config = _fresh_config()
    error, status = None, 200
    if request.method == "POST":
        chosen = request.form.getlist("source")
        try:
            path = kbadmin.set_enabled_sources(config, chosen)
        except kbadmin.AdminError as exc:
            error, status = str(exc), 400
        else:
            current_app.logger.info("administration: sources.enabled = %s (%s) by %s", chosen, path, _client())
            on = [n for n in kbadmin.sources() if n in chosen]
            flash(
                ("Đã lưu. Lần cập nhật sau sẽ lấy từ: " + ", ".join(on) + ".")
                if on
                else "Đã lưu. Không nguồn nào được bật: lệnh cập nhật sẽ không lấy gì.",
                "ok",
            )
            return redirect(url_for("admin.sources"))
    store = _store()
    unknown = [n for n in config.get("sources", "enabled") if n not in kbadmin.sources()]
    return render_template(
        "admin/sources.html",
        sources=source_rows(config, store),
        error=error,
        unknown_sources=unknown,
        overridden=kbadmin.sources_overridden(),
        config_path=str(config.instance / "config.toml"),
    ), status


# --- subscriptions --------------------------------------------------------------------------------
@bp.get("/theo-doi")
def subscriptions():
    store = _store()
    show_all = request.args.get("tat-ca") == "1"
    rows = subs.list_subscriptions(store, include_ended=show_all) if store else []
    rows.sort(key=lambda s: s.id, reverse=True)
    return render_template(
        "admin/subscriptions.html",
        rows=rows,
        show_all=show_all,
        kind_labels=KIND_LABELS,
        frequency_labels=FREQUENCY_LABELS,
    )


@bp.post("/theo-doi/ket-thuc")
def end_subscription():
    raw = request.form.get("id", "")
    if not raw.isdigit() or len(raw) > 18:
        return _refuse(400, "Thiếu hoặc sai số của mục theo dõi.", "Yêu cầu không hợp lệ")
    store = _store()
    if store is None:
        return _refuse(404, f"Không có mục theo dõi số {raw}.", "Không tìm thấy")
    before = subs.get(store, int(raw))
    if before is None:
        return _refuse(404, f"Không có mục theo dõi số {raw}.", "Không tìm thấy")
    back = "?tat-ca=1" if request.form.get("tat-ca") == "1" else ""
    if request.form.get("xac-nhan") != "1" and not before.ended_at:
        # the list's button asks first: a page saying what will end, with the button that ends it
        return render_template(
            "admin/end_subscription.html",
            sub=before,
            show_all=bool(back),
            kind_labels=KIND_LABELS,
            frequency_labels=FREQUENCY_LABELS,
        )
    try:
        sub = subs.remove(store, int(raw), by="admin")
    except SubscriptionError as exc:
        return _refuse(404, str(exc), "Không tìm thấy")
    if before is not None and before.ended_at:
        flash(f"Mục theo dõi số {sub.id} của {sub.email} đã kết thúc từ trước.", "ok")
    else:
        current_app.logger.info("administration: subscription %s (%s) ended by %s", sub.id, sub.email, _client())
        flash(f"Đã kết thúc mục theo dõi số {sub.id} của {sub.email}.", "ok")
    return redirect(url_for("admin.subscriptions") + back)


__all__ = ["bp", "logged_in", "start_refresh"]
