"""Process locks on files of the instance: one `kb refresh`, one alerts run, one digest, one index rebuild
at a time. Built on the OS's advisory locks (`fcntl.flock`, released by the OS when the process dies);
where the platform has none (Windows), taking a lock is a clear error, and importing this module is not.

    with instance_lock(config, "refresh", "kb refresh"):
        ...
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from kb.errors import KBError

try:
    import fcntl
except ImportError:  # Windows: the serving commands work; the locking commands say why they cannot
    fcntl = None


_HELD: set[int] = set()  # file descriptors of the locks this process holds (see release_inherited)


def remember(handle: IO) -> None:
    """Note that this process holds the lock on `handle` (a forked child will let go of it)."""
    _HELD.add(handle.fileno())


def forget(handle: IO) -> None:
    _HELD.discard(handle.fileno())


def release_inherited() -> None:
    """In a forked child: let go of the locks the parent held. An flock belongs to the open file, which a
    fork shares, so a child that kept the descriptor would keep the lock after its parent died. Each
    descriptor is pointed at /dev/null (not closed: its number stays taken, nothing else reuses it)."""
    if not _HELD:
        return
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        for fd in list(_HELD):
            try:
                os.dup2(null, fd)
            except OSError:
                pass
    finally:
        os.close(null)
    _HELD.clear()


class AlreadyRunning(KBError):
    """Another process holds the lock; the message says which command and which lock file."""


class LocksUnsupported(KBError):
    """This platform has no advisory file locks."""


def _need_fcntl() -> None:
    if fcntl is None:
        raise LocksUnsupported("Hệ điều hành này không hỗ trợ khóa tệp (fcntl); hãy chạy lệnh này trên Linux.")


def try_lock(handle: IO, shared: bool = False) -> bool:
    """Take the lock on an open file without waiting; False when another process holds it."""
    _need_fcntl()
    try:
        fcntl.flock(handle, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def unlock(handle: IO) -> None:
    _need_fcntl()
    fcntl.flock(handle, fcntl.LOCK_UN)


def holder(path: Path) -> int | None:
    """The process id written in a held lock file (0 when unreadable), or None when nobody holds it.
    Reads only: the file is never created."""
    try:
        handle = open(path, encoding="ascii", errors="replace")
    except FileNotFoundError:
        return None
    with handle:
        if try_lock(handle, shared=True):
            unlock(handle)
            return None
        text = handle.read().strip()
        return int(text) if text.isdigit() else 0


PID_WAIT = 1.0  # seconds a refused process waits for the holder to write its pid (it does so at once)


def _holder_pid(handle: IO) -> str:
    """The pid in a lock file another process holds. The holder writes it right after taking the lock, so a
    process refused in between finds the file empty: it reads again for a moment rather than name no one."""
    deadline = time.monotonic() + PID_WAIT
    while True:
        handle.seek(0)
        pid = handle.read().strip()
        if pid or time.monotonic() >= deadline:
            return pid
        time.sleep(0.01)


@contextmanager
def instance_lock(config, name: str, what: str):
    """Hold <instance>/<name>.lock for the block; AlreadyRunning when another process holds it."""
    config.instance.mkdir(parents=True, exist_ok=True)
    path = config.instance / f"{name}.lock"
    with open(path, "a+", encoding="ascii") as handle:
        if not try_lock(handle):
            pid = _holder_pid(handle)
            raise AlreadyRunning(f"{what} đang chạy" + (f" (tiến trình {pid})" if pid else "") + f"; tệp khóa {path}")
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        remember(handle)
        try:
            yield
        finally:
            forget(handle)
            handle.seek(0)
            handle.truncate()
