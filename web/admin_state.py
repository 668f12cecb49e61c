"""The administrator of the web UI: one password, set with `kb admin password` and kept only as a
hash (scrypt) in <instance>/admin.json; the sources `kb refresh` visits (sources.enabled in
<instance>/config.toml), which the administration pages may change; and whether a refresh is running.

    set_password(config, "một mật khẩu dài")   # kb admin password
    creds = load_credentials(config)           # None: no password, the administration is closed
    creds.verify("một mật khẩu dài")           # constant-time (werkzeug's check_password_hash)
    disable(config)                            # kb admin disable

admin.json also holds `epoch`, a random value drawn each time the password is set: a web session
remembers the epoch it logged in under, so a new password (or `disable`) ends every open session.
"""

from __future__ import annotations

import copy
import datetime as dt
import fcntl
import json
import os
import re
import secrets
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from werkzeug.security import check_password_hash, generate_password_hash

from kb import config as kbconfig
from kb.config import Config, SourceInfo
from kb.errors import KBError
from kb.store import Store

PASSWORD_FILE = "admin.json"
MIN_LENGTH = 10
MAX_LENGTH = 1024
HASH_METHOD = "scrypt"  # werkzeug's scrypt: n=2**15, r=8, p=1, a 16-character salt
REFRESH_LOCK = "refresh.lock"  # held by `kb refresh` (kb.locks.instance_lock(config, "refresh", …))
REFRESH_LOG = "admin-refresh.log"  # output of the refreshes started from the administration pages


class AdminError(KBError):
    """The administrator's password or settings cannot be set or read; the message says why."""


# --- the sources `kb refresh` knows ----------------------------------------------------------------
def sources() -> dict[str, SourceInfo]:
    """The sources as their scraper modules declare them (kb.config.declare_source: name, Vietnamese
    title, settings' section); the composition root (kbcli) imports `scrapers` before serving."""
    return kbconfig.sources()


def source_problem(config: Config, name: str) -> str | None:
    """Why `kb refresh` would skip the source with this configuration (None when it would run it)."""
    known = sources()
    info = known.get(name)
    if info is None:
        return f"nguồn “{name}” không có (các nguồn: {', '.join(known)})"
    if not str(config.section(info.section).get("base_url") or "").strip():
        return f"chưa cấu hình địa chỉ ({info.section}.base_url)"
    return None


# --- the password -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Credentials:
    password_hash: str
    set_at: str  # ISO time (UTC)
    epoch: str  # drawn anew each time the password is set

    def verify(self, password: str) -> bool:
        """Whether `password` is the administrator's (constant-time comparison of the hashes)."""
        if not isinstance(password, str) or not password or len(password) > MAX_LENGTH:
            return False
        return check_password_hash(self.password_hash, _normalise(password))


def password_path(config: Config) -> Path:
    return config.instance / PASSWORD_FILE


def _normalise(password: str) -> str:
    # The same Vietnamese password typed on two keyboards may be composed (NFC) or decomposed (NFD).
    return unicodedata.normalize("NFC", password)


def check_password(password: str) -> str:
    """The password, NFC-normalised, when it may be used; AdminError saying why when it may not."""
    password = _normalise(password or "")
    if len(password) < MIN_LENGTH:
        raise AdminError(
            f"mật khẩu phải có ít nhất {MIN_LENGTH} ký tự (mật khẩu này có {len(password)}); một câu vài từ thì dễ nhớ"
        )
    if len(password) > MAX_LENGTH:
        raise AdminError(f"mật khẩu chỉ được dài tối đa {MAX_LENGTH} ký tự")
    if not password.strip():
        raise AdminError("mật khẩu không thể chỉ gồm dấu cách")
    return password


def set_password(config: Config, password: str) -> Credentials:
    """Hash `password` (scrypt) and store the hash in <instance>/admin.json (mode 600, written
    atomically), replacing any earlier one; every web session logged in before ends."""
    password = check_password(password)
    creds = Credentials(
        password_hash=generate_password_hash(password, method=HASH_METHOD),
        set_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        epoch=secrets.token_urlsafe(16),
    )
    data = {"version": 1, "password_hash": creds.password_hash, "set_at": creds.set_at, "epoch": creds.epoch}
    write_atomically(password_path(config), json.dumps(data, indent=2) + "\n", mode=0o600)
    return creds


def load_credentials(config: Config) -> Credentials | None:
    """The stored password hash; None when no password is set. AdminError when the file is unreadable
    (the administration then stays closed until `kb admin password` writes it again)."""
    path = password_path(config)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise AdminError(f"không đọc được {path} ({exc}); đặt lại mật khẩu bằng `kb admin password`") from None
    if not isinstance(data, dict) or not all(
        isinstance(data.get(k), str) and data.get(k) for k in ("password_hash", "set_at", "epoch")
    ):
        raise AdminError(f"{path} bị hỏng; đặt lại mật khẩu bằng `kb admin password`")
    return Credentials(data["password_hash"], data["set_at"], data["epoch"])


def disable(config: Config) -> bool:
    """Remove the password: nothing of the administration pages can be reached any more. False when
    none was set."""
    try:
        password_path(config).unlink()
    except FileNotFoundError:
        return False
    return True


def write_atomically(path: Path, text: str, mode: int = 0o600) -> None:
    """Write `text` to `path` through a temporary file in the same folder renamed over it: a reader
    sees the old file or the new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)  # whatever the umask
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


# --- enabled sources in config.toml ---------------------------------------------------------------
_SECTION = re.compile(r"^\s*\[\s*([A-Za-z0-9_.\"' -]+?)\s*\]\s*(#.*)?$")
_ENABLED = re.compile(r"^(\s*)enabled\s*=")


def set_enabled_sources(config: Config, names: list[str]) -> Path:
    """Write `[sources] enabled = [...]` into <instance>/config.toml, changing nothing else in the file
    (comments and other settings stay), atomically, keeping the file's mode. AdminError (a Vietnamese
    message, for the page) for an unknown source, or when the file cannot be changed this way (then it
    is left as it was: the result is parsed and compared before it replaces the file)."""
    known = sources()
    unknown = [n for n in names if n not in known]
    if unknown:
        raise AdminError(f"Không có nguồn {', '.join(unknown)} (các nguồn: {', '.join(known)}).")
    names = [n for n in known if n in names]  # the registry's order, no repeats
    path = config.instance / "config.toml"
    try:
        old = path.read_text(encoding="utf-8")
        mode = path.stat().st_mode & 0o777
    except FileNotFoundError:
        old, mode = "", 0o600
    try:
        before = tomllib.loads(old)
    except tomllib.TOMLDecodeError as exc:
        raise AdminError(f"Tệp cấu hình {path} có lỗi ({exc}); hãy sửa nó trên máy chủ.") from None
    value = "enabled = [" + ", ".join(json.dumps(n) for n in names) + "]"
    new = _replace_enabled(old, value)
    expected = copy.deepcopy(before)
    expected.setdefault("sources", {})["enabled"] = names
    try:
        ok = tomllib.loads(new) == expected
    except tomllib.TOMLDecodeError:
        ok = False
    if not ok:
        raise AdminError(f"Không tự sửa được tệp cấu hình {path}; hãy ghi “{value}” dưới mục [sources] trên máy chủ.")
    write_atomically(path, new, mode=mode)
    return path


def _replace_enabled(text: str, value: str) -> str:
    lines = text.splitlines(keepends=True)
    start = next(
        (i for i, line in enumerate(lines) if (m := _SECTION.match(line)) and m.group(1).strip("\"' ") == "sources"),
        None,
    )
    if start is None:
        before = text + ("" if text.endswith("\n") else "\n") + "\n" if text.strip() else ""
        return f"{before}[sources]\n{value}\n"
    end = next((i for i in range(start + 1, len(lines)) if _SECTION.match(lines[i])), len(lines))
    for i in range(start + 1, end):
        match = _ENABLED.match(lines[i])
        if not match:
            continue
        stop = i + 1
        if "]" not in lines[i].split("#", 1)[0]:  # a value written over several lines
            while stop < end and "]" not in lines[stop - 1].split("#", 1)[0]:
                stop += 1
        newline = "\n" if lines[stop - 1].endswith("\n") else ""
        return "".join(lines[:i] + [match.group(1) + value + newline] + lines[stop:])
    insert = start + 1
    return "".join(lines[:insert] + [value + "\n"] + lines[insert:])


def sources_overridden(environ: dict | None = None) -> bool:
    """Whether KB_SOURCES_ENABLED is set (it then wins over config.toml for this process)."""
    return "KB_SOURCES_ENABLED" in (os.environ if environ is None else environ)


# --- is a refresh running? ---------------------------------------------------------------------
def refresh_running(config: Config) -> int | None:
    """The process id of the `kb refresh` holding <instance>/refresh.lock (0 when it cannot be read),
    or None when no refresh is running. Reads only: the lock file is never created here."""
    path = config.instance / REFRESH_LOCK
    try:
        handle = open(path, encoding="ascii", errors="replace")
    except FileNotFoundError:
        return None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            text = handle.read().strip()
            return int(text) if text.isdigit() else 0
        fcntl.flock(handle, fcntl.LOCK_UN)
        return None


def refresh_log_path(config: Config) -> Path:
    return config.instance / REFRESH_LOG


def open_refresh_log(config: Config):
    """The refresh log, opened for appending; created readable by the owner only (it names client addresses)."""
    path = refresh_log_path(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "a", encoding="utf-8")


def last_runs(store: Store) -> dict[str, dict]:
    """The last run of each source that ever ran: {source: run}, each as `Store.runs` gives it."""
    rows = store.db.execute("SELECT * FROM runs WHERE id IN (SELECT max(id) FROM runs GROUP BY source)")
    return {row["source"]: dict(row) | {"counts": json.loads(row["counts"]) if row["counts"] else {}} for row in rows}


__all__ = [
    "AdminError",
    "Credentials",
    "sources",
    "SourceInfo",
    "check_password",
    "disable",
    "last_runs",
    "load_credentials",
    "password_path",
    "refresh_log_path",
    "refresh_running",
    "set_enabled_sources",
    "set_password",
    "source_problem",
    "sources_overridden",
    "write_atomically",
]
