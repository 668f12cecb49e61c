"""click's own words in Vietnamese: "Usage:", "Options", "Show this message and exit.", "Missing argument …",
"Error: …" — so that the help and the usage errors of `kb` read in one language, like the rest of the CLI.

click marks its texts for gettext (`from gettext import gettext as _` in each of its modules) but ships no
catalogue; `install()` gives those modules a `_` and an `ngettext` that look the text up here (falling back
to click's English for a text not listed). It touches only this process's click modules.
"""

from __future__ import annotations

import importlib

MESSAGES = {
    "Usage:": "Cách dùng:",
    "Options": "Tùy chọn",
    "Commands": "Lệnh",
    "Positional arguments": "Đối số",
    "Show this message and exit.": "Hiện trợ giúp này rồi thoát.",
    "Show the version and exit.": "Hiện phiên bản rồi thoát.",
    "%(prog)s, version %(version)s": "%(prog)s, phiên bản %(version)s",
    "Error: {message}": "Lỗi: {message}",
    "Try '{command} {option}' for help.": "Xem `{command} {option}` để biết cách dùng.",
    "Missing argument": "Thiếu đối số",
    "Missing option": "Thiếu tùy chọn",
    "Missing parameter": "Thiếu tham số",
    "Missing parameter: {param_name}": "Thiếu tham số: {param_name}",
    "Missing {param_type}": "Thiếu {param_type}",
    "Missing command.": "Thiếu lệnh.",
    "No such command {name!r}.": "Không có lệnh {name!r}.",
    "No such option {name!r}.": "Không có tùy chọn {name!r}.",
    "Option {name!r} does not take a value.": "Tùy chọn {name!r} không nhận giá trị.",
    "Invalid value for {param_hint}: {message}": "Giá trị không hợp lệ cho {param_hint}: {message}",
    "Invalid value: {message}": "Giá trị không hợp lệ: {message}",
    "Aborted!": "Đã hủy.",
    "Repeat for confirmation": "Nhập lại để xác nhận",
    "Error: The two entered values do not match.": "Lỗi: hai lần nhập không khớp nhau.",
    "Error: invalid input": "Lỗi: giá trị nhập không hợp lệ",
    "default: {default}": "mặc định: {default}",
    "required": "bắt buộc",
    "env var: {var}": "biến môi trường: {var}",
    "file": "tệp",
    "directory": "thư mục",
    "path": "đường dẫn",
    "{name} {filename!r} does not exist.": "{name} {filename!r} không tồn tại.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} là một thư mục.",
    "{name} {filename!r} is a file.": "{name} {filename!r} là một tệp.",
    "{name} {filename!r} is not readable.": "Không đọc được {name} {filename!r}.",
    "{name} {filename!r} is not writable.": "Không ghi được {name} {filename!r}.",
    "Could not open file {filename!r}: {message}": "Không mở được tệp {filename!r}: {message}",
    "{value!r} is not a valid {number_type}.": "{value!r} không phải là {number_type} hợp lệ.",
    "{value} is not in the range {range}.": "{value} không nằm trong khoảng {range}.",
    "{value!r} is not a valid UUID.": "{value!r} không phải là UUID hợp lệ.",
    "Choose from:\n\t{choices}": "Chọn một trong:\n\t{choices}",
    "Do you want to continue?": "Tiếp tục?",
    "Press any key to continue...": "Nhấn một phím bất kỳ để tiếp tục…",
    "Confirm the action without prompting.": "Xác nhận mà không hỏi lại.",
    "unknown error": "lỗi không rõ",
    "deprecated": "không còn dùng",
    "integer": "số nguyên",
    "float": "số thực",
    # plural forms (ngettext): (singular, plural) -> (singular, plural)
    ("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"): (
        "Thừa đối số ({args})",
        "Thừa đối số ({args})",
    ),
    ("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"): (
        "Ý bạn là {possibility}?",
        "(Ý bạn là một trong: {possibilities}?)",
    ),
    ("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."): (
        "Tùy chọn {name!r} cần một giá trị.",
        "Tùy chọn {name!r} cần {nargs} giá trị.",
    ),
    ("{value!r} is not {choice}.", "{value!r} is not one of {choices}."): (
        "{value!r} không phải là {choice}.",
        "{value!r} không phải là một trong {choices}.",
    ),
    ("{value!r} does not match the format {format}.", "{value!r} does not match the formats {formats}."): (
        "{value!r} không đúng dạng {format}.",
        "{value!r} không đúng các dạng {formats}.",
    ),
}

_MODULES = ("core", "exceptions", "formatting", "decorators", "types", "parser", "termui", "utils")


def gettext(message: str) -> str:
    found = MESSAGES.get(message)
    return found if isinstance(found, str) else message


def ngettext(singular: str, plural: str, n: int) -> str:
    found = MESSAGES.get((singular, plural))
    if isinstance(found, tuple):
        return found[0] if n == 1 else found[1]
    return singular if n == 1 else plural


def install() -> None:
    """Give click's modules the Vietnamese texts (idempotent)."""
    for name in _MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:  # pragma: no cover - another click layout
            continue
        if hasattr(module, "_"):
            module._ = gettext
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext
