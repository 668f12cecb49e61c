"""The administrator's login throttle (issue 20, item 7): failed logins counted atomically across threads and
worker processes (in a file of the instance, not in each process's memory), per client address and per
account, with a back-off that ends: a stranger cannot lock the administrator out for good, and the right
password works once the back-off has passed. An X-Forwarded-For header while web.proxy_count is 0 is logged."""

from __future__ import annotations

import logging
import threading

import pytest
from test_web_admin import CONFIG, PASSWORD, login
from web_fixtures import copy_instance, kb_instance, make_app  # noqa: F401

from kb import config as kbconfig
from web import admin as web_admin
from web import admin_state as kbadmin

WRONG = "không phải mật khẩu"


@pytest.fixture
def instance(kb_instance, tmp_path):  # noqa: F811
    folder = copy_instance(kb_instance, tmp_path / "instance", CONFIG)
    kbadmin.set_password(kbconfig.load(folder, environ={}), PASSWORD)
    return folder


@pytest.fixture
def clock(monkeypatch):
    """The throttle's clock, moved by the tests (no sleeping)."""
    now = [1_800_000_000.0]
    monkeypatch.setattr(web_admin, "now", lambda: now[0])
    return now


def test_40_parallel_wrong_passwords_from_two_processes_get_no_more_than_the_limit_through(instance, clock):
    apps = [make_app(instance), make_app(instance)]  # two worker processes of one instance: no shared memory
    limit = apps[0].config["ADMIN_LOGIN_LIMIT"]
    statuses: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(40)

    def attempt(i: int) -> None:
        client = apps[i % 2].test_client()
        client.get("/quan-tri/dang-nhap")
        start.wait(30)
        status = login(client, password=WRONG).status_code
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(statuses) == 40
    checked = statuses.count(403)  # the password was checked (and was wrong)
    assert checked <= limit, f"{checked} wrong passwords were checked, the limit is {limit}"
    assert statuses.count(429) == 40 - checked


def test_the_right_password_works_after_the_backoff(instance, clock):
    app = make_app(instance)
    client = app.test_client()
    for _ in range(app.config["ADMIN_LOGIN_LIMIT"]):
        assert login(client, password=WRONG).status_code == 403
    blocked = login(client)
    assert blocked.status_code == 429
    wait = int(blocked.headers["Retry-After"])
    assert 0 < wait <= 15 * 60  # a back-off, not a ban
    clock[0] += wait + 1
    response = login(client)
    assert response.status_code == 302 and response.headers["Location"] == "/quan-tri/"


def test_the_backoff_grows_with_each_failure_and_is_capped(instance, clock):
    app = make_app(instance)
    client = app.test_client()
    waits = []
    for _ in range(app.config["ADMIN_LOGIN_LIMIT"]):
        login(client, password=WRONG)
    for _ in range(8):
        blocked = login(client, password=WRONG)
        assert blocked.status_code == 429
        waits.append(int(blocked.headers["Retry-After"]))
        clock[0] += waits[-1] + 1
        assert login(client, password=WRONG).status_code == 403  # one more try after the wait
    assert waits == sorted(waits) and waits[1] > waits[0]
    assert max(waits) <= app.config["ADMIN_LOGIN_MAX_WAIT"] + 1


def test_a_stranger_cannot_lock_the_administrator_out_of_another_address(instance, clock):
    app = make_app(instance)
    stranger = {"REMOTE_ADDR": "203.0.113.9"}
    for _ in range(60):  # far more than any limit, every back-off waited out
        response = login(app.test_client(), password=WRONG, environ_base=stranger)
        if response.status_code == 429:
            clock[0] += int(response.headers["Retry-After"]) + 1
    office = app.test_client()
    response = login(office, environ_base={"REMOTE_ADDR": "10.0.0.7"})
    if response.status_code == 429:  # the account's own back-off is short
        wait = int(response.headers["Retry-After"])
        assert wait <= app.config["ADMIN_ACCOUNT_MAX_WAIT"] + 1
        clock[0] += wait + 1
        response = login(office, environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert response.status_code == 302


def test_x_forwarded_for_without_proxy_count_is_warned_about(instance, caplog):
    app = make_app(instance)
    with caplog.at_level(logging.WARNING):
        app.test_client().get("/", headers={"X-Forwarded-For": "198.51.100.4"})
    assert any("proxy_count" in r.getMessage() and "X-Forwarded-For" in r.getMessage() for r in caplog.records)
    caplog.clear()
    proxied = make_app(instance, PROXY_COUNT=1)
    with caplog.at_level(logging.WARNING):
        proxied.test_client().get("/", headers={"X-Forwarded-For": "198.51.100.4"})
    assert not any("proxy_count" in r.getMessage() for r in caplog.records)
