"""Validity on a date (kb/legal/validity.py): one test per rule of docs/VALIDITY.md, with expected statuses."""

from kb import vocab
from kb.legal.validity import (
    DATES,
    NOTE,
    RELATION,
    SOURCE,
    Impact,
    Period,
    article_validity,
    impacts_of,
    status_in,
    timeline,
    validity,
    validity_of,
)
from kb.model import ChangedBy, Document


def law(uid="t:83", number="83/2015/QH13", **kw) -> Document:
    data = {"uid": uid, "number": number, "title": "Luật Ngân sách nhà nước", "doc_type": "Luật"} | kw
    return Document.from_dict(data)


def replaced_by_89(**kw) -> Impact:
    return Impact(vocab.REL_REPLACES, "2026-01-01", "t:89", "89/2025/QH15", "Luật Ngân sách nhà nước", "Luật", **kw)


# --- no evidence: Chưa xác định, with what is known -----------------------------------------------------


def test_an_effective_date_alone_is_not_evidence_of_being_in_force():
    v = validity_of(law(effective="2017-01-01"), [], "2027-01-01")
    assert v.status == vocab.UNKNOWN
    assert v.reason == "Có hiệu lực từ ngày 01/01/2017; CSDL chưa có thông tin về văn bản thay thế, bãi bỏ"
    assert v.evidence == ()


def test_before_its_issue_date_a_document_without_effective_date_is_not_yet_in_force():
    v = validity_of(law(issued="2015-06-25", status="Còn hiệu lực"), [], "2015-01-01")
    assert (v.status, v.until) == (vocab.NOT_YET, "2015-06-25")
    assert validity_of(law(issued="2015-06-25", status="Còn hiệu lực"), [], "2015-06-25").status == vocab.IN_FORCE


def test_nothing_known_says_so():
    v = validity_of(law(), [], "2027-01-01")
    assert v.status == vocab.UNKNOWN
    assert "chưa có ngày có hiệu lực" in v.reason


# --- the source's word, as of its stamp, unless a later event contradicts it ---------------------------


def test_the_source_saying_in_force_is_evidence_with_its_stamp():
    doc = law(effective="2026-01-01", status="Còn hiệu lực", source_updated="2026-03-02T08:00:00")
    v = validity_of(doc, [], "2026-12-01")
    assert v.status == vocab.IN_FORCE
    assert (v.since, v.until) == ("2026-01-01", None)
    assert v.evidence[0].kind == SOURCE and v.evidence[0].stamp == "2026-03-02T08:00:00"
    assert v.reason.startswith("Còn hiệu lực theo nguồn t (cập nhật 02/03/2026)")


def test_before_its_effective_date_a_document_is_not_yet_in_force_whatever_the_source_says():
    doc = law(effective="2026-01-01", status="Còn hiệu lực")
    v = validity_of(doc, [], "2025-06-01")
    assert (v.status, v.until) == (vocab.NOT_YET, "2026-01-01")
    assert v.evidence[0].kind == DATES


def test_a_later_replacement_contradicts_the_source():
    doc = law(effective="2017-01-01", status="Còn hiệu lực")
    v = validity_of(doc, [replaced_by_89()], "2026-06-01")
    assert (v.status, v.since) == (vocab.EXPIRED, "2026-01-01")
    assert v.reason == "Bị thay thế bởi Luật số 89/2025/QH15 từ ngày 01/01/2026"
    assert v.evidence[0].kind == RELATION and v.evidence[0].impact.by_number == "89/2025/QH15"
    assert v.by.by_uid == "t:89"


def test_source_saying_expired_without_a_date_is_expired_but_a_later_replacement_bounds_it():
    doc = law(effective="2017-01-01", status="Hết hiệu lực toàn bộ")
    assert validity_of(doc, [], "2020-01-01").status == vocab.EXPIRED
    v = validity_of(doc, [replaced_by_89()], "2020-01-01")
    assert (v.status, v.since, v.until) == (vocab.IN_FORCE, "2017-01-01", "2026-01-01")


# --- the period bounded by what the store knows --------------------------------------------------------


def test_a_period_bounded_by_a_known_replacement_is_in_force_between():
    doc = law(effective="2017-01-01")
    v = validity_of(doc, [replaced_by_89()], "2025-06-01")
    assert (v.status, v.since, v.until) == (vocab.IN_FORCE, "2017-01-01", "2026-01-01")
    assert [e.kind for e in v.evidence] == [DATES, RELATION]
    assert "sẽ bị thay thế bởi Luật số 89/2025/QH15 từ ngày 01/01/2026" in v.reason
    assert v.upcoming[0].by_number == "89/2025/QH15"


def test_an_expiry_date_bounds_the_period_and_ends_it():
    doc = law(effective="2020-01-01", expires="2025-01-01")
    assert validity_of(doc, [], "2024-12-31").status == vocab.IN_FORCE
    v = validity_of(doc, [], "2025-01-01")
    assert (v.status, v.since) == (vocab.EXPIRED, "2025-01-01")


def test_repeal_and_suspension():
    doc = law(effective="2017-01-01")
    repeal = Impact(vocab.REL_REPEALS, "2024-07-01", by_number="1/2024/QH15", by_type="Luật")
    v = validity_of(doc, [repeal], "2024-07-01")
    assert v.status == vocab.EXPIRED and v.reason.startswith("Bị bãi bỏ bởi Luật số 1/2024/QH15")
    suspend = Impact(vocab.REL_SUSPENDS, "2024-07-01", by_number="5/2024/QĐ-TTg", by_type="Quyết định")
    assert validity_of(doc, [suspend], "2024-08-01").status == vocab.SUSPENDED


def test_a_partial_repeal_makes_it_partly_expired_and_ends_the_articles_named():
    doc = law(effective="2017-01-01", status="Còn hiệu lực")
    partial = Impact(vocab.REL_REPEALS, "2020-01-01", by_number="9/2019/QH14", by_type="Luật", articles="Điều 5")
    v = validity_of(doc, [partial], "2021-01-01")
    assert v.status == vocab.PARTLY_EXPIRED
    assert article_validity(v, [partial], "5").status == vocab.EXPIRED
    assert article_validity(v, [partial], "6").status == vocab.PARTLY_EXPIRED
    assert validity_of(doc, [partial], "2019-01-01").status == vocab.IN_FORCE


def test_amendments_do_not_end_a_document_but_are_listed_per_article():
    doc = law(effective="2011-01-01", status="Còn hiệu lực")
    amended = Impact(
        vocab.REL_AMENDS,
        "2020-07-01",
        by_number="52/2019/QH14",
        by_type="Luật",
        by_article="Điều 2",
        articles="Điều 28",
    )
    v = validity_of(doc, [amended], "2027-01-01")
    assert v.status == vocab.IN_FORCE and v.amendments == (amended,)
    art = article_validity(v, [amended], "28")
    assert art.amended_by == (amended,)
    assert amended.describe() == "Được sửa đổi, bổ sung bởi Điều 2 Luật số 52/2019/QH14 từ ngày 01/07/2020"


# --- the timeline the index stores ------------------------------------------------------------------------


def test_the_timeline_agrees_with_validity_on_every_date():
    doc = law(effective="2017-01-01")
    impacts = [replaced_by_89()]
    periods = timeline(doc, impacts)
    assert periods == [
        Period(None, "2017-01-01", vocab.NOT_YET),
        Period("2017-01-01", "2026-01-01", vocab.IN_FORCE),
        Period("2026-01-01", None, vocab.EXPIRED),
    ]
    for day in ("2016-12-31", "2017-01-01", "2025-12-31", "2026-01-01", "2030-01-01"):
        assert status_in(periods, day) == validity_of(doc, impacts, day).status


# --- from the store -----------------------------------------------------------------------------------------


def test_validity_reads_relations_held_by_other_documents_and_notes_of_the_document(store):
    store.upsert(law(effective="2017-01-01"))
    store.upsert(
        law(
            uid="t:89",
            number="89/2025/QH15",
            effective="2026-01-01",
            status="Còn hiệu lực",
            relations=[{"type": "thay_the", "target_number": "83/2015/QH13"}],
        )
    )
    doc = store.get("t:83")
    assert validity(store, doc, "2026-02-01").reason == "Bị thay thế bởi Luật số 89/2025/QH15 từ ngày 01/01/2026"
    assert validity(store, doc, "2025-06-01").status == vocab.IN_FORCE
    assert validity(store, store.get("t:89"), "2026-02-01").status == vocab.IN_FORCE

    noted = law(
        uid="t:58",
        number="58/2010/QH12",
        effective="2011-01-01",
        changed_by=[
            {
                "type": "sua_doi",
                "article": "28",
                "by_number": "52/2019/QH14",
                "by_type": "Luật",
                "effective": "2020-07-01",
            }
        ],
    )
    store.upsert(noted)
    (impact,) = impacts_of(store, store.get("t:58"))
    assert (impact.origin, impact.articles, impact.effective) == (NOTE, "Điều 28", "2020-07-01")


def test_changed_by_survives_export_and_import():
    doc = law(changed_by=[{"type": "sua_doi", "article": "28", "by_number": "52/2019/QH14", "effective": "01/07/2020"}])
    assert doc.changed_by == [ChangedBy("sua_doi", "28", "52/2019/QH14", effective="2020-07-01", source="t")]
    again = Document.from_dict(doc.to_dict())
    assert again.changed_by[0].effective == "2020-07-01"
    assert again.changed_by == doc.changed_by


# --- derived changes are change events ------------------------------------------------------------------------


def test_a_replacement_recorded_later_is_a_status_change_event_with_its_reason(store):
    from kb.legal.transitions import derive_statuses

    store.upsert(law(effective="2017-01-01"))
    assert derive_statuses(store, "2026-06-01") == []  # the first derivation is remembered silently
    store.upsert(
        law(
            uid="t:89",
            number="89/2025/QH15",
            effective="2026-01-01",
            status="Còn hiệu lực",
            relations=[{"type": "thay_the", "target_number": "83/2015/QH13"}],
        )
    )
    (change,) = derive_statuses(store, "2026-06-01")
    assert (change.uid, change.old, change.new) == ("t:83", vocab.UNKNOWN, vocab.EXPIRED)
    event = store.events(uid="t:83")[-1]
    assert event.kind == "status_changed" and event.detail["derived"] is True
    assert event.detail["reason"] == "Bị thay thế bởi Luật số 89/2025/QH15 từ ngày 01/01/2026"
    assert event.detail["by_number"] == "89/2025/QH15"
    assert derive_statuses(store, "2026-06-01") == []  # nothing new: no second event


def test_a_date_crossed_is_a_status_change_on_that_day(store):
    from kb.legal.transitions import derive_statuses

    store.upsert(law(effective="2026-01-01", status="Còn hiệu lực"))
    derive_statuses(store, "2025-12-31")
    (change,) = derive_statuses(store, "2026-01-01")
    assert (change.old, change.new, change.since) == (vocab.NOT_YET, vocab.IN_FORCE, "2026-01-01")


def test_a_replacement_taking_effect_later_is_an_event_on_its_day(store):
    from kb.legal.transitions import derive_statuses

    store.upsert(law(effective="2017-01-01"))
    store.upsert(
        law(
            uid="t:89",
            number="89/2025/QH15",
            effective="2026-01-01",
            status="Còn hiệu lực",
            relations=[{"type": "thay_the", "target_number": "83/2015/QH13"}],
        )
    )
    derive_statuses(store, "2025-12-30")  # remembered: 83/2015 in force until 01/01/2026
    assert derive_statuses(store, "2025-12-31") == []
    changes = {c.uid: (c.old, c.new) for c in derive_statuses(store, "2026-01-01")}
    assert changes == {"t:83": (vocab.IN_FORCE, vocab.EXPIRED), "t:89": (vocab.NOT_YET, vocab.IN_FORCE)}
