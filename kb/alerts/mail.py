"""Sending e-mail: building a multipart message (plain text and simple HTML) with the headers every
message of this system carries, and delivering it through SMTP (none, STARTTLS or SSL, with or
without login) or into a file outbox (a folder of .eml files, for offices without a mail server).

Settings ([smtp] and [mail] in config.toml, or KB_SMTP_HOST, KB_SMTP_PORT, KB_SMTP_SECURITY,
KB_SMTP_USER, KB_SMTP_PASSWORD, KB_MAIL_FROM, KB_MAIL_OUTBOX):

    with Mailer(config) as mailer:
        mailer.send(build_message(config, "a@b.vn", "Chủ đề", text, html, unsubscribe=url))

The words and markup of the messages come from templates (kb.alerts.render, autoescaped); this module
only puts the parts together and delivers them.
"""

from __future__ import annotations

import datetime as dt
import email.policy
import os
import secrets
import smtplib
import ssl
from dataclasses import dataclass
from email.header import Header
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from kb.config import Config
from kb.errors import ConfigError, KBError

SECURITY = ("none", "starttls", "ssl")
_POLICY = email.policy.default.clone(cte_type="7bit")  # base64 or quoted-printable bodies: any server takes them


class MailError(KBError):
    """A message could not be delivered (mail server unreachable, login refused, address refused)."""


@dataclass
class Settings:
    host: str
    port: int
    security: str
    user: str
    password: str
    sender: Address
    timeout: float
    outbox: Path | None
    ca_bundle: str = ""

    def tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_bundle or None)


def settings(config: Config) -> Settings:
    """The delivery settings, checked: ConfigError saying which setting is wrong."""
    smtp = config.section("smtp")
    mail = config.section("mail")
    security = str(smtp.get("security") or "").strip().lower()
    port = int(smtp.get("port") or 25)
    if not security:
        security = "starttls" if smtp.get("starttls") else "ssl" if port == 465 else "none"
    if security not in SECURITY:
        raise ConfigError(
            f"smtp.security (KB_SMTP_SECURITY) phải là một trong {', '.join(SECURITY)}, không phải {security!r}"
        )
    raw = str(mail.get("from") or smtp.get("sender") or "").strip()
    name, addr = parseaddr(raw)
    if not addr or "@" not in addr:
        raise ConfigError(f"mail.from (KB_MAIL_FROM) không phải là địa chỉ e-mail: {raw!r}")
    local, _, domain = addr.rpartition("@")
    sender = Address(display_name=name or str(config.get("site", "name")), username=local, domain=domain)
    outbox = str(mail.get("outbox") or "").strip()
    outbox_path = None
    if outbox:
        outbox_path = Path(outbox) if Path(outbox).is_absolute() else config.instance / outbox
    return Settings(
        host=str(smtp.get("host") or "localhost"),
        port=port,
        security=security,
        user=str(smtp.get("user") or ""),
        password=str(smtp.get("password") or ""),
        sender=sender,
        timeout=float(smtp.get("timeout") or 30),
        outbox=outbox_path,
        ca_bundle=str(smtp.get("ca_bundle") or ""),
    )


class _Encoded(str):
    """A header value that folds itself with email.header.Header: every space stays inside an RFC 2047
    encoded word. (Python 3.11's folder can leave the space between two words outside, as folding
    white space, which mail clients drop: "về học" would read "vềhọc".) Reads as the plain value."""

    def __new__(cls, name: str, value: str, text: str | None = None, suffix: str = ""):
        obj = super().__new__(cls, value)
        obj.name, obj._text, obj._suffix = name, value if text is None else text, suffix
        return obj

    def fold(self, *, policy) -> str:
        charset = "us-ascii" if self._text.isascii() else "utf-8"
        encoded = (
            Header(self._text, charset, header_name=self.name).encode(linesep=policy.linesep) if self._text else ""
        )
        return f"{self.name}: {encoded}{self._suffix}{policy.linesep}".replace(": " + " ", ": ", 1)


def build_message(
    config: Config,
    to: str,
    subject: str,
    text: str,
    html_body: str | None = None,
    unsubscribe: str | None = None,
    now: dt.datetime | None = None,
) -> EmailMessage:
    """A message from the configured sender to one address: plain text, and HTML as an alternative.

    `unsubscribe` (a URL) becomes the List-Unsubscribe header with the RFC 8058 one-click POST."""
    conf = settings(config)
    msg = EmailMessage(policy=_POLICY)
    name, addr = conf.sender.display_name, conf.sender.addr_spec
    if name.isascii():
        msg["From"] = _Encoded("From", formataddr((name, addr)))  # quoted when it holds a comma
    else:
        msg["From"] = _Encoded("From", f"{name} <{addr}>", name, f" <{addr}>")
    msg["To"] = to
    msg["Subject"] = _Encoded("Subject", " ".join(subject.split()))
    msg["Date"] = format_datetime((now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC))
    domain = urlsplit(str(config.get("site", "url"))).hostname or conf.sender.domain
    msg["Message-ID"] = f"<{secrets.token_hex(12)}@{domain}>"  # short: never folded onto a second line
    msg["Auto-Submitted"] = "auto-generated"  # no out-of-office replies, please (RFC 3834)
    msg["X-Auto-Response-Suppress"] = "All"
    if unsubscribe:
        msg["List-Unsubscribe"] = f"<{unsubscribe}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg.set_content(text, charset="utf-8")
    if html_body is not None:
        msg.add_alternative(html_body, subtype="html", charset="utf-8")
    return msg


class Mailer:
    """Delivers messages through one SMTP connection (opened on the first message), or into the outbox.

    Use as a context manager, or call close(). `sent` counts the messages delivered."""

    def __init__(self, config: Config):
        self.settings = settings(config)
        self._smtp: smtplib.SMTP | None = None
        self.sent = 0

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def destination(self) -> str:
        s = self.settings
        return f"outbox {s.outbox}" if s.outbox else f"{s.host}:{s.port} ({s.security})"

    def send(self, msg: EmailMessage) -> None:
        """Deliver one message to its To address; MailError when it cannot be delivered."""
        if self.settings.outbox:
            self._to_outbox(msg)
        else:
            try:
                self._connection().send_message(msg)
            except smtplib.SMTPServerDisconnected:
                self._smtp = None  # the server closed an idle connection: one new attempt
                self._send_smtp_once(msg)
            except smtplib.SMTPRecipientsRefused as exc:
                raise MailError(f"máy chủ thư từ chối địa chỉ {', '.join(exc.recipients)}") from None
            except (smtplib.SMTPException, OSError) as exc:
                self._drop()
                raise MailError(f"không gửi được thư qua {self.destination}: {_reason(exc)}") from None
        self.sent += 1

    def _send_smtp_once(self, msg: EmailMessage) -> None:
        try:
            self._connection().send_message(msg)
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise MailError(f"không gửi được thư qua {self.destination}: {_reason(exc)}") from None

    def _connection(self) -> smtplib.SMTP:
        if self._smtp is not None:
            return self._smtp
        s = self.settings
        try:
            if s.security == "ssl":
                smtp = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=s.tls_context())
            else:
                smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
                if s.security == "starttls":
                    smtp.starttls(context=s.tls_context())
            if s.user:
                smtp.login(s.user, s.password)
        except smtplib.SMTPAuthenticationError:
            raise MailError(
                f"máy chủ thư {s.host}:{s.port} từ chối đăng nhập của {s.user!r} (kiểm tra smtp.user và smtp.password)"
            ) from None
        except (smtplib.SMTPException, OSError) as exc:
            raise MailError(f"không kết nối được máy chủ thư {self.destination}: {_reason(exc)}") from None
        self._smtp = smtp
        return smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def _to_outbox(self, msg: EmailMessage) -> None:
        folder = self.settings.outbox
        try:
            folder.mkdir(parents=True, exist_ok=True)
            stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
            to = "".join(c if c.isalnum() or c in "@.-" else "_" for c in str(msg["To"]))[:80]
            name = f"{stamp}-{to}-{secrets.token_hex(3)}.eml"
            tmp = folder / f".{name}.part"
            tmp.write_bytes(bytes(msg))
            os.replace(tmp, folder / name)  # a reader of the outbox never sees half a message
        except OSError as exc:
            raise MailError(f"không ghi được vào thư mục thư đi {folder}: {exc.strerror or exc}") from None

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                pass
            self._smtp = None


def _reason(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        message = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
        return f"{exc.smtp_code} {message}"
    return str(exc) or type(exc).__name__
