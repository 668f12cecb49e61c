"""The e-mails' templates (kb/alerts/templates): autoescaped HTML, plain text left as written, and shipped
inside the wheel (not only present in the checkout), where they render a message."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from types import SimpleNamespace

import jinja2
import pytest
from bs4 import BeautifulSoup
from test_mail import html_part, mail_config, text_part

from kb.alerts.delivery import confirmation_message
from kb.alerts.render import TEMPLATES, render
from kb.alerts.subscriptions import Subscription

ROOT = Path(__file__).resolve().parent.parent
HOSTILE = 'Học phí <img src=x onerror=alert(1)> & "lệ phí"'


def pending(label: str = HOSTILE) -> Subscription:
    return Subscription(
        7, "a@laichau.example", "search", "học phí", label=label, created_at="2026-03-04T05:00:00+00:00"
    )


def test_html_is_escaped_and_text_is_not(tmp_path):
    msg = confirmation_message(mail_config(tmp_path, None), "a@laichau.example", [pending()])
    soup = BeautifulSoup(html_part(msg), "html.parser")
    assert soup.find("img") is None and HOSTILE in soup.get_text()
    assert "&lt;img src=x onerror=alert(1)&gt; &amp; &#34;lệ phí&#34;" in html_part(msg)
    assert f"• {HOSTILE} (tìm kiếm “học phí”) – hằng ngày" in text_part(msg)
    assert msg["Subject"] == "Xác nhận đăng ký theo dõi văn bản – Văn bản pháp luật – Văn phòng HĐND tỉnh"


def test_a_missing_value_is_an_error_not_an_empty_string():
    with pytest.raises(jinja2.UndefinedError, match="undefined"):
        render("confirmation_subject.txt")


def _can_build_wheels() -> bool:
    import importlib.metadata
    import importlib.util

    major, minor = (int(x) for x in importlib.metadata.version("setuptools").split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


def _source_tree(target: Path) -> Path:
    """The project's packaging inputs, copied: the wheel is built away from the checkout."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, target / name)
    for package in ("kb", "kbcli", "index", "scrapers", "web"):
        shutil.copytree(ROOT / package, target / package, ignore=shutil.ignore_patterns("__pycache__"))
    return target


def test_the_wheel_holds_the_templates_and_renders_from_them(tmp_path):
    if not _can_build_wheels():
        pytest.skip("building the wheel offline needs setuptools >= 70.1 or the `wheel` package (the test extra)")
    source = _source_tree(tmp_path / "src")
    dist = tmp_path / "dist"
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-q"]
        + [str(source), "-w", str(dist)],
        capture_output=True,
        text=True,
    )
    assert build.returncode == 0, build.stderr
    (wheel,) = dist.glob("hdnd_kb-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"kb/alerts/templates/{p.name}" for p in TEMPLATES.iterdir() if p.is_file()}
    assert len(expected) >= 10 and expected <= names

    site = tmp_path / "site"
    install = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target", str(site), str(wheel)],
        capture_output=True,
        text=True,
    )
    assert install.returncode == 0, install.stderr
    script = (
        "import json, sys\n"
        "from kb import config\n"
        "from kb.alerts import render\n"
        "from kb.alerts.delivery import confirmation_message\n"
        "from kb.alerts.subscriptions import Subscription\n"
        "conf = config.load(sys.argv[1], environ={'KB_MAIL_FROM': 'vanban@laichau.example'})\n"
        "sub = Subscription(1, 'a@laichau.example', 'document', uid='vbpl:1', title='Luật Đất đai',"
        " created_at='2026-03-04T05:00:00+00:00')\n"
        "msg = confirmation_message(conf, 'a@laichau.example', [sub])\n"
        "print(json.dumps({'templates': str(render.TEMPLATES), 'subject': str(msg['Subject']),"
        " 'text': msg.get_body(('plain',)).get_content()}))\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path / "instance")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )
    assert run.returncode == 0, run.stderr
    out = SimpleNamespace(**json.loads(run.stdout))
    assert Path(out.templates).is_relative_to(site)  # rendered from the installed wheel, not the checkout
    assert out.subject.startswith("Xác nhận đăng ký theo dõi văn bản – ")
    assert "• Văn bản Luật Đất đai – hằng ngày" in out.text
