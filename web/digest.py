"""The weekly "Văn bản mới" digest as a page, one per ISO week (/van-ban-moi/tuan/2026-W10): the same
digest `kb digest` mails (kb.alerts.digest.digest_for), its sections rendered by the same partial as the
e-mail (kb/alerts/templates/_digest_sections.html, a template folder of this blueprint), and a form to
receive it by e-mail every week."""

from __future__ import annotations

import datetime as dt
import threading

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from kb.alerts.digest import Digest, DigestError, digest_for, last_week, parse_week
from kb.alerts.links import Links
from kb.alerts.render import FILTERS, TEMPLATES
from kb.dates import VN_TZ, iso_week
from web.common import first_run_page, get_store, instance_state

bp = Blueprint("digest", __name__, template_folder=str(TEMPLATES))  # the digest partial shared with the e-mail

_CACHE_SIZE = 16
_cache: dict[tuple, Digest] = {}
_cache_lock = threading.Lock()


def today() -> dt.date:
    return dt.datetime.now(VN_TZ).date()


def cached_digest(week: str, day: dt.date) -> Digest:
    """digest_for, kept until the store changes (it reads every document's dates)."""
    store = get_store()
    key = (current_app.config["DB_PATH"], week, day, store.last_event_id())
    with _cache_lock:
        if key in _cache:
            return _cache[key]
    digest = digest_for(store, current_app.extensions["kb_config"], week, today=day)
    with _cache_lock:
        while len(_cache) >= _CACHE_SIZE:
            _cache.pop(next(iter(_cache)))
        _cache[key] = digest
    return digest


@bp.record_once
def _filters(state) -> None:
    """The partial's filters that the site does not define itself (shorten, capitalise)."""
    for name, function in FILTERS.items():
        state.app.jinja_env.filters.setdefault(name, function)


@bp.route("/van-ban-moi/tuan")
def latest():
    """The digest of the last complete week."""
    return redirect(url_for("digest.week", week=last_week(today())))


@bp.route("/van-ban-moi/tuan/<week>")
def week(week: str):
    if instance_state() == "empty":
        return first_run_page()
    day = today()
    try:
        try:
            start, _ = parse_week(week)
        except (OverflowError, ValueError):  # year 9999: its Sunday is past the last date
            raise DigestError(f"Tuần “{week}” chưa bắt đầu (hôm nay là {day.strftime('%d/%m/%Y')}).") from None
        canonical = iso_week(start)
        if week != canonical:
            return redirect(url_for("digest.week", week=canonical), 301)
        digest = cached_digest(canonical, day)
    except DigestError as exc:
        return render_template(
            "error.html", status=404, title="Không có bản tin của tuần này", message=str(exc), back=None
        ), 404
    previous = iso_week(start - dt.timedelta(days=7))
    following = start + dt.timedelta(days=7)
    return render_template(
        "digest.html",
        digest=digest,
        links=Links(current_app.extensions["kb_config"], base=request.script_root),
        mail=False,
        delegations_url=url_for("delegations.page"),
        previous_url=url_for("digest.week", week=previous),
        next_url=url_for("digest.week", week=iso_week(following)) if following <= day else None,
        latest_url=url_for("digest.latest"),
    )
