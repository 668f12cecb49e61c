"""Derived legal data (kb/legal/derived.py): computed by the writing commands when documents change, kept
in the store, read without computing; incremental, resumable after a killed run, rebuilt on a version
change; the delegation tracker's stored list equals the one computed from every document."""

import json
from pathlib import Path

import pytest

from kb.legal import derived
from kb.legal.delegation import DERIVATION, stored_delegations, track_delegations
from kb.model import Document
from kbcli.main import cli

FIXTURES = Path(__file__).parent / "fixtures" / "checker"


def fixture_documents() -> list[Document]:
    return [
        Document.from_dict(json.loads(line))
        for line in (FIXTURES / "store.jsonl").read_text(encoding="utf-8").splitlines()
    ]


def same(store, province: str) -> bool:
    return [d.to_dict() for d in stored_delegations(store, province)] == [
        d.to_dict() for d in track_delegations(store, province)
    ]


class Lengths(derived.Derivation):
    """A toy derivation: the length of each document's title; counts the documents it was given."""

    name = "test-lengths"
    label = "Độ dài tiêu đề"

    def __init__(self, fail_after: int | None = None):
        self.seen: list[str] = []
        self.fail_after = fail_after

    def update(self, store, uids):
        for uid in sorted(uids):
            if self.fail_after is not None and len(self.seen) >= self.fail_after:
                raise KeyboardInterrupt  # the run is killed here
            self.seen.append(uid)
            derived.delete(store, self.name, uid=uid)
            doc = store.get(uid)
            if doc is not None:
                derived.put(store, self.name, uid, uid, {"length": len(doc.title)})


@pytest.fixture
def toy():
    made = []

    def register(**kwargs):
        d = derived.register(Lengths(**kwargs))
        made.append(d)
        return d

    yield register
    derived.REGISTRY.pop(Lengths.name, None)


def test_incremental_updates_give_the_list_computed_from_every_document(store):
    assert derived.state(store, DERIVATION).version is None
    derived.refresh(store)  # the empty store: computed, nothing in it
    assert derived.state(store, DERIVATION).current
    docs = fixture_documents()
    # documents arrive in two runs, the resolutions before some of the documents they cite
    for part in (docs[::2], docs[1::2]):
        for doc in part:
            store.upsert(doc)
        assert not derived.state(store, DERIVATION).current
        results = {r.name: r for r in derived.refresh(store)}
        assert results[DERIVATION].documents >= len(part) and not results[DERIVATION].rebuilt
        assert derived.state(store, DERIVATION).current
        assert same(store, "Lai Châu") and same(store, "Sơn La")
    assert [d.status for d in stored_delegations(store, "Lai Châu")] == ["answered", "answered", "open"]
    # a parent deleted leaves no row; the resolutions citing it answer nothing
    parent = stored_delegations(store, "Lai Châu")[0].parent_uid
    store.delete(parent)
    derived.refresh(store)
    assert parent not in {d.parent_uid for d in stored_delegations(store, "Lai Châu")}
    assert same(store, "Lai Châu")
    # a full recomputation gives the same rows
    before = [r.data for r in derived.rows(store, DERIVATION)]
    derived.rebuild(store)
    assert [r.data for r in derived.rows(store, DERIVATION)] == before


def test_a_killed_run_resumes_where_it_stopped(store, toy, monkeypatch):
    monkeypatch.setattr(derived, "BATCH", 3)
    for doc in fixture_documents():
        store.upsert(doc)
    total = store.count()
    killed = toy(fail_after=4)  # two batches of three: the first is committed, the second is not
    with pytest.raises(KeyboardInterrupt):
        derived.refresh(store, names=[killed.name])
    st = derived.state(store, killed.name)
    assert st.rebuilding and st.rows == 3 and not st.current
    resumed = toy()  # the next writing command
    derived.refresh(store, names=[resumed.name])
    assert len(resumed.seen) == total - 3  # the three stored are not computed again
    st = derived.state(store, resumed.name)
    assert st.current and st.rows == total
    # incremental from here on: one document changed, one document given
    doc = store.get(resumed.seen[0])
    doc.title += " (sửa đổi)"
    store.upsert(doc)
    resumed.seen.clear()
    derived.refresh(store, names=[resumed.name])
    assert resumed.seen == [doc.uid]
    assert derived.rows(store, resumed.name, uid=doc.uid)[0].data == {"length": len(doc.title)}


def test_an_update_killed_between_batches_keeps_its_watermark(store, toy, monkeypatch):
    d = toy()
    derived.refresh(store, names=[d.name])
    monkeypatch.setattr(derived, "BATCH", 2)
    for doc in fixture_documents()[:5]:
        store.upsert(doc)
    derived.REGISTRY[d.name] = killed = Lengths(fail_after=2)
    with pytest.raises(KeyboardInterrupt):
        derived.refresh(store, names=[d.name])
    first = derived.state(store, d.name).event_id
    assert 0 < first < store.last_event_id()
    derived.REGISTRY[d.name] = again = Lengths()
    derived.refresh(store, names=[d.name])
    done = {e.uid for e in store.events(since_id=0) if e.id <= first}
    later = {e.uid for e in store.events(since_id=first)}
    assert set(again.seen) == later and (done - later) and (done - later).isdisjoint(again.seen)
    assert killed.seen[:2] and set(killed.seen[:2]) <= done
    assert derived.state(store, d.name).current


def test_a_new_version_is_rebuilt(store, toy):
    d = toy()
    store.upsert(fixture_documents()[0])
    derived.refresh(store, names=[d.name])
    d.version = 2
    d.seen.clear()
    assert derived.state(store, d.name).version == 1
    assert derived.refresh(store, names=[d.name])[0].rebuilt and d.seen == [fixture_documents()[0].uid]
    assert derived.state(store, d.name).version == 2


def test_the_commands_that_write_compute_it_and_the_readers_do_not(runner, tmp_path):
    result = runner.invoke(cli, ["import", "--no-index", str(FIXTURES / "store.jsonl")])
    assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["derived", "status"])
    assert result.exit_code == 0 and "Nội dung giao HĐND quy định: đã cập nhật" in result.output
    result = runner.invoke(cli, ["derived", "rebuild"])
    assert result.exit_code == 0 and "Nội dung giao HĐND quy định: đã tính lại" in result.output
