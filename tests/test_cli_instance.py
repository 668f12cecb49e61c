"""Every `kb` command run against a missing instance (a wrong folder, a mistyped --instance) and an empty one:
a one-line Vietnamese message saying where it looked and what to run, never a traceback; a command that
only reads creates nothing."""

import click
import pytest

from kb.store import Store
from kbcli import serve as serve_module
from kbcli.main import cli

# arguments of each command (a path of names); the writers may create the instance, the others may not
ARGS = {
    ("import",): ["does-not-exist.jsonl"],
    ("refresh",): ["no-such-source"],  # stops before any network access
    ("export",): [],
    ("stats",): [],
    ("search",): ["ngân sách"],
    ("index", "rebuild"): [],
    ("index", "update"): [],
    ("index", "check"): [],
    ("index", "stats"): [],
    ("index", "embed"): [],
    ("serve",): [],
    ("check",): ["{draft}"],
    ("delegations",): [],
    ("derived", "status"): [],
    ("derived", "update"): [],
    ("derived", "rebuild"): [],
    ("alerts", "add"): ["a@example.org", "--query", "học phí"],
    ("alerts", "list"): [],
    ("alerts", "remove"): ["1"],
    ("alerts", "run"): ["--dry-run"],
    ("digest",): [],
    ("review", "rebuild"): [],
    ("review", "mark"): ["vbpl:1", "--verdict", "con_phu_hop", "--by", "Nguyễn Văn An"],
    ("review", "history"): ["vbpl:1"],
    ("admin", "password"): ["--password-stdin"],
    ("admin", "disable"): [],
    ("admin", "status"): [],
}
WRITERS = {("alerts", "add"), ("admin", "password")}  # import and refresh are refused before writing here
NEEDS_DOCUMENTS = {
    ("export",),
    ("stats",),
    ("search",),
    ("index", "rebuild"),
    ("index", "update"),
    ("index", "check"),
    ("index", "stats"),
    ("index", "embed"),
    ("check",),
    ("delegations",),
    ("derived", "status"),
    ("derived", "update"),
    ("derived", "rebuild"),
    ("digest",),
    ("review", "rebuild"),
    ("review", "mark"),
    ("review", "history"),
}


def commands(group: click.Group, prefix=()):
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            yield from commands(command, prefix + (name,))
        else:
            yield prefix + (name,)


def test_the_table_names_every_command():
    assert sorted(commands(cli)) == sorted(ARGS)


@pytest.fixture
def draft(tmp_path):
    path = tmp_path / "du_thao.txt"
    path.write_text("Căn cứ Luật Ngân sách nhà nước số 83/2015/QH13;\n", encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def no_server(monkeypatch):
    monkeypatch.setattr(serve_module, "_serve_waitress", lambda *a, **k: None)


def run(runner, path, draft):
    args = [a.replace("{draft}", str(draft)) for a in ARGS[path]]
    return runner.invoke(cli, [*path, *args], input="mật khẩu quản trị dài\n")


def no_traceback(result, path):
    assert result.exception is None or isinstance(result.exception, SystemExit), (path, result.exc_info)
    assert "Traceback" not in result.output, (path, result.output)
    assert result.exit_code in (0, 1), (path, result.exit_code, result.output)


@pytest.mark.parametrize("path", sorted(ARGS), ids=" ".join)
def test_a_missing_instance(runner, instance, draft, path):
    result = run(runner, path, draft)
    no_traceback(result, path)
    if path in WRITERS:
        return
    assert not instance.exists(), f"{' '.join(path)} created {instance}"
    if path == ("serve",):  # serves the page explaining what to do, after the same line
        assert result.exit_code == 0 and str(instance) in result.output and "kb import" in result.output
    if path in NEEDS_DOCUMENTS or path in (("alerts", "list"), ("alerts", "run")):
        assert result.exit_code == 1
        lines = [line for line in result.output.splitlines() if line.startswith("Lỗi:")]
        assert len(lines) == 1 and str(instance) in lines[0] and "kb import" in lines[0], result.output


@pytest.mark.parametrize("path", sorted(ARGS), ids=" ".join)
def test_an_empty_instance(runner, instance, draft, path):
    Store(instance / "kb.sqlite").close()
    result = run(runner, path, draft)
    no_traceback(result, path)
    if path in NEEDS_DOCUMENTS:
        assert result.exit_code == 1
        assert result.output.strip().splitlines()[-1].startswith("Lỗi: Cơ sở dữ liệu ở"), result.output
        assert str(instance) in result.output and "chưa có văn bản nào" in result.output


def test_search_on_an_empty_instance_says_what_to_run(runner, instance):
    Store(instance / "kb.sqlite").close()
    result = runner.invoke(cli, ["search", "ngân sách"])
    assert result.exit_code == 1
    assert result.output == (
        f"Lỗi: Cơ sở dữ liệu ở {instance} (theo --instance hoặc KB_INSTANCE) chưa có văn bản nào: thêm bằng `kb import TỆP.jsonl` (không cần internet) hoặc `kb refresh`.\n"
    )
