"""E-mail alerts in the web UI (docs/ALERTS.md, "For the web UI"): the "Theo dõi tìm kiếm này",
"Theo dõi văn bản" and digest subscription forms, and the pages the e-mails link to — confirm,
one-click unsubscribe (RFC 8058), and the list of one's subscriptions.

Links act on POST only (mail scanners fetch every link with GET); the signed token in the URL is the
authorisation, no login. A new subscription's confirmation e-mail is sent at once, in a thread the
page waits for up to CONFIRM_MAIL_WAIT seconds; if the mail server cannot be reached, the next
`kb alerts run` sends it (the subscription stays "not asked yet").
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    url_for,
)

from index.errors import QueryError
from index.matching import read_query
from kb.alerts import subscriptions as subs
from kb.alerts.delivery import send_confirmations
from kb.alerts.links import Links
from kb.alerts.mail import Mailer
from kb.alerts.subscriptions import (
    FREQUENCIES,
    FREQUENCY_LABELS,
    PENDING,
    Subscribed,
    Subscription,
    SubscriptionError,
    TokenError,
)
from kb.alerts.tokens import read_token
from kb.errors import KBError
from kb.store import Store
from web import documents
from web.common import first_run_page, get_store, instance_state
from web.search import run_search, search_refusal
from web.security import csrf_exempt, rate_limited, safe_next
from web.state import clean, read_state

bp = Blueprint("alerts", __name__)

MAX_EMAIL = 320
_mail_lock = threading.Lock()  # one confirmation mailing at a time: two quick requests send one message


def kb_config():
    return current_app.extensions["kb_config"]


def form_values() -> dict:
    """What the person typed (kept to show the form again after a refusal)."""
    frequency = request.form.get("frequency") or subs.DEFAULT_FREQUENCY
    return {
        "email": clean(request.form.get("email", "")).strip()[:MAX_EMAIL],
        "label": " ".join(clean(request.form.get("label", "")).split())[: subs.MAX_LABEL + 50],
        "frequency": frequency[:20],
    }


@bp.app_context_processor
def follow_context() -> dict:
    """What every subscription form needs (the forms sit on search, document and digest pages)."""
    return {"frequencies": [(f, FREQUENCY_LABELS[f]) for f in FREQUENCIES], "default_frequency": subs.DEFAULT_FREQUENCY}


# --- sending the confirmation ------------------------------------------------------------------
def send_confirmation(email: str) -> str:
    """Mail the pending confirmation of `email` now. 'sent'; 'earlier' (asked less than
    alerts.confirm_resend_hours ago: nothing sent, the next message will list this subscription too); 'sending' (still going after CONFIRM_MAIL_WAIT seconds); 'later' (the mail server or
    the mail settings failed: `kb alerts run` sends it)."""
    app = current_app._get_current_object()
    config = kb_config()
    outcome: dict = {}

    def work() -> None:
        try:
            with (
                _mail_lock,
                Store(app.config["DB_PATH"], app.config["SOURCE_PRIORITY"]) as store,
                Mailer(config) as mailer,
            ):
                report = send_confirmations(store, config, mailer, email=email)
            outcome["errors"] = list(report.errors)
            outcome["sent"] = len(report.confirmations)
        except KBError as exc:  # ConfigError (mail settings), StoreError
            outcome["errors"] = [str(exc)]
        except Exception as exc:  # never lose the page over a mail problem
            app.logger.exception("confirmation mail to %s", email)
            outcome["errors"] = [f"{type(exc).__name__}: {exc}"]

    thread = threading.Thread(target=work, name="kb-confirmation-mail", daemon=True)
    thread.start()
    thread.join(float(app.config["CONFIRM_MAIL_WAIT"]))
    if thread.is_alive():
        return "sending"
    if outcome.get("errors"):
        app.logger.warning(
            "confirmation mail not sent now (kb alerts run will retry): %s", "; ".join(outcome["errors"])
        )
        return "later"
    return "sent" if outcome.get("sent") else "earlier"


def _done(result: Subscribed, back_url: str, back_label: str):
    sub = result.subscription
    mail = send_confirmation(sub.email) if sub.status == PENDING else None
    if mail == "earlier" and not sub.confirm_sent_at:
        fresh = subs.get(get_store(), sub.id)
        if fresh is not None and not fresh.confirm_sent_at:
            mail = "queued"  # the address was asked a moment ago: this one is in its next message
    return render_template(
        "alerts/subscribed.html",
        result=result,
        sub=sub,
        mail=mail,
        back_url=back_url,
        back_label=back_label,
        frequency_label=FREQUENCY_LABELS.get(sub.frequency, sub.frequency),
        confirm_days=int(kb_config().get("alerts", "confirm_days")),
        asked_at=sub.confirm_sent_at,
        resend_hours=f"{float(kb_config().get('alerts', 'confirm_resend_hours')):g}".replace(".", ","),
    )


# --- "Theo dõi tìm kiếm này" -----------------------------------------------------------------------
@bp.route("/theo-doi/tim-kiem", methods=["GET", "POST"])
@rate_limited("subscribe")
def follow_search():
    """The search of the query string (q, filters, tu, den) as an alert: GET shows the form, POST subscribes."""
    if instance_state() == "empty":
        return first_run_page()
    state = read_state(request.args, strict=False, per_page=1)
    search_args = state.args(sort="relevance", unit="document").to_dict(flat=False)
    back_url = url_for("search.results", **search_args)
    refusal = search_refusal(state)
    values = form_values() if request.method == "POST" else {}
    error, status = None, 200
    if request.method == "POST":
        try:
            result = subs.subscribe_search(
                get_store(),
                kb_config(),
                values["email"],
                state.query_text(),
                state.filters,
                read_query=read_query,
                label=values["label"],
                frequency=values["frequency"],
            )
        except (SubscriptionError, QueryError) as exc:
            error, status = str(exc), 400
        else:
            return _done(result, back_url, "Quay lại kết quả tìm kiếm")
    total = None
    if refusal is None and instance_state() == "ready":
        try:
            total = run_search(state, per_page=1, facets=False, snippets=False).total
        except QueryError:
            total = None
    return render_template(
        "alerts/follow.html",
        kind="search",
        state=state,
        refusal=refusal,
        error=error,
        values=values,
        total=total,
        back_url=back_url,
        action=url_for("alerts.follow_search", **search_args),
    ), status


# --- "Theo dõi văn bản" ----------------------------------------------------------------------------
@bp.route("/theo-doi/van-ban/<path:uid>", methods=["GET", "POST"])
@rate_limited("subscribe")
def follow_document(uid: str):
    store, doc = documents.load(uid)
    values = form_values() if request.method == "POST" else {}
    error, status = None, 200
    back_url = url_for("documents.show", uid=doc.uid)
    if request.method == "POST":
        try:
            result = subs.follow_document(
                store, kb_config(), values["email"], doc.uid, label=values["label"], frequency=values["frequency"]
            )
        except SubscriptionError as exc:
            error, status = str(exc), 400
        else:
            return _done(result, back_url, "Quay lại văn bản")
    return render_template(
        "alerts/follow.html",
        kind="document",
        doc=doc,
        error=error,
        values=values,
        refusal=None,
        back_url=back_url,
        action=url_for("alerts.follow_document", uid=doc.uid),
    ), status


# --- the weekly digest ---------------------------------------------------------------------------
@bp.route("/theo-doi/ban-tin", methods=["GET", "POST"])
@rate_limited("subscribe")
def follow_digest():
    if instance_state() == "empty":
        return first_run_page()
    values = form_values() if request.method == "POST" else {}
    error, status = None, 200
    back_url = url_for("digest.latest")
    if request.method == "POST":
        try:
            result = subs.subscribe_digest(get_store(), kb_config(), values["email"])
        except SubscriptionError as exc:
            error, status = str(exc), 400
        else:
            return _done(result, back_url, "Xem bản tin tuần trước")
    return render_template(
        "alerts/follow.html",
        kind="digest",
        error=error,
        values=values,
        refusal=None,
        back_url=back_url,
        action=url_for("alerts.follow_digest"),
    ), status


# --- the links in the e-mails --------------------------------------------------------------------
_TOKEN = re.compile(r"\.?[A-Za-z0-9_-]{1,2000}\.[A-Za-z0-9_-]{1,200}")  # itsdangerous: a leading "." if compressed


def checked_token(token: str, action: str) -> str:
    """The token when it is made of the characters a token has; else the library's TokenError for an
    invalid link (no text that is not a token reaches the token reader)."""
    if not _TOKEN.fullmatch(token or ""):
        read_token(kb_config(), "", action)  # raises TokenError("Liên kết không hợp lệ: …")
    return token


def _token_error(exc: TokenError, token: str, action: str):
    """400 for a forged or damaged link, 410 for an expired one."""
    expired = False
    if _TOKEN.fullmatch(token or ""):
        try:
            read_token(kb_config(), token, action, at=dt.datetime(2000, 1, 1, tzinfo=dt.UTC))
            expired = True
        except TokenError:
            pass
    status = 410 if expired else 400
    return render_template("alerts/link_error.html", message=str(exc), expired=expired, status=status), status


def _store_for_links():
    """The store, or 404 on an instance without one (a link cannot belong to it)."""
    if instance_state() == "empty":
        abort(404)
    return get_store()


def _path(url: str) -> str:
    """The path of a link built from site.url, to use on this site whatever its address."""
    return urlsplit(url).path


def _links(sub: Subscription) -> dict:
    out = {"unsubscribe": _path(Links(kb_config()).unsubscribe(sub)), "target": None}
    if sub.kind == subs.SEARCH:
        args: dict[str, list[str]] = {}
        for name, value in sub.search_args():
            args.setdefault(name, []).append(value)
        out["target"] = url_for("search.results", **args)
    elif sub.kind == subs.DOCUMENT and sub.uid:
        out["target"] = url_for("documents.show", uid=sub.uid)
    else:
        out["target"] = url_for("digest.latest")
    return out


@bp.route("/theo-doi/xac-nhan/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """GET: what the link confirms, and a "Xác nhận" button; POST: confirm it."""
    store = _store_for_links()
    config = kb_config()
    try:
        checked_token(token, "confirm")
        if request.method == "POST":
            sub = subs.confirm(store, config, token)
            return render_template(
                "alerts/confirmed.html",
                sub=sub,
                links=_links(sub),
                manage=_path(Links(config).manage(sub.email)),
                frequency_label=FREQUENCY_LABELS.get(sub.frequency, sub.frequency),
            )
        payload = read_token(config, token, "confirm")
    except TokenError as exc:
        return _token_error(exc, token, "confirm")
    except SubscriptionError as exc:  # ended meanwhile
        return render_template("alerts/link_error.html", message=str(exc), expired=False, status=410), 410
    sub = subs.get(store, payload["s"])
    if sub is None or sub.email != payload["e"]:
        return render_template(
            "alerts/link_error.html", message="Liên kết không còn ứng với mục theo dõi nào.", expired=False, status=404
        ), 404
    return render_template(
        "alerts/confirm.html",
        sub=sub,
        links=_links(sub),
        manage=_path(Links(config).manage(sub.email)),
        frequency_label=FREQUENCY_LABELS.get(sub.frequency, sub.frequency),
    )


@bp.route("/theo-doi/huy/<token>", methods=["GET", "POST"])
@csrf_exempt  # RFC 8058: the mail client posts "List-Unsubscribe=One-Click" with no cookie; the token is the proof
def unsubscribe(token: str):
    """GET: what would end, and a "Hủy theo dõi" button; POST (the button, or a mail client's one-click
    request): end it. Ending what has ended already is no error."""
    store = _store_for_links()
    config = kb_config()
    try:
        payload = read_token(config, checked_token(token, "unsubscribe"), "unsubscribe")
        if request.method == "POST":
            ended = subs.unsubscribe(store, config, token)
            target = safe_next(request.form.get("next"), "")
            if target:
                flash(
                    ("Đã hủy theo dõi: " + "; ".join(s.name for s in ended))
                    if ended
                    else "Mục này đã được hủy từ trước."
                )
                return redirect(target, 303)
            return render_template(
                "alerts/unsubscribed.html",
                ended=ended,
                email=payload["e"],
                manage=_path(Links(config).manage(payload["e"])),
            )
        email, targets = subs.unsubscribe_preview(store, config, token)
    except TokenError as exc:
        return _token_error(exc, token, "unsubscribe")
    active = [s for s in targets if not s.ended_at]
    return render_template(
        "alerts/unsubscribe.html",
        email=email,
        targets=active,
        every=not payload["s"],
        manage=_path(Links(config).manage(email)),
    )


@bp.route("/theo-doi/cua-toi/<token>")
def manage(token: str):
    """One's subscriptions (pending and active), each with a "Hủy" button."""
    store = _store_for_links()
    config = kb_config()
    try:
        email, items = subs.token_subscriptions(store, config, checked_token(token, "manage"))
    except TokenError as exc:
        return _token_error(exc, token, "manage")
    rows = [{"sub": s, "links": _links(s), "frequency": FREQUENCY_LABELS.get(s.frequency, s.frequency)} for s in items]
    return render_template(
        "alerts/manage.html",
        email=email,
        rows=rows,
        messages=get_flashed_messages(),
        unsubscribe_all=_path(Links(config).unsubscribe_all(email)),
    )
