"""The e-mails' words and markup: a Jinja environment over kb/alerts/templates (autoescape on for
.html), and `render_message`, which renders a message's paired templates — `<name>_subject.txt`,
`<name>_email.txt`, `<name>_email.html` — into a multipart message.

The web's digest page includes the same digest partial (`_digest_sections.html`) as the e-mail: its
blueprint adds TEMPLATES to its template folders. In a message the partial is rendered with `mail`
true (inline styles, absolute links); on the page with `mail` false (the site's classes and badges).
"""

from __future__ import annotations

import datetime as dt
import functools
from email.message import EmailMessage
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from kb.alerts.mail import build_message
from kb.config import Config
from kb.dates import vn_date
from kb.text import thousands

TEMPLATES = Path(__file__).with_name("templates")

# Inline styles of the messages (mail clients ignore style sheets).
STYLES = {
    "link": "color:#0b4f8a;",
    "muted": "color:#666666;font-size:13px;",
    "h1": "font-size:20px;margin:0 0 12px 0;",
    "h1_digest": "font-size:21px;margin:0 0 4px 0;",
    "h2": "font-size:17px;margin:22px 0 6px 0;border-bottom:2px solid #0b4f8a;",
    "h2_alert": "font-size:17px;margin:20px 0 4px 0;border-bottom:2px solid #0b4f8a;",
    "h3": "font-size:15px;margin:12px 0 4px 0;",
    "h4": "font-size:14px;margin:8px 0 2px 0;color:#444444;",
    "list": "margin:4px 0 8px 0;padding-left:20px;",
    "item": "margin:6px 0;",
    "meta": "color:#666666;font-size:13px;margin:0;",
    "note": "margin:0;",
    "assignment": "margin:8px 0 12px 0;",
    "provision": "margin:0;",
    "quote": "margin:4px 0 0 0;padding:4px 10px;border-left:3px solid #0b4f8a;background:#f3f6fa;",
    "rule": "border:none;border-top:1px solid #dddddd;margin:20px 0 8px 0;",
    "update": "margin:10px 0;padding:8px 0 0 0;border-top:1px solid #dddddd;",
    "changes": "margin:4px 0 0 0;padding-left:20px;",
    "change": "margin:2px 0;",
    "diff": "font-size:14px;white-space:pre-wrap;margin:4px 0;",
    "removed": "background:#fdecea;color:#8a1c1c;padding:1px 4px;",
    "added": "background:#e6f4ea;color:#14532d;padding:1px 4px;",
    "actions": "font-size:14px;margin:8px 0 0 0;",
}


def shorten(text, width: int = 160) -> str:
    """`text` on one line, cut to `width` characters with "…"."""
    text = " ".join(str(text or "").split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def capitalise(text: str) -> str:
    """The first letter upper-cased, the rest kept ("khoản 2 Điều 5" -> "Khoản 2 Điều 5")."""
    return text[:1].upper() + text[1:]


FILTERS = {"vn_date": vn_date, "shorten": shorten, "capitalise": capitalise, "number_format": thousands}


@functools.cache
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=StrictUndefined,
    )
    env.filters.update(FILTERS)
    env.globals.update(styles=STYLES, mail=True)
    return env


def render(name: str, **context) -> str:
    return environment().get_template(name).render(**context)


def render_message(
    config: Config,
    to: str,
    name: str,
    context: dict,
    unsubscribe: str | None = None,
    now: dt.datetime | None = None,
) -> EmailMessage:
    """The message `name` (alert, confirmation, digest) to one address, from its three templates."""
    context = {"site_name": str(config.get("site", "name")), "to": to, **context}
    subject = " ".join(render(f"{name}_subject.txt", **context).split())
    text = render(f"{name}_email.txt", subject=subject, **context)
    html = render(f"{name}_email.html", subject=subject, **context)
    return build_message(config, to, subject, text, html, unsubscribe=unsubscribe, now=now)
