"""Regressions found by the crash-consistency script (scripts/kill_test.py, docs/RELIABILITY.md): each test
reproduces, without killing anything, the state a SIGKILL left behind."""

from __future__ import annotations

from test_scrapers_http import no_internet  # noqa: F401 (fixture)
from test_scrapers_refresh import all_provinces, fast, gateway  # noqa: F401 (fixtures)

from index import build
from kb.store import Store
from kbcli.main import cli


def test_a_refresh_that_finds_nothing_new_brings_an_index_left_behind_up_to_date(
    runner, gateway, all_provinces, instance
):
    # A refresh killed after storing its documents but before updating the index leaves the index
    # behind the store (--no-index leaves the same state). The rerun finds nothing new; it must still
    # bring the index up to date, or the stored documents stay unsearchable until something else changes.
    # an index built before anything was stored (`kb index rebuild` refuses an instance without documents)
    with Store(instance / "kb.sqlite") as store:
        build.rebuild(store, instance / "index")
    args = ["refresh", "vbpl", "--base-url", gateway.url]
    first = runner.invoke(cli, args + ["--no-index"])
    assert first.exit_code == 0, first.output
    with Store(instance / "kb.sqlite") as store:
        assert len(build.check(store, instance / "index").missing) == 5
    again = runner.invoke(cli, args)
    assert again.exit_code == 0, again.output
    assert "vbpl: 5 đã xem, 0 mới, 0 thay đổi, 5 không đổi" in again.output
    with Store(instance / "kb.sqlite") as store:
        report = build.check(store, instance / "index")
        assert (report.missing, report.extra, report.ok) == ([], [], True)
