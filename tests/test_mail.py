"""Sending mail through a real SMTP server started on a local port (aiosmtpd): headers, both parts,
Vietnamese subjects, login, STARTTLS, the file outbox, and failures that say what went wrong.

The `smtp` fixture and `mail_config` are also used by the alert and digest tests."""

from __future__ import annotations

import email
import email.policy
import shutil
import socket
import subprocess
from email.header import decode_header, make_header
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from kb import config as kbconfig
from kb.alerts.mail import Mailer, MailError, build_message, settings
from kb.errors import ConfigError

SITE = "https://vanban.laichau.example"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """What the local SMTP server received: [(envelope sender, recipients, parsed message)]."""

    def __init__(self):
        self.received: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.raw: list[bytes] = []
        self.port = 0

    async def handle_DATA(self, server, session, envelope):
        self.raw.append(envelope.content)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return [m for _, _, m in self.received]

    def to(self, address: str) -> list[email.message.EmailMessage]:
        return [m for _, rcpt, m in self.received if address in rcpt]

    def clear(self) -> None:
        self.received.clear()
        self.raw.clear()


@pytest.fixture
def smtp():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    inbox.port = controller.port
    yield inbox
    controller.stop()


def mail_config(folder: Path, port: int | None, **env: str) -> kbconfig.Config:
    """A configuration for tests: the instance `folder`, SMTP on 127.0.0.1:`port`, a real-looking site."""
    environ = {
        "KB_SITE_URL": SITE,
        "KB_MAIL_FROM": "Văn phòng HĐND tỉnh <vanban@laichau.example>",
        "KB_SMTP_HOST": "127.0.0.1",
        "KB_SMTP_PORT": str(port or 25),
        "KB_SMTP_TIMEOUT": "5",
        "KB_PROVINCE_NAME": "Lai Châu",
    }
    environ.update(env)
    return kbconfig.load(folder, environ=environ)


def text_part(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def html_part(msg) -> str:
    return msg.get_body(("html",)).get_content()


def test_message_headers_parts_and_vietnamese_subject(tmp_path, smtp):
    config = mail_config(tmp_path, smtp.port)
    msg = build_message(
        config,
        "ban.vhxh@laichau.example",
        "Thông báo theo dõi: Nghị quyết về học phí",
        "Nội dung thư",
        '<!DOCTYPE html>\n<html lang="vi"><body><p>Nội dung thư</p></body></html>\n',
        unsubscribe=f"{SITE}/theo-doi/huy/abc.def",
    )
    with Mailer(config) as mailer:
        mailer.send(msg)
        assert mailer.sent == 1
    ((sender, rcpt, got),) = smtp.received
    assert sender == "vanban@laichau.example" and rcpt == ["ban.vhxh@laichau.example"]
    smtp.raw[0].decode("ascii")  # 7-bit clean: any server takes it
    raw_subject = email.message_from_bytes(smtp.raw[0], policy=email.policy.compat32)["Subject"]
    assert raw_subject.lower().startswith("=?utf-8?")  # encoded on the wire (RFC 2047) …
    assert str(make_header(decode_header(raw_subject))) == "Thông báo theo dõi: Nghị quyết về học phí"
    assert got["Subject"] == "Thông báo theo dõi: Nghị quyết về học phí"  # … and read back intact
    assert got["From"].addresses[0].display_name == "Văn phòng HĐND tỉnh"
    assert got["List-Unsubscribe"] == f"<{SITE}/theo-doi/huy/abc.def>"
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert got["Auto-Submitted"] == "auto-generated"
    assert got["Message-ID"].endswith("@vanban.laichau.example>")
    assert got.get_content_type() == "multipart/alternative"
    assert text_part(got).strip() == "Nội dung thư"
    assert "<p>Nội dung thư</p>" in html_part(got)


def test_one_connection_for_many_messages_and_reconnect(tmp_path, smtp):
    config = mail_config(tmp_path, smtp.port)
    with Mailer(config) as mailer:
        for n in range(3):
            mailer.send(build_message(config, f"a{n}@laichau.example", "Thư", "x"))
        mailer._smtp.close()  # the server dropped the idle connection
        mailer.send(build_message(config, "b@laichau.example", "Thư", "x"))
    assert [r for _, r, _ in smtp.received] == [
        ["a0@laichau.example"],
        ["a1@laichau.example"],
        ["a2@laichau.example"],
        ["b@laichau.example"],
    ]


def test_login(tmp_path):
    inbox = Inbox()
    seen = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        seen.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"dung-mat-khau", handled=False)

    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        authenticator=authenticator,
        auth_require_tls=False,
        auth_required=True,
    )
    controller.start()
    try:
        good = mail_config(tmp_path, controller.port, KB_SMTP_USER="vanban", KB_SMTP_PASSWORD="dung-mat-khau")
        with Mailer(good) as mailer:
            mailer.send(build_message(good, "a@laichau.example", "Thư", "x"))
        assert len(inbox.received) == 1 and seen[-1] == (b"vanban", b"dung-mat-khau")
        bad = mail_config(tmp_path, controller.port, KB_SMTP_USER="vanban", KB_SMTP_PASSWORD="sai")
        with pytest.raises(MailError, match="từ chối đăng nhập của 'vanban'"):
            Mailer(bad).send(build_message(bad, "a@laichau.example", "Thư", "x"))
        assert len(inbox.received) == 1
    finally:
        controller.stop()


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl is needed to make a test certificate")
def test_starttls_with_an_internal_ca(tmp_path):
    import ssl

    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=context, require_starttls=True)
    controller.start()
    try:
        trusted = mail_config(
            tmp_path,
            controller.port,
            KB_SMTP_HOST="localhost",
            KB_SMTP_SECURITY="starttls",
            KB_SMTP_CA_BUNDLE=str(cert),
        )
        with Mailer(trusted) as mailer:
            mailer.send(build_message(trusted, "a@laichau.example", "Thư", "x"))
        assert len(inbox.received) == 1
        untrusted = mail_config(tmp_path, controller.port, KB_SMTP_HOST="localhost", KB_SMTP_SECURITY="starttls")
        with pytest.raises(MailError, match="CERTIFICATE_VERIFY_FAILED|certificate verify failed"):
            Mailer(untrusted).send(build_message(untrusted, "a@laichau.example", "Thư", "x"))
        plain = mail_config(tmp_path, controller.port, KB_SMTP_HOST="localhost", KB_SMTP_SECURITY="none")
        with pytest.raises(MailError, match="STARTTLS"):  # the server insists on TLS
            Mailer(plain).send(build_message(plain, "a@laichau.example", "Thư", "x"))
        assert len(inbox.received) == 1
    finally:
        controller.stop()


def test_outbox_folder_instead_of_smtp(tmp_path):
    config = mail_config(tmp_path, None, KB_MAIL_OUTBOX="outbox")
    with Mailer(config) as mailer:
        mailer.send(build_message(config, "a@laichau.example", "Văn bản mới – tuần 10/2026", "Nội dung", "<p>x</p>"))
    files = list((tmp_path / "outbox").iterdir())
    assert len(files) == 1 and files[0].suffix == ".eml" and "a@laichau.example" in files[0].name
    got = email.message_from_bytes(files[0].read_bytes(), policy=email.policy.default)
    assert got["Subject"] == "Văn bản mới – tuần 10/2026" and text_part(got).strip() == "Nội dung"


def test_unreachable_server_and_bad_settings_are_clear_errors(tmp_path):
    config = mail_config(tmp_path, free_port())  # nothing listens there
    with pytest.raises(MailError, match=r"không kết nối được máy chủ thư 127\.0\.0\.1:\d+ \(none\)"):
        Mailer(config).send(build_message(config, "a@laichau.example", "Thư", "x"))
    with pytest.raises(ConfigError, match="KB_SMTP_SECURITY"):
        settings(mail_config(tmp_path, 25, KB_SMTP_SECURITY="tls1.3"))
    with pytest.raises(ConfigError, match="KB_MAIL_FROM"):
        settings(mail_config(tmp_path, 25, KB_MAIL_FROM="khong-phai-dia-chi"))
    assert settings(mail_config(tmp_path, 465)).security == "ssl"
    assert settings(mail_config(tmp_path, 587, KB_SMTP_STARTTLS="true")).security == "starttls"


def test_refused_recipient_is_named(tmp_path):
    class Refusing(Inbox):
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            return "550 5.1.1 mailbox unavailable"

    inbox = Refusing()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        config = mail_config(tmp_path, controller.port)
        with pytest.raises(MailError, match="từ chối địa chỉ nobody@laichau.example"):
            Mailer(config).send(build_message(config, "nobody@laichau.example", "Thư", "x"))
    finally:
        controller.stop()
