"""The index writer processes never outlive the command that started them (issue 20, item 1).

`kb import` of a store big enough for two writer processes is killed during its first index build the
way a scheduler, the OOM killer or an operator's `kill PID` does: the parent only. No writer may survive
it (they closed the inherited rebuild lock and watch their parent), and `kb index rebuild` then works.
The processes are read from /proc (Linux), so the test is skipped elsewhere.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")

KB = [sys.executable, "-c", "from kbcli.main import cli; cli(prog_name='kb')"]
# As started from a terminal: Ctrl-C raises KeyboardInterrupt. A process started in the background by a
# non-interactive shell (`cmd &`, as some CI runners do) inherits SIGINT ignored, and Python then leaves
# it ignored: the signal would never reach the command under test.
KB_AT_TERMINAL = [
    sys.executable,
    "-c",
    "import signal; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "from kbcli.main import cli; cli(prog_name='kb')",
]
WORDS = (
    "ngân sách nhà nước hội đồng nhân dân tỉnh quy định mức chi hỗ trợ đầu tư công giáo dục y tế "
    "đất đai xây dựng giao thông môi trường tài nguyên khoáng sản lao động việc làm văn hóa thể thao"
).split()
GENERATED_MB = 14  # above two build parts (index.build.PART_MIN_BYTES: 4 MB of stored JSON): two writers


def _env(instance: Path) -> dict[str, str]:
    env = dict(os.environ, KB_INSTANCE=str(instance))
    env.pop("KB_SITE_URL", None)
    return env


def _write_corpus(path: Path, megabytes: int) -> None:
    """Article-level records (the shape of shared/corpus) of about `megabytes` of text."""
    size, n = 0, 0
    with open(path, "w", encoding="utf-8") as out:
        while size < megabytes << 20:
            n += 1
            for article in range(1, 21):
                words = [WORDS[(n * 7 + article * 13 + i * i) % len(WORDS)] for i in range(400)]
                line = json.dumps(
                    {
                        "doc_id": f"gen-{n}",
                        "doc_number": f"{n}/2025/NQ-HĐND",
                        "doc_type": "Nghị quyết",
                        "doc_title": f"Nghị quyết số {n} về {' '.join(words[:8])}",
                        "issuer": "Hội đồng nhân dân tỉnh",
                        "issued_date": "2025-01-01",
                        "article_id": str(article),
                        "title": " ".join(words[8:16]),
                        "text": " ".join(words),
                    },
                    ensure_ascii=False,
                )
                out.write(line + "\n")
                size += len(line.encode())


@pytest.fixture(scope="module")
def stored(tmp_path_factory) -> Path:
    """An instance whose store holds the generated corpus and which has no index yet."""
    work = tmp_path_factory.mktemp("orphans")
    corpus = work / "corpus.jsonl"
    _write_corpus(corpus, GENERATED_MB)
    instance = work / "base"
    run = subprocess.run(
        KB + ["import", "--no-index", str(corpus)], env=_env(instance), capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr
    return instance


def _children(pid: int) -> list[int]:
    """Live (not zombie) processes whose parent is `pid`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            state = _stat(int(entry))
            if state and state[1] == pid and state[0] != "Z":
                found.append(int(entry))
    return found


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process, None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], int(fields[1])


def _alive(pid: int) -> bool:
    state = _stat(pid)
    return state is not None and state[0] != "Z"


def _start_build(stored: Path, work: Path, command: tuple[str, ...] = ()) -> tuple[subprocess.Popen, Path, list[int]]:
    """`kb import` of one more document into a copy of the stored instance (or `command`): it builds the index
    (there is none) with two writer processes. Returns when both writers run."""
    instance = work / "instance"
    shutil.copytree(stored, instance)
    one = work / "one.jsonl"
    one.write_text(
        json.dumps({"doc_number": "1/2026/NQ-HĐND", "doc_title": "Nghị quyết thêm", "text": "một văn bản"}) + "\n",
        encoding="utf-8",
    )
    process = subprocess.Popen(
        KB_AT_TERMINAL + (list(command) or ["import", str(one)]),
        env=_env(instance),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 300  # storing and opening the store on a loaded machine; generous
    writers: list[int] = []
    while time.monotonic() < deadline and process.poll() is None:
        writers = [p for p in _children(process.pid) if _is_writer(p, process)]
        if len(writers) >= 2:
            break
        time.sleep(0.05)
    if len(writers) < 2:
        process.kill()
        pytest.fail(f"the writer processes never started (exit {process.poll()}): {process.stderr.read()!r}")
    return process, instance, writers


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _is_writer(pid: int, parent: subprocess.Popen) -> bool:
    """A forked writer runs the parent's command line; a spawned one multiprocessing's (not its resource
    tracker, which ends by itself when its parent's pipe closes)."""
    line = _cmdline(pid)
    return line == _cmdline(parent.pid) or "spawn_main" in line


def _assert_writers_end_and_rebuild_works(writers: list[int], instance: Path) -> None:
    deadline = time.monotonic() + 10  # the bound: no writer survives its parent by 10 s
    while time.monotonic() < deadline and any(_alive(p) for p in writers):
        time.sleep(0.1)
    survivors = [p for p in writers if _alive(p)]
    for pid in survivors:  # leave nothing behind, then fail
        os.kill(pid, signal.SIGKILL)
    assert not survivors, f"writer processes {survivors} outlived their parent by 10 s"
    rebuild = subprocess.run(KB + ["index", "rebuild"], env=_env(instance), capture_output=True, text=True, timeout=600)
    assert rebuild.returncode == 0, rebuild.stderr
    check = subprocess.run(KB + ["index", "check"], env=_env(instance), capture_output=True, text=True, timeout=600)
    assert check.returncode == 0, check.stdout + check.stderr


def test_sigkill_to_kb_import_leaves_no_writer_and_rebuild_works(stored, tmp_path):
    process, instance, writers = _start_build(stored, tmp_path)
    os.kill(process.pid, signal.SIGKILL)  # the parent only, as the OOM killer does
    process.wait(timeout=30)
    _assert_writers_end_and_rebuild_works(writers, instance)


def test_sigterm_to_kb_import_stops_the_writers_and_rebuild_works(stored, tmp_path):
    process, instance, writers = _start_build(stored, tmp_path)
    os.kill(process.pid, signal.SIGTERM)  # the parent only, as `kill PID` or systemd does
    process.wait(timeout=60)  # bounded: the parent stops its writers and exits, it does not finish the build
    assert process.returncode != 0
    _assert_writers_end_and_rebuild_works(writers, instance)


def test_sigint_to_kb_index_rebuild_stops_the_writers_and_rebuild_works(stored, tmp_path):
    process, instance, writers = _start_build(stored, tmp_path, ("index", "rebuild"))
    os.kill(process.pid, signal.SIGINT)  # Ctrl-C sent to the parent only
    process.wait(timeout=60)
    assert process.returncode == 130, process.stderr.read()
    _assert_writers_end_and_rebuild_works(writers, instance)
