"""Signed tokens of the links in e-mails (confirm, unsubscribe, manage), made and checked with
itsdangerous, and the instance's signing key.

A token names one action and either one subscription or every subscription of an address, and carries
its own expiry (0: never). The action is the signature's salt: a confirmation token is no unsubscribe
token. Links mailed before itsdangerous was used (a hand-made HMAC-SHA256 format) are still accepted
until they would have expired; no new one is made.

    token = make_token(config, "unsubscribe", "a@b.vn", sub_id=7, expires=link_expiry(config))
    read_token(config, token, "unsubscribe")     # -> {"a": "unsubscribe", "e": "a@b.vn", "s": 7, "x": 17…}
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import secrets
import time

from itsdangerous import BadData, URLSafeSerializer

from kb.alerts.errors import SubscriptionError, TokenError
from kb.config import Config

TOKEN_ACTIONS = ("confirm", "unsubscribe", "manage")
MAX_TOKEN = 2000
INVALID = "Liên kết không hợp lệ: có thể nó đã bị cắt mất một phần khi sao chép. Hãy mở lại liên kết trong thư."
_FRESH_LINKS = (
    "Mỗi thư gửi đi đều có liên kết “Hủy theo dõi” và “Quản lý theo dõi” mới: hãy mở liên kết trong "
    "thư gần nhất bạn nhận được. Nếu không còn thư nào, xin báo quản trị viên của trang để hủy giúp."
)
_EXPIRED = {
    "confirm": "Liên kết xác nhận đã hết hạn. Hãy đăng ký theo dõi lại để nhận liên kết mới.",
    "unsubscribe": "Liên kết hủy theo dõi này đã hết hạn: nó nằm trong một thư cũ (liên kết dùng được {days} ngày). "
    + _FRESH_LINKS,
    "manage": "Liên kết quản lý theo dõi này đã hết hạn: nó nằm trong một thư cũ (liên kết dùng được {days} ngày). "
    + _FRESH_LINKS,
}


def secret_key(config: Config) -> bytes:
    """`alerts.secret`, else the key in <instance>/secret.key, generated there once (mode 600)."""
    configured = str(config.get("alerts", "secret") or "")
    if configured:
        return configured.encode()
    path = config.instance / "secret.key"
    for _ in range(50):
        try:
            key = path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            key = ""
        if key:
            return key.encode()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".secret.key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)  # atomic: the first process to link wins; others read its key
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
        time.sleep(0.01)
    raise SubscriptionError(f"không đọc hoặc tạo được tệp khóa {path}")


def _serializer(config: Config, action: str) -> URLSafeSerializer:
    return URLSafeSerializer(
        secret_key(config), salt=f"hdnd-kb/alerts/{action}", signer_kwargs={"digest_method": hashlib.sha256}
    )


def make_token(
    config: Config, action: str, email: str, sub_id: int | None = None, expires: dt.datetime | None = None
) -> str:
    """A signed token: `action` for one subscription (sub_id) or for every subscription of `email`,
    valid until `expires` (None: always)."""
    if action not in TOKEN_ACTIONS:
        raise ValueError(action)
    payload = {"e": email, "s": sub_id or 0, "x": int(expires.timestamp()) if expires else 0}
    return _serializer(config, action).dumps(payload)


def read_token(config: Config, token: str, action: str, at: dt.datetime | None = None) -> dict:
    """The payload {"a", "e", "s", "x"} of a token made for `action`; TokenError when it is not one
    (forged, damaged, made for another action or another instance) or when it has expired."""
    token = (token or "").strip()
    if not token or len(token) > MAX_TOKEN:
        raise TokenError(INVALID)
    try:
        payload = _serializer(config, action).loads(token)
    except (BadData, ValueError, TypeError):
        payload = _legacy_payload(config, token, action)
    if not _well_formed(payload):
        raise TokenError(INVALID)
    payload = {"a": action, "e": payload["e"], "s": payload["s"], "x": payload["x"]}
    if payload["x"] and (at or dt.datetime.now(dt.UTC)).timestamp() > payload["x"]:
        raise TokenError(_EXPIRED[action].format(days=config.get("alerts", "link_days")))
    return payload


def _well_formed(payload) -> bool:
    return (
        isinstance(payload, dict)
        and isinstance(payload.get("e"), str)
        and isinstance(payload.get("s"), int)
        and isinstance(payload.get("x"), int)
    )


# --- the format of the links mailed before itsdangerous (read only) ----------------------------------
def _legacy_payload(config: Config, token: str, action: str) -> dict:
    """The payload of a token in the first format (base64 JSON "." base64 of the first 20 bytes of an
    HMAC-SHA256 of "hdnd-kb/alerts:" + body); TokenError when it is not a valid one for `action`."""
    body, _, signature = token.partition(".")
    if not body or not signature:
        raise TokenError(INVALID)
    expected = base64.urlsafe_b64encode(
        hmac.new(secret_key(config), b"hdnd-kb/alerts:" + body.encode("utf-8", "replace"), hashlib.sha256).digest()[:20]
    ).rstrip(b"=")
    if not hmac.compare_digest(expected, signature.encode("utf-8", "replace")):
        raise TokenError(INVALID)
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        raise TokenError(INVALID) from None
    if not isinstance(payload, dict) or payload.get("a") != action:
        raise TokenError(INVALID)
    return payload
