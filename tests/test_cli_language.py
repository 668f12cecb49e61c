"""One language for users: every `kb` command's help — its description and each option's — is Vietnamese,
and so are click's own words (usage line, headings, usage errors)."""

import re

import click
import pytest
from test_cli_instance import commands

from kbcli.main import cli

VIETNAMESE = re.compile(r"[ăâđêôơưàảãáạằẳẵắặầẩẫấậèẻẽéẹềểễếệìỉĩíịòỏõóọồổỗốộờởỡớợùủũúụừửữứựỳỷỹýỵ]", re.I)
ENGLISH = ("Usage:", "Options:", "Commands:", "Show this message", "[OPTIONS]", "Error:", "Try '")


def command_at(path: tuple[str, ...]) -> click.Command:
    command = cli
    for name in path:
        command = command.commands[name]
    return command


@pytest.mark.parametrize("path", sorted(commands(cli)), ids=" ".join)
def test_the_help_of_every_command_is_vietnamese(runner, path):
    result = runner.invoke(cli, [*path, "--help"], prog_name="kb")
    assert result.exit_code == 0, result.output
    assert not [w for w in ENGLISH if w in result.output], result.output
    assert result.output.startswith(f"Cách dùng: kb {' '.join(path)} [TÙY_CHỌN]")
    command = command_at(path)
    assert VIETNAMESE.search(command.help or ""), command.help
    for param in command.params:
        if isinstance(param, click.Option) and param.help:
            assert VIETNAMESE.search(param.help), (path, param.name, param.help)


def test_the_groups_and_usage_errors_are_vietnamese(runner):
    for path in ((), ("index",), ("alerts",), ("admin",), ("derived",)):
        result = runner.invoke(cli, [*path, "--help"])
        assert "Tùy chọn:" in result.output and "Lệnh:" in result.output and "Usage" not in result.output
        assert VIETNAMESE.search(command_at(path).help or "")
    result = runner.invoke(cli, ["search", "--unit", "chương", "x"], prog_name="kb")
    assert result.exit_code == 2
    assert "Lỗi: Giá trị không hợp lệ cho '--unit': 'chương' không phải là một trong" in result.output
    assert "Xem `kb search --help` để biết cách dùng." in result.output
    assert "Lỗi: Không có lệnh 'tim'." in runner.invoke(cli, ["tim"], prog_name="kb").output
