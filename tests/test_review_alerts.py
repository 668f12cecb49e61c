"""Following the rà soát list (kb/alerts/review.py) through the real command line and a real local SMTP
server: a subscriber to "văn bản của tỉnh cần rà soát" gets exactly one message when a replacing law is
imported, none on the rerun; a Ban's subscriber only its Ban's documents; the digest's section lists them."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_mail import SITE, smtp, text_part  # noqa: F401  (smtp: fixture)

from kb import config as kbconfig
from kb.alerts.review import DIGEST_TITLE, digest_section, subscribe_review
from kb.alerts.subscriptions import SubscriptionError, list_subscriptions
from kb.dates import iso_week, today_vn
from kb.store import Store
from kbcli.main import cli

FIXTURES = Path(__file__).parent / "fixtures" / "review"


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


def kb(*args: str, code: int = 0):
    result = CliRunner().invoke(cli, list(args))
    assert result.exit_code == code, result.output
    return result


def test_one_mail_per_subscriber_when_a_replacing_law_is_imported(env, smtp):
    kb("import", str(FIXTURES / "before.jsonl"))
    out = kb("alerts", "add", "ban.ktns@laichau.example", "--review", "--confirmed").output
    assert "văn bản của tỉnh cần rà soát (ngay khi có thay đổi, Đang theo dõi)" in out
    out = kb(
        "alerts", "add", "ban.vhxh@laichau.example", "--review", "--ban", "Ban Văn hóa – Xã hội", "--confirmed"
    ).output
    assert "văn bản của tỉnh cần rà soát (Ban Văn hóa – Xã hội)" in out
    kb("alerts", "add", "x@laichau.example", "--review", "--ban", "Ban Đô thị", code=1)
    kb("alerts", "add", "x@laichau.example", "--digest", "--ban", "Ban Pháp chế", code=2)
    kb("alerts", "run")
    assert not smtp.messages  # nothing newly changed since they subscribed
    kb("import", str(FIXTURES / "after.jsonl"))  # 72/2025/QH15 and 89/2025/QH15 with their relations
    out = kb("alerts", "run").output
    assert "Đã gửi 1 thư “văn bản của tỉnh cần rà soát”." in out
    (msg,) = smtp.messages
    assert msg["To"] == "ban.ktns@laichau.example"
    assert msg["Subject"] == "Văn bản của tỉnh cần rà soát: 2 văn bản có căn cứ mới thay đổi"
    assert msg["List-Unsubscribe"].startswith(f"<{SITE}/theo-doi/huy/")
    text = text_part(msg)
    assert "Nghị quyết số 40/2017/NQ-HĐND" in text and "Nghị quyết số 67/2016/NQ-HĐND" in text
    assert "Bị thay thế bởi Luật số 89/2025/QH15 (Luật Ngân sách nhà nước) từ ngày 01/01/2026." in text
    assert "Văn bản đang có hiệu lực: Luật số 72/2025/QH15" in text
    assert f"{SITE}/ra-soat/van-ban/vbpl:laichau-40-2017" in text and "Sơn La" not in text
    assert "Hủy theo dõi mục này: " + SITE + "/theo-doi/huy/" in text
    html = msg.get_body(("html",)).get_content()
    assert "Luật Ngân sách nhà nước" in html and "<script" not in html
    kb("alerts", "run")  # the rerun: nothing new
    kb("import", str(FIXTURES / "after.jsonl"))  # the same file again: no change, no message
    kb("alerts", "run")
    assert len(smtp.messages) == 1
    with Store(kbconfig.load(env).db_path) as store:
        (sub,) = [s for s in list_subscriptions(store) if s.email == "ban.ktns@laichau.example"]
        assert sub.last_sent_at and sub.last_event_id >= 2


def test_digest_section_lists_the_week(env):
    kb("import", "--no-index", str(FIXTURES / "before.jsonl"))
    kb("import", "--no-index", str(FIXTURES / "after.jsonl"))
    config = kbconfig.load(env)
    with Store(config.db_path) as store:
        section = digest_section(store, config, iso_week(today_vn()))
        assert section.title == DIGEST_TITLE == "Văn bản của tỉnh cần rà soát do thay đổi trong tuần"
        assert [i.entry.number for i in section.items] == ["40/2017/NQ-HĐND", "67/2016/NQ-HĐND"]
        assert not digest_section(store, config, "2020-W01").items
        with pytest.raises(SubscriptionError):
            subscribe_review(store, config, "a@laichau.example", ban="Ban Đô thị")
        first = subscribe_review(store, config, "a@laichau.example")
        again = subscribe_review(store, config, "a@laichau.example")
        assert first.created and not again.created and first.subscription.id == again.subscription.id
        assert json.loads(json.dumps(first.subscription.to_dict()))["description"] == "văn bản của tỉnh cần rà soát"


def test_the_weekly_digest_has_the_section(env, smtp):
    from test_mail import html_part

    kb("import", "--no-index", str(FIXTURES / "before.jsonl"))
    kb("import", str(FIXTURES / "after.jsonl"))
    out = kb("digest", "--week", iso_week(today_vn()), "--to", "vp@laichau.example").output
    assert out
    (msg,) = smtp.messages
    text = text_part(msg)
    assert "6. VĂN BẢN CỦA TỈNH CẦN RÀ SOÁT DO THAY ĐỔI TRONG TUẦN" in text
    section = text.split("6. VĂN BẢN CỦA TỈNH CẦN RÀ SOÁT", 1)[1]
    assert "Nghị quyết số 40/2017/NQ-HĐND" in section and "Bị thay thế bởi Luật số 89/2025/QH15" in section
    assert f"{SITE}/ra-soat/van-ban/vbpl:laichau-67-2016" in section
    assert "Văn bản của tỉnh cần rà soát do thay đổi trong tuần" in html_part(msg)
    from web import create_app

    client = create_app({"INSTANCE": str(env), "TESTING": True}).test_client()
    page = client.get(f"/van-ban-moi/tuan/{iso_week(today_vn())}").get_data(as_text=True)
    assert "6. Văn bản của tỉnh cần rà soát do thay đổi trong tuần" in page and "40/2017/NQ-HĐND" in page


def test_a_bans_subscriber_gets_its_bans_documents_only(env, smtp, tmp_path):
    kb("import", str(FIXTURES / "before.jsonl"))
    kb("alerts", "add", "ban.vhxh@laichau.example", "--review", "--ban", "Ban Văn hóa – Xã hội", "--confirmed")
    kb("alerts", "add", "ban.dt@laichau.example", "--review", "--ban", "Ban Dân tộc", "--confirmed")
    amending = {
        "uid": "vbpl:12-2025-nd-cp",
        "number": "12/2025/NĐ-CP",
        "title": "Sửa đổi khoản 2 Điều 9 Nghị định số 81/2021/NĐ-CP",
        "doc_type": "Nghị định",
        "issuer": "Chính phủ",
        "issued": "2025-05-10",
        "effective": "2025-07-01",
        "status": "Còn hiệu lực",
        "fields": ["Giáo dục"],
        "relations": [{"type": "sua_doi", "target_number": "81/2021/NĐ-CP", "note": "khoản 2 Điều 9"}],
    }
    path = tmp_path / "amend.jsonl"
    path.write_text(json.dumps(amending, ensure_ascii=False) + "\n", encoding="utf-8")
    kb("import", str(path))
    kb("alerts", "run")
    (msg,) = smtp.messages
    assert msg["To"] == "ban.vhxh@laichau.example"
    text = text_part(msg)
    assert "Nghị quyết số 12/2022/NQ-HĐND" in text and "Nghị định số 12/2025/NĐ-CP" in text
    assert "Văn bản của tỉnh cần rà soát — Ban Văn hóa – Xã hội" in text
    assert f"{SITE}/ra-soat?ban=Ban+V" in text
    kb("alerts", "run")
    assert len(smtp.messages) == 1
