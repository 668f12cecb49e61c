"""Issue 20, item 9: absolute URLs never follow an arbitrary Host header, and the instance's private files
(the database with the subscribers' addresses and its -wal/-shm, the secret key, the administrator's
files) are created readable by their owner only, whatever the umask."""

from __future__ import annotations

import os
import stat

import pytest
from bs4 import BeautifulSoup
from web_fixtures import kb_instance, make_app  # noqa: F401

from kb import config as kbconfig
from kb.alerts.tokens import secret_key
from kb.store import Store

EVIL = "evil.example"


def _links(app, path: str, host: str) -> list[str]:
    response = app.test_client().get(path, headers={"Host": host})
    assert response.status_code == 200
    soup = BeautifulSoup(response.get_data(as_text=True), "xml")
    found = [tag.get("href") or tag.get("template") for tag in soup.find_all(["link", "Url"])]
    found += [tag.get_text() for tag in soup.find_all(["id", "Image"])]
    return [u for u in found if u and u.startswith("http")]


@pytest.mark.parametrize("path", ["/opensearch.xml", "/tim-kiem.atom?q=học+phí"])
def test_without_site_url_an_arbitrary_host_never_makes_the_links(kb_instance, path):  # noqa: F811
    links = _links(make_app(kb_instance), path, EVIL)
    assert links and not [u for u in links if EVIL in u]
    assert all(u.startswith("http://127.0.0.1:8080/") for u in links)  # site.url's default


@pytest.mark.parametrize("path", ["/opensearch.xml", "/tim-kiem.atom?q=học+phí"])
def test_site_url_makes_the_links_whatever_the_host(kb_instance, path):  # noqa: F811
    app = make_app(kb_instance, SITE_URL="https://vanban.hdnd.example", SITE_URL_SET=True)
    links = _links(app, path, EVIL)
    assert links and all(u.startswith("https://vanban.hdnd.example/") for u in links)


def test_a_trusted_host_keeps_its_own_name_in_the_links(kb_instance):  # noqa: F811
    app = make_app(kb_instance, SITE_URL="https://vanban.hdnd.example", SITE_URL_SET=True)
    app.config["SITE_HOSTS"] = ["10.0.0.5", "kb.local:8080"]
    assert all(u.startswith("http://10.0.0.5/") for u in _links(app, "/opensearch.xml", "10.0.0.5"))
    assert all(u.startswith("http://kb.local:8080/") for u in _links(app, "/opensearch.xml", "kb.local:8080"))
    assert all(u.startswith("https://vanban.hdnd.example/") for u in _links(app, "/opensearch.xml", EVIL))


def test_web_trusted_hosts_is_read_from_the_configuration(tmp_path):
    (tmp_path / "config.toml").write_text('[web]\ntrusted_hosts = ["10.0.0.5"]\n', encoding="utf-8")
    app = make_app(tmp_path)
    assert app.config["SITE_HOSTS"] == ["10.0.0.5"]
    assert app.config.get("TRUSTED_HOSTS") is None  # Flask's own setting (a 400 for other hosts) stays off


@pytest.fixture
def loose_umask():
    old = os.umask(0o022)  # what most servers have: files 0644 unless the program says otherwise
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_database_and_its_wal_and_shm_are_created_private(tmp_path, loose_umask):
    store = Store(tmp_path / "kb.sqlite")
    store.db.execute("CREATE TABLE IF NOT EXISTS probe (x)")
    store.db.execute("INSERT INTO probe VALUES (1)")
    for name in ("kb.sqlite", "kb.sqlite-wal", "kb.sqlite-shm"):
        assert (tmp_path / name).exists(), name
        assert _mode(tmp_path / name) == 0o600, f"{name} is {oct(_mode(tmp_path / name))}"
    store.close()


def test_a_world_readable_database_of_an_older_version_is_made_private_on_open(tmp_path, loose_umask):
    Store(tmp_path / "kb.sqlite").close()
    os.chmod(tmp_path / "kb.sqlite", 0o644)
    Store(tmp_path / "kb.sqlite").close()
    assert _mode(tmp_path / "kb.sqlite") == 0o600


def test_a_group_readable_database_is_kept_so(tmp_path, loose_umask):
    """0640 with a group is an administrator's choice (docs/SECURITY.md): only the world's bits are removed."""
    Store(tmp_path / "kb.sqlite").close()
    os.chmod(tmp_path / "kb.sqlite", 0o640)
    Store(tmp_path / "kb.sqlite").close()
    assert _mode(tmp_path / "kb.sqlite") == 0o640


def test_the_secret_key_and_the_admin_files_are_private(tmp_path, loose_umask):
    config = kbconfig.load(tmp_path)
    secret_key(config)
    assert _mode(tmp_path / "secret.key") == 0o600
    from web import admin_state

    admin_state.set_password(config, "mật khẩu đủ dài 123")
    assert _mode(admin_state.password_path(config)) == 0o600
    log = admin_state.open_refresh_log(config)
    log.close()
    assert _mode(admin_state.refresh_log_path(config)) == 0o600
