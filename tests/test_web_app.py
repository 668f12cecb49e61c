"""The app factory's configuration order, the first-run pages, and `kb serve` (waitress)."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from web_fixtures import kb_instance, make_app, page  # noqa: F401

from index import build
from kb import config as kbconfig
from kb.model import Document
from kb.store import Store
from kbcli.main import cli
from web import create_app

ROOT = Path(__file__).resolve().parent.parent


# --- configuration: defaults < instance config.toml < environment < test config ---------------
def test_configuration_order(instance, monkeypatch):
    assert create_app().config["PER_PAGE"] == 20  # the default
    assert create_app().config["INSTANCE"] == str(instance.resolve())  # KB_INSTANCE, read at create time
    instance.mkdir(parents=True)
    (instance / "config.toml").write_text('[site]\nname = "Tra cứu HĐND"\n[web]\nper_page = 7\n', encoding="utf-8")
    app = create_app()
    assert (app.config["PER_PAGE"], app.config["SITE_NAME"]) == (7, "Tra cứu HĐND")
    monkeypatch.setenv("KB_WEB_PER_PAGE", "5")
    monkeypatch.setenv("KB_SITE_NAME", "Tên từ môi trường")
    app = create_app()
    assert (app.config["PER_PAGE"], app.config["SITE_NAME"]) == (5, "Tên từ môi trường")
    app = create_app({"PER_PAGE": 3, "SITE_NAME": "Thử"})
    assert (app.config["PER_PAGE"], app.config["SITE_NAME"]) == (3, "Thử")
    assert app.config["DB_PATH"] == str(instance.resolve() / "kb.sqlite")


def test_site_name_and_page_size_are_used(kb_instance):
    client = make_app(kb_instance, SITE_NAME="Văn phòng HĐND tỉnh Lai Châu", PER_PAGE=7).test_client()
    tree = page(client, "/tim-kiem?q=bến+xe")
    assert len(tree.select("li.hit")) == 7
    assert tree.select_one(".brand-name").get_text() == "Văn phòng HĐND tỉnh Lai Châu"


def test_importing_web_reads_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("KB_INSTANCE", str(tmp_path / "later"))
    code = "import web, web.search, web.documents, web.api, web.feeds, web.recent; print('ok')"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert result.stdout.strip() == "ok", result.stderr
    assert not (tmp_path / "later").exists() and not (tmp_path / "instance").exists()


# --- first run ---------------------------------------------------------------------------------
def test_first_run_page_explains_how_to_fill_the_instance(tmp_path):
    folder = tmp_path / "new"
    client = make_app(folder).test_client()
    for url in ("/", "/tim-kiem?q=học+phí", "/van-ban-moi"):
        tree = page(client, url)
        assert tree.h1.get_text() == "Cơ sở dữ liệu chưa có văn bản"
        commands = [c.get_text() for c in tree.select(".firstrun pre code")]
        assert commands == ["kb refresh", "kb import van-ban.jsonl"]
        assert not tree.select("ol.hits")
    body = client.get("/api/search?q=x").get_json()
    assert body["status"] == 503 and "kb import" in body["error"]
    page(client, "/van-ban/vbpl:1", status=404)
    assert not (folder / "kb.sqlite").exists()  # the web app never creates the store


def test_documents_but_no_index_says_to_build_it(tmp_path):
    conf = kbconfig.load(tmp_path / "instance", environ={})
    with Store(conf.db_path) as store:
        store.upsert(Document.from_dict({"uid": "t:1", "number": "1/2025/NQ-HĐND", "title": "Nghị quyết về học phí"}))
    client = make_app(conf.instance).test_client()
    tree = page(client, "/")
    assert tree.h1.get_text() == "Chưa có chỉ mục tìm kiếm"
    assert "kb index rebuild" in tree.select_one(".firstrun pre").get_text()
    assert client.get("/api/search?q=x").status_code == 503
    assert page(client, "/van-ban/t:1").h1.get_text(strip=True) == "Nghị quyết về học phí"  # the store still reads
    with Store(conf.db_path) as store:
        build.rebuild(store, conf.index_dir)
    assert page(make_app(conf.instance).test_client(), "/tim-kiem?q=học+phí").select("li.hit")


def test_the_app_sees_an_index_update_without_a_restart(tmp_path):
    conf = kbconfig.load(tmp_path / "instance", environ={})
    with Store(conf.db_path) as store:
        store.upsert(Document.from_dict({"uid": "t:1", "number": "1/2025/NQ-HĐND", "title": "Nghị quyết về học phí"}))
        build.rebuild(store, conf.index_dir)
    app = make_app(conf.instance)
    app.extensions["kb_search"].check_interval = 0
    client = app.test_client()
    assert client.get("/api/search?q=trước+bạ").get_json()["total"] == 0
    with Store(conf.db_path) as store:
        store.upsert(
            Document.from_dict({"uid": "t:2", "number": "2/2025/NQ-HĐND", "title": "Nghị quyết về lệ phí trước bạ"})
        )
        build.update(store, conf.index_dir)
    assert client.get("/api/search?q=trước+bạ").get_json()["total"] == 1


# --- kb serve ------------------------------------------------------------------------------------
def test_kb_serve_hands_the_app_to_waitress(runner, instance, monkeypatch):
    import waitress

    seen = {}
    monkeypatch.setattr(waitress, "serve", lambda app, **options: seen.update(app=app, **options))
    result = runner.invoke(cli, ["serve", "--port", "9999", "--host", "0.0.0.0"])
    assert result.exit_code == 0, result.output
    assert (seen["host"], seen["port"]) == ("0.0.0.0", 9999)
    assert seen["app"].config["INSTANCE"] == str(instance.resolve())
    assert "kb refresh" in result.output and "http://0.0.0.0:9999/" in result.output
    tree = BeautifulSoup(seen["app"].test_client().get("/").get_data(as_text=True), "html.parser")
    assert tree.h1.get_text() == "Cơ sở dữ liệu chưa có văn bản"
    assert runner.invoke(cli, ["serve", "--help"]).output.count("--port") == 1


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_kb_serve_serves_over_http_with_waitress(kb_instance, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KB_")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from kbcli.main import cli; cli()",
            "--instance",
            str(kb_instance),
            "serve",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/tim-kiem?q=h%E1%BB%8Dc+ph%C3%AD", timeout=5) as r:
                    body, server = r.read().decode(), r.headers["Server"]
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail(
                        f"kb serve did not answer: {process.stdout.read() if process.poll() is not None else ''}"
                    )
                time.sleep(0.2)
        assert server == "hdnd-kb"  # waitress, not a development server
        tree = BeautifulSoup(body, "html.parser")
        assert tree.select_one(".results-count").get_text(strip=True) == "Tìm thấy 5 văn bản"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_docs_mention_every_route_setting_and_option(kb_instance):
    from web import WEB_DEFAULTS

    docs = (ROOT / "docs" / "WEB.md").read_text(encoding="utf-8")
    for key in WEB_DEFAULTS:
        assert f"`{key.lower()}`" in docs and f"KB_WEB_{key}" in docs, key
    app = make_app(kb_instance)
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        shown = rule.rule.replace("<path:uid>", "<uid>").replace("<int:version>", "<n>")
        assert f"`{shown}`" in docs or f"`{shown}?" in docs or f"GET {shown}`" in docs, rule.rule
    for option in ("--host", "--port", "--threads"):
        assert option in docs, option


def test_search_after_a_changed_document_was_reindexed(tmp_path):
    conf = kbconfig.load(tmp_path / "instance", environ={})
    with Store(conf.db_path) as store:
        store.upsert(Document.from_dict({"uid": "t:1", "number": "1/2025/NQ-HĐND", "title": "Nghị quyết về học phí"}))
        store.upsert(Document.from_dict({"uid": "t:2", "number": "2/2025/NQ-HĐND", "title": "Nghị quyết về lệ phí"}))
        build.rebuild(store, conf.index_dir)
        store.upsert(
            Document.from_dict(
                {
                    "uid": "t:1",
                    "number": "1/2025/NQ-HĐND",
                    "title": "Nghị quyết về học phí mầm non",
                    "status": "Còn hiệu lực",
                }
            )
        )
        build.update(store, conf.index_dir)
    tree = page(make_app(conf.instance).test_client(), "/tim-kiem?q=học+phí+mầm+non")
    assert [a["href"] for a in tree.select("li.hit .hit-title a")] == ["/van-ban/t:1"]
