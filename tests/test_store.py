import sqlite3

import pytest

from kb import store as st
from kb.errors import StoreError
from kb.model import Document
from kb.store import Store


def doc(**overrides) -> Document:
    data = {
        "uid": "vbpl:1",
        "number": "15/2025/NQ-HĐND",
        "title": "Nghị quyết quy định mức chi",
        "issuer": "HĐND tỉnh Lai Châu",
        "issued": "2025-07-10",
        "effective": "2025-07-20",
        "status": "Còn hiệu lực",
        "text": "Điều 1. Mức chi\nMức chi là 100 nghìn đồng.",
    }
    data.update(overrides)
    return Document.from_dict(data)


def kinds(store, since=0):
    return [(e.uid, e.kind) for e in store.events(since)]


def test_new_then_unchanged(store):
    assert store.upsert(doc()).kinds == [st.NEW]
    change = store.upsert(doc())
    assert change.kinds == [] and not change.changed
    assert kinds(store) == [("vbpl:1", st.NEW)]
    assert store.versions("vbpl:1") == []


def test_whitespace_is_not_a_text_change(store):
    store.upsert(doc())
    assert store.upsert(doc(text="Điều 1.   Mức chi\n\nMức chi là 100 nghìn   đồng.")).kinds == []


def test_status_change_records_old_and_new(store):
    store.upsert(doc())
    mark = store.last_event_id()
    change = store.upsert(doc(status="HHL"))
    assert change.kinds == [st.STATUS]
    assert (change.old_status, change.new_status) == ("Còn hiệu lực", "Hết hiệu lực toàn bộ")
    [event] = store.events(mark)
    assert (
        event.kind == st.STATUS
        and event.detail["old"] == "Còn hiệu lực"
        and event.detail["new"] == "Hết hiệu lực toàn bộ"
    )


def test_text_change_keeps_previous_version(store):
    store.upsert(doc())
    assert store.upsert(doc(text="Điều 1. Mức chi\nMức chi là 200 nghìn đồng.")).kinds == [st.TEXT]
    [(version, _, previous)] = store.versions("vbpl:1")
    assert version == 1 and "100 nghìn" in previous.text
    assert "200 nghìn" in store.get("vbpl:1").text
    assert store.version_count("vbpl:1") == 2


def test_metadata_change_names_the_fields(store):
    store.upsert(doc())
    mark = store.last_event_id()
    assert store.upsert(doc(effective="2025-08-01", title="Nghị quyết quy định mức chi mới")).kinds == [st.METADATA]
    [event] = store.events(mark)
    assert set(event.detail["fields"]) == {"effective", "title"}
    assert event.detail["old"]["effective"] == "2025-07-20" and event.detail["new"]["effective"] == "2025-08-01"


def test_relation_added_and_removed_both_ways(store):
    store.upsert(doc(uid="vbpl:old", number="01/2020/NQ-HĐND", title="Nghị quyết cũ", issued="2020-01-01"))
    store.upsert(doc())
    mark = store.last_event_id()
    rel = {"type": "thay_the", "target_number": "01/2020/NQ-HĐND"}
    assert store.upsert(doc(relations=[rel])).kinds == [st.REL_ADDED]
    events = store.events(mark)
    assert [(e.uid, e.kind) for e in events] == [("vbpl:1", st.REL_ADDED), ("vbpl:old", st.REL_ADDED)]
    assert events[1].detail["direction"] == "incoming" and events[1].detail["from_uid"] == "vbpl:1"
    [(holder, incoming)] = store.incoming("vbpl:old")
    assert holder == "vbpl:1" and incoming.type == "thay_the"
    mark = store.last_event_id()
    assert store.upsert(doc(relations=[])).kinds == [st.REL_REMOVED]
    assert [e.kind for e in store.events(mark)] == [st.REL_REMOVED, st.REL_REMOVED]
    assert store.incoming("vbpl:old") == []


def test_relation_to_unstored_target_resolves_when_it_arrives(store):
    store.upsert(doc(relations=[{"type": "can_cu", "target_number": "72/2025/QH15"}]))
    assert store.resolve_target(store.get("vbpl:1").relations[0]) is None
    store.upsert(
        doc(
            uid="vbpl:law",
            number="72/2025/QH15",
            title="Luật Tổ chức chính quyền địa phương",
            issuer="Quốc hội",
            issued="2025-06-16",
        )
    )
    assert store.resolve_target(store.get("vbpl:1").relations[0]) == "vbpl:law"
    assert [h for h, _ in store.incoming("vbpl:law")] == ["vbpl:1"]


def test_incoming_by_number_only_when_one_document_has_it(store):
    """A relation naming only a number reaches the one document with that number; with two, neither (the
    count of documents per number is read from the number_key column, not from the documents)."""
    store.upsert(doc(relations=[{"type": "can_cu", "target_number": "72/2025/QH15"}]))
    law = {"number": "72/2025/QH15", "title": "Luật", "issuer": "Quốc hội", "issued": "2025-06-16"}
    store.upsert(doc(uid="vbpl:law", **law))
    assert [h for h, _ in store.incoming("vbpl:law")] == ["vbpl:1"]
    assert store.incoming("vbpl:missing") == []
    store.upsert(doc(uid="congbao:law-copy", **dict(law, issuer="Ủy ban Thường vụ Quốc hội")))
    assert store.incoming("vbpl:law") == [] and store.incoming("congbao:law-copy") == []


def test_same_number_in_two_provinces_stays_two_documents(store):
    store.upsert(doc(uid="vbpl:a", number="01/2026/NQ-HĐND", issuer="HĐND tỉnh Lai Châu"))
    store.upsert(doc(uid="vbpl:b", number="01/2026/NQ-HĐND", issuer="HĐND tỉnh Sơn La"))
    assert store.count() == 2


def test_same_document_from_two_sources_becomes_one_record(store):
    store.upsert(doc())
    change = store.upsert(
        Document.from_dict(
            {
                "uid": "congbao_tinh:ABC",
                "number": "15/2025/nq-hdnd",
                "title": "NQ mức chi (công báo)",
                "issuer": "HĐND tỉnh Lai Châu",
                "issued": "2025-07-10",
                "gazette": "Số 12, trang 3",
                "status": "Đang hiệu lực",
            }
        )
    )
    assert change.uid == "vbpl:1" and change.kinds == [st.METADATA]
    merged = store.get("congbao_tinh:ABC")  # the alias finds the merged record
    assert merged.uid == "vbpl:1" and store.count() == 1
    assert merged.title == "Nghị quyết quy định mức chi"  # vbpl ranks higher than the gazette
    assert merged.gazette == "Số 12, trang 3"  # filled from the gazette
    assert merged.provenance["title"] == "vbpl" and merged.provenance["gazette"] == "congbao_tinh"
    # a higher-ranked source overwrites a lower one's value
    store.upsert(
        Document.from_dict(
            {
                "uid": "vbpl:1",
                "number": "15/2025/NQ-HĐND",
                "title": "Nghị quyết quy định mức chi",
                "issuer": "HĐND tỉnh Lai Châu",
                "issued": "2025-07-10",
                "gazette": "Số 12",
                "status": "CHL",
                "text": "Điều 1. Mức chi\nMức chi là 100 nghìn đồng.",
            }
        )
    )
    assert store.get("vbpl:1").gazette == "Số 12"


def test_delete_logs_and_keeps_the_last_version(store):
    store.upsert(doc())
    assert store.delete("vbpl:1") is True
    assert store.get("vbpl:1") is None and store.count() == 0
    assert store.events()[-1].kind == st.DELETED
    assert store.versions("vbpl:1")[-1][2].title == "Nghị quyết quy định mức chi"
    assert store.delete("vbpl:1") is False


def test_failed_transaction_leaves_nothing(store):
    store.upsert(doc())
    with pytest.raises(RuntimeError):
        with store.transaction():
            store._upsert(doc(uid="vbpl:2", number="2/2025/NQ-HĐND"))
            raise RuntimeError("crash in the middle")
    assert store.count() == 1 and len(store.events()) == 1


def test_wal_mode_and_schema_version(store, tmp_path):
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == len(st.MIGRATIONS)
    assert store.integrity_check() == "ok"


def test_newer_schema_is_refused(tmp_path):
    path = tmp_path / "kb.sqlite"
    db = sqlite3.connect(path)
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(StoreError, match="phiên bản mới hơn"):
        Store(path)


def test_garbage_file_is_a_clear_error(tmp_path):
    path = tmp_path / "kb.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="không mở được"):
        Store(path)


def test_runs_and_state(store):
    run = store.start_run("vbpl")
    store.finish_run(run, {"seen": 3, "new": 1}, error=None)
    [row] = store.runs()
    assert row["source"] == "vbpl" and row["counts"] == {"seen": 3, "new": 1} and row["finished"]
    store.set_state("vbpl.watermark", "2026-04-28")
    assert store.get_state("vbpl.watermark") == "2026-04-28"
    assert store.get_state("missing", "x") == "x"


def test_two_ids_of_one_source_with_the_same_key_stay_two_documents(store):
    store.upsert(doc(uid="vbpl:1"))
    change = store.upsert(doc(uid="vbpl:1-corrigendum", title="Đính chính Nghị quyết quy định mức chi"))
    assert change.uid == "vbpl:1-corrigendum" and change.is_new
    assert store.count() == 2


def test_concurrent_first_open_of_a_new_store(tmp_path):
    """Two processes creating the same new store at once: both end up with the full schema."""
    import multiprocessing

    path = tmp_path / "kb.sqlite"
    ctx = multiprocessing.get_context("spawn")
    ready = ctx.Barrier(4)
    procs = [ctx.Process(target=_open_and_write, args=(str(path), i, ready)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    with Store(path) as s:
        assert s.count() == 4


def _open_and_write(path: str, i: int, ready) -> None:
    ready.wait(30)  # all four open the new file at the same moment
    with Store(path) as s:
        s.upsert(doc(uid=f"vbpl:{i}", number=f"{i + 1}/2025/NQ-HĐND"))


def test_number_keys_made_by_an_older_parser_are_recomputed_on_open(tmp_path):
    path = tmp_path / "kb.sqlite"
    with Store(path) as store:
        store.upsert(
            Document.from_dict(
                {
                    "uid": "phapdien:73",
                    "number": "73-CP",
                    "title": "Nghị định 73-CP",
                    "issuer": "Chính phủ",
                    "issued": "1993-10-30",
                }
            )
        )
        store.upsert(
            Document.from_dict(
                {
                    "uid": "phapdien:1",
                    "number": "1/2020/NĐ-CP",
                    "title": "Nghị định sửa đổi",
                    "relations": [{"type": "amends", "target_number": "73-CP"}],
                }
            )
        )
        # what session 1's parser stored: "73-CP" did not parse, so its key was the folded text
        store.db.execute(
            "UPDATE documents SET number_key='73-cp', key='73-cp|chinh phu|1993-10-30' WHERE uid='phapdien:73'"
        )
        store.db.execute("UPDATE relations SET target_key='73-cp'")
        store.db.execute("UPDATE state SET value='1' WHERE name='number_keys'")
    with Store(path) as store:
        assert [d.uid for d in store.find_by_number("73/cp")] == ["phapdien:73"]
        assert store.db.execute("SELECT target_key FROM relations").fetchone()[0] == "73/cp"
        assert (
            store.db.execute("SELECT key FROM documents WHERE uid='phapdien:73'").fetchone()[0]
            == "73/cp|chinh phu|1993-10-30"
        )
        assert store.get_state("number_keys") == "2"


def test_dated_finds_documents_by_a_date_within_a_range(store):
    store.upsert(doc(uid="t:a", number="1/2025/NQ-HĐND", effective="2025-03-01", status="Còn hiệu lực"))
    store.upsert(doc(uid="t:b", number="2/2025/NQ-HĐND", effective="2025-03-07", expires="2025-03-31"))
    store.upsert(doc(uid="t:c", number="3/2025/NQ-HĐND", effective="2025-03-08"))
    found = store.dated("effective", "2025-03-01", "2025-03-07")
    assert [(d.uid, d.day) for d in found] == [("t:a", "2025-03-01"), ("t:b", "2025-03-07")]  # both ends included
    assert found[0].status == "Còn hiệu lực"
    assert [d.uid for d in store.dated("expires", "2025-03-01", "2025-12-31")] == ["t:b"]
    with pytest.raises(ValueError, match="not a date column"):
        store.dated("title') OR 1=1 --", "a", "z")


def test_a_feature_above_the_core_brings_its_own_tables(tmp_path):
    """Store.ensure_schema: a feature's migrations run once, forward, recorded in the state table;
    the core creates none of them (kb.alerts.records uses this for the alert tables)."""
    steps = (
        "CREATE TABLE toy_items (id INTEGER PRIMARY KEY, name TEXT NOT NULL)",
        "ALTER TABLE toy_items ADD COLUMN note TEXT NOT NULL DEFAULT ''",
    )
    with Store(tmp_path / "kb.sqlite") as store:
        tables = {r[0] for r in store.db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert not any(t.startswith(("toy_", "alert_")) for t in tables)
        store.ensure_schema("toy", steps[:1])
        store.db.execute("INSERT INTO toy_items(name) VALUES ('một')")
        store.ensure_schema("toy", steps[:1])  # again: nothing happens
        assert store.get_state("schema:toy") == "1"
    with Store(tmp_path / "kb.sqlite") as store:  # a later version adds a step: only that one runs
        store.ensure_schema("toy", steps)
        assert [tuple(r) for r in store.db.execute("SELECT name, note FROM toy_items")] == [("một", "")]
        assert store.get_state("schema:toy") == "2"
    with Store(tmp_path / "kb.sqlite") as store:  # an older version meets the newer tables
        with pytest.raises(StoreError, match="bảng toy .* phiên bản mới hơn"):
            store.ensure_schema("toy", steps[:1])
