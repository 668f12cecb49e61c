"""The instance lock (kb/locks.py): a refused command names the process holding the lock, even when it asked
in the instant between the holder taking the lock and writing its pid (the race that made the "started
together" tests flaky)."""

import pytest

from kb import config as kbconfig
from kb import locks
from kb.locks import AlreadyRunning, instance_lock, try_lock, unlock


def test_a_refused_command_waits_for_the_holders_pid(tmp_path, monkeypatch):
    conf = kbconfig.load(tmp_path / "instance", environ={})
    conf.instance.mkdir()
    path = conf.instance / "refresh.lock"
    holder = open(path, "a+", encoding="ascii")
    assert try_lock(holder)  # the holder has the lock and has not written its pid yet
    waits = []

    def holder_writes_its_pid(seconds):  # what the holder does while the refused process waits
        waits.append(seconds)
        path.write_text("4242", encoding="ascii")

    monkeypatch.setattr(locks.time, "sleep", holder_writes_its_pid)
    with pytest.raises(AlreadyRunning) as refused:
        with instance_lock(conf, "refresh", "kb refresh"):
            pass
    assert str(refused.value) == f"kb refresh đang chạy (tiến trình 4242); tệp khóa {path}"
    assert len(waits) == 1
    unlock(holder)
    holder.close()
    with instance_lock(conf, "refresh", "kb refresh"):  # free again: taken at once
        assert path.read_text(encoding="ascii").isdigit()
