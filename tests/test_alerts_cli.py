"""`kb alerts add|list|remove|run` through click's runner, on a temporary instance, mailing to a real
local SMTP server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_mail import SITE, free_port, smtp, text_part  # noqa: F401  (smtp: fixture)

from kb import config as kbconfig
from kb.locks import instance_lock
from kbcli.main import cli

FIXTURES = Path(__file__).parent / "fixtures" / "alerts"
OLD_FEES = "congbao_tinh:laichau-05-2024"


@pytest.fixture
def env(instance, monkeypatch, smtp):
    for name, value in {
        "KB_SITE_URL": SITE,
        "KB_SMTP_HOST": "127.0.0.1",
        "KB_SMTP_PORT": str(smtp.port),
        "KB_MAIL_FROM": "vanban@laichau.example",
    }.items():
        monkeypatch.setenv(name, value)
    return instance


def kb(runner, *args: str, code: int = 0):
    result = runner.invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result


def new_central_documents(tmp_path) -> Path:
    """The week's central decrees and circular (new documents only: nothing already indexed changes)."""
    lines = [
        line
        for line in (FIXTURES / "week.jsonl").read_text(encoding="utf-8").splitlines()
        if json.loads(line)["uid"] in ("vbpl:9101-2026-nd-cp", "vbpl:9104-2026-nd-cp", "vbpl:9102-2026-tt-btc")
    ]
    path = tmp_path / "new.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_add_list_run_remove(runner, env, smtp, tmp_path):
    kb(runner, "import", str(FIXTURES / "before.jsonl"))
    out = kb(runner, "alerts", "add", "a@laichau.example", "--query", "học phí", "--every", "immediate").output
    assert "Đã đăng ký: số 1 a@laichau.example – tìm kiếm “học phí” (ngay khi có thay đổi, Chờ xác nhận)" in out
    assert "Đã gửi e-mail xác nhận tới a@laichau.example." in out
    (confirmation,) = smtp.messages
    assert confirmation["Subject"].startswith("Xác nhận đăng ký theo dõi văn bản")
    assert f"{SITE}/theo-doi/xac-nhan/" in text_part(confirmation)
    out = kb(
        runner,
        "alerts",
        "add",
        "Ban.KTNS@laichau.example",
        "--url",
        f"{SITE}/tim-kiem?q=h%E1%BB%8Dc+ph%C3%AD&phamvi=Trung+%C6%B0%C6%A1ng",
        "--every",
        "immediate",
        "--confirmed",
        "--label",
        "Ban Kinh tế - Ngân sách",
    ).output
    assert (
        "Đã đăng ký: số 2 ban.ktns@laichau.example – tìm kiếm “học phí” (Phạm vi: Trung ương) (ngay khi có thay đổi, Đang theo dõi)"
        in out
    )
    kb(runner, "alerts", "add", "ban.vhxh@laichau.example", "--document", OLD_FEES, "--confirmed")
    kb(
        runner,
        "alerts",
        "add",
        "ban.ktns@laichau.example",
        "--filter",
        "loai=Nghị định",
        "--filter",
        "linhvuc=Nông nghiệp",
        "--confirmed",
        "--every",
        "immediate",
    )
    again = kb(
        runner,
        "alerts",
        "add",
        "ban.ktns@laichau.example",
        "--filter",
        "loai=Nghị định",
        "--filter",
        "linhvuc=Nông nghiệp",
        "--confirmed",
        "--every",
        "immediate",
    ).output
    assert again.startswith("Đã đăng ký từ trước: số 4")
    assert len(smtp.messages) == 1  # confirmed addresses get no confirmation

    listing = kb(runner, "alerts", "list").output
    assert [line.split()[0] for line in listing.splitlines() if line.startswith("#")] == ["#1", "#2", "#3", "#4"]
    assert "văn bản Nghị quyết 05/2024/NQ-HĐND Quy định mức học phí" in listing
    data = json.loads(kb(runner, "alerts", "list", "--json", "--email", "ban.ktns@laichau.example").output)
    assert [(d["id"], d["kind"], d["query"], d["filters"], d["status"]) for d in data] == [
        (2, "search", "học phí", {"scope": ["Trung ương"]}, "active"),
        (4, "search", "", {"doc_type": ["Nghị định"], "linhvuc": ["Nông nghiệp"]}, "active"),
    ]

    kb(runner, "import", str(new_central_documents(tmp_path)))
    out = kb(runner, "alerts", "run").output
    assert (
        "Đã gửi 0 e-mail xác nhận và 1 thư thông báo (2 văn bản); đã xét 2 mục theo dõi." in out
    )  # #3 is daily: not due yet
    alert = smtp.messages[1]
    assert alert["To"] == "ban.ktns@laichau.example"
    assert alert["Subject"] == "Theo dõi văn bản: 2 cập nhật trong 2 mục theo dõi"
    assert "Ban Kinh tế - Ngân sách" in text_part(alert) and f"{SITE}/van-ban/vbpl:9104-2026-nd-cp" in text_part(alert)
    out = kb(runner, "alerts", "run").output
    assert "Đã gửi 0 e-mail xác nhận và 0 thư thông báo (0 văn bản)" in out and len(smtp.messages) == 2

    assert "Đã kết thúc số 4 ban.ktns@laichau.example" in kb(runner, "alerts", "remove", "4").output
    result = kb(runner, "alerts", "remove", "99", code=1)
    assert "Không có mục theo dõi số 99." in result.output
    assert len([x for x in kb(runner, "alerts", "list").output.splitlines() if x.startswith("#")]) == 3
    assert "Đã hủy" in kb(runner, "alerts", "list", "--all").output


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["a@laichau.example", "--query", ""], 1, "Không thể theo dõi một tìm kiếm không có điều kiện"),
        (["a@laichau.example", "--query", "-phí"], 1, "Không thể theo dõi một tìm kiếm không có điều kiện"),
        (["khong-phai-dia-chi", "--query", "học phí"], 1, "Địa chỉ e-mail “khong-phai-dia-chi” không hợp lệ."),
        (["a@laichau.example", "--query", "mucluc:x"], 1, "Không hiểu trường “mucluc:”"),
        (["a@laichau.example", "--document", "vbpl:0"], 1, "Không có văn bản “vbpl:0” trong cơ sở dữ liệu."),
        (["a@laichau.example", "--query", "học phí", "--every", "hourly"], 2, "'hourly' không phải là một trong"),
        (["a@laichau.example", "--digest", "--every", "daily"], 2, "bản tin gửi hằng tuần"),
        (["a@laichau.example"], 2, "hãy cho một trong --query"),
        (["a@laichau.example", "--query", "học phí", "--document", OLD_FEES], 2, "hãy cho một trong --query"),
        (["a@laichau.example", "--filter", "loaivb=Luật"], 2, "viết THAM_SỐ=GIÁ_TRỊ"),
    ],
)
def test_add_refuses_bad_input_clearly(runner, env, smtp, args, code, message):
    kb(runner, "import", str(FIXTURES / "before.jsonl"))
    result = kb(runner, "alerts", "add", *args, code=code)
    assert message in result.output and "Traceback" not in result.output
    assert smtp.messages == [] and "Chưa có mục theo dõi nào." in kb(runner, "alerts", "list", "--all").output


def test_confirmation_waits_for_the_mail_server(runner, env, smtp, monkeypatch):
    kb(runner, "import", str(FIXTURES / "before.jsonl"))
    monkeypatch.setenv("KB_SMTP_PORT", str(free_port()))
    out = kb(runner, "alerts", "add", "a@laichau.example", "--document", OLD_FEES).output
    assert "Chưa gửi được e-mail xác nhận (a@laichau.example: không kết nối được máy chủ thư" in out
    assert "`kb alerts run` sẽ thử lại" in out
    result = kb(runner, "alerts", "run", code=1)
    assert "Lỗi: a@laichau.example: không kết nối được máy chủ thư" in result.output
    monkeypatch.setenv("KB_SMTP_PORT", str(smtp.port))
    assert "Đã gửi 1 e-mail xác nhận" in kb(runner, "alerts", "run").output
    assert [m["To"] for m in smtp.messages] == ["a@laichau.example"]


def test_dry_run_and_default_site_url_note(runner, env, smtp, monkeypatch):
    kb(runner, "import", str(FIXTURES / "before.jsonl"))
    monkeypatch.delenv("KB_SITE_URL")
    monkeypatch.setenv("KB_SMTP_PORT", str(free_port()))  # a dry run needs no mail server
    kb(runner, "alerts", "add", "a@laichau.example", "--query", "học phí")
    out = kb(runner, "alerts", "run", "--dry-run").output
    assert "Lưu ý: site.url đang là giá trị mặc định http://127.0.0.1:8080" in out
    assert "--- Gửi tới: a@laichau.example" in out and "http://127.0.0.1:8080/theo-doi/xac-nhan/" in out
    assert "Sẽ gửi 1 e-mail xác nhận và 0 thư thông báo" in out and smtp.messages == []


def test_run_refuses_to_overlap(runner, env):
    kb(runner, "import", str(FIXTURES / "before.jsonl"))
    with instance_lock(kbconfig.load(env), "alerts", "kb alerts run"):
        result = kb(runner, "alerts", "run", code=1)
    assert "Lỗi: kb alerts run đang chạy (tiến trình" in result.output
    kb(runner, "alerts", "run")


def test_docs_cover_every_command_option_setting_and_path():
    docs = (Path(__file__).parent.parent / "docs" / "ALERTS.md").read_text(encoding="utf-8")
    group = cli.commands["alerts"]
    for name, command in [*((f"alerts {n}", c) for n, c in group.commands.items()), ("digest", cli.commands["digest"])]:
        assert f"kb {name}" in docs, name
        for param in command.params:
            for opt in getattr(param, "opts", []):
                if opt.startswith("--"):
                    assert opt in docs, f"kb {name} {opt}"
    for section in ("mail", "alerts", "digest"):
        for key in kbconfig.defaults(section):
            assert f"`{section}.{key}`" in docs and f"KB_{section.upper()}_{key.upper()}" in docs, key
    for key in ("security", "timeout", "ca_bundle", "host", "port", "user", "password"):
        assert f"KB_SMTP_{key.upper()}" in docs, key
    from kb.alerts import subscriptions

    for name in dir(subscriptions):
        if name.endswith("_PATH"):
            path = getattr(subscriptions, name).split("{")[0]
            assert path in docs and f"`{name}`" in docs, name


def test_a_second_subscription_waits_for_the_next_confirmation(runner, env, smtp):
    kb(runner, "import", str(FIXTURES / "before.jsonl"))
    kb(runner, "alerts", "add", "a@laichau.example", "--query", "học phí")
    out = kb(runner, "alerts", "add", "a@laichau.example", "--document", OLD_FEES).output
    assert "mục này sẽ có trong thư xác nhận tiếp theo" in out and "Confirmation e-mail sent" not in out
    assert len(smtp.messages) == 1  # one confirmation per address within alerts.confirm_resend_hours
