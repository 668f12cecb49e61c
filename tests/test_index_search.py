"""The index and the search API on small temporary stores (one index per test)."""

import multiprocessing
import unicodedata

import pytest

from index import build, schema
from index.errors import QueryError
from index.search import SearchService
from index.snippets import snippet
from kb.model import Document
from kb.store import Store


def doc(
    uid,
    number,
    title,
    issuer="Quốc hội",
    issued="2025-06-16",
    doc_type=None,
    status="Còn hiệu lực",
    articles=(),
    text="",
    fields=(),
):
    return Document.from_dict(
        {
            "uid": uid,
            "number": number,
            "title": title,
            "issuer": issuer,
            "issued": issued,
            "status": status,
            "doc_type": doc_type,
            "text": text,
            "fields": list(fields),
            "articles": [{"number": n, "heading": h, "text": t} for n, h, t in articles],
        }
    )


LAW = doc(
    "vbpl:law",
    "72/2025/QH15",
    "Luật Tổ chức chính quyền địa phương",
    doc_type="Luật",
    fields=["Bộ máy hành chính"],
    articles=[
        ("1", "Phạm vi điều chỉnh", "Luật này quy định về đơn vị hành chính và tổ chức chính quyền địa phương."),
        (
            "15",
            "Nhiệm vụ, quyền hạn của Hội đồng nhân dân tỉnh",
            "1. Hội đồng nhân dân tỉnh quyết định dự toán ngân sách địa phương.\n2. Thoả thuận về hợp tác.",
        ),
        ("16", "Nhiệm vụ của Ủy ban nhân dân tỉnh", "Ủy ban nhân dân tỉnh tổ chức thực hiện ngân sách."),
    ],
)
HDND = doc(
    "vbpl:188001",
    "01/2026/NQ-HĐND",
    "Nghị quyết ban hành Quy chế làm việc của Hội đồng nhân dân tỉnh",
    issuer="HĐND Tỉnh Đồng Nai",
    issued="2026-01-09",
    fields=["Bộ máy hành chính"],
    text="Căn cứ Luật Tổ chức chính quyền địa phương số 72/2025/QH15; Hội đồng nhân dân tỉnh quyết nghị.",
)
FEE = doc(
    "vbpl:fee",
    "15/2025/NQ-HĐND",
    "Nghị quyết quy định mức thu học phí",
    issuer="Hội đồng nhân dân tỉnh Lai Châu",
    issued="2025-07-10",
    status="Hết hiệu lực toàn bộ",
    fields=["Giáo dục"],
    text="Mức thu học phí đối với cơ sở giáo dục công lập năm học 2025-2026.",
)


@pytest.fixture
def kb(tmp_path):
    store = Store(tmp_path / "kb.sqlite")
    for d in (LAW, HDND, FEE):
        store.upsert(d)
    build.rebuild(store, tmp_path / "index")
    yield store, tmp_path / "index", SearchService(tmp_path / "index", check_interval=0)
    store.close()


def uids(result):
    return [h.uid for h in result.hits]


def test_article_level_hits_land_on_the_right_article(kb):
    _, _, service = kb
    result = service.search("dự toán ngân sách", unit="article")
    assert result.hits[0].uid == "vbpl:law" and result.hits[0].anchor == "dieu-15"
    assert result.hits[0].article_heading == "Nhiệm vụ, quyền hạn của Hội đồng nhân dân tỉnh"
    assert all(h.kind == "article" for h in result.hits)


def test_document_hits_collapse_articles(kb):
    _, _, service = kb
    result = service.search("ngân sách")
    assert uids(result) == ["vbpl:law"] and result.total == 1


def test_accent_insensitive_and_accented_first(kb):
    _, _, service = kb
    assert uids(service.search("hoc phi")) == ["vbpl:fee"]
    assert uids(service.search("nghi quyet hoi dong nhan dan")) == uids(service.search("nghị quyết hội đồng nhân dân"))
    nfd = unicodedata.normalize("NFD", "học phí")
    assert uids(service.search(nfd)) == ["vbpl:fee"]


def test_tone_placement_variants_find_each_other(kb):
    _, _, service = kb
    assert service.search("thỏa thuận", unit="article").hits[0].anchor == "dieu-15"
    assert service.search("thoả thuận", unit="article").hits[0].anchor == "dieu-15"


@pytest.mark.parametrize(
    "variant",
    [
        "15/2025/NQ-HĐND",
        "15/2025/nq-hdnd",
        "15/2025/NQ-HDND",
        "Số: 15/2025/NQ – HĐND",
        "15/2025/NQ-HÐND",
        "so:15/2025/NQ-HĐND",
    ],
)
def test_every_number_variant_finds_the_document(kb, variant):
    _, _, service = kb
    result = service.search(variant)
    assert [h.uid for h in result.exact] == ["vbpl:fee"]
    assert uids(result)[0] == "vbpl:fee"


def test_number_parts_remain_searchable(kb):
    _, _, service = kb
    assert set(uids(service.search("NQ-HĐND"))) == {"vbpl:fee", "vbpl:188001"}
    assert uids(service.search("QH15")) == ["vbpl:law", "vbpl:188001"] or set(uids(service.search("QH15"))) == {
        "vbpl:law",
        "vbpl:188001",
    }


def test_phrases_exclusion_or(kb):
    _, _, service = kb
    assert set(uids(service.search('"hội đồng nhân dân"'))) == {"vbpl:law", "vbpl:188001"}
    assert uids(service.search('"hội đồng nhân dân" -"quy chế"')) == ["vbpl:law"]
    assert set(uids(service.search('"học phí" OR "quy chế"'))) == {"vbpl:fee", "vbpl:188001"}
    assert uids(service.search('"nhân dân hội đồng"')) == []  # order matters in a phrase


def test_filters_and_disjunctive_facets(kb):
    _, _, service = kb
    everything = service.search("")
    assert everything.total == 3
    assert dict(everything.facets["scope"]) == {"Trung ương": 1, "Địa phương": 2}
    assert dict(everything.facets["linhvuc"]) == {"Bộ máy hành chính": 2, "Giáo dục": 1}
    local = service.search("", filters={"scope": ["Địa phương"]})
    assert set(uids(local)) == {"vbpl:fee", "vbpl:188001"}
    assert dict(local.facets["scope"]) == {"Trung ương": 1, "Địa phương": 2}  # its own filter left out
    assert dict(local.facets["year"]) == {"2026": 1, "2025": 1}
    assert uids(service.search('hieuluc:"hết hiệu lực toàn bộ"')) == ["vbpl:fee"]
    assert uids(service.search("", filters={"status": ["Còn hiệu lực"], "year": ["2026"]})) == ["vbpl:188001"]
    assert set(uids(service.search("coquan:HĐND"))) == {"vbpl:fee", "vbpl:188001"}  # "Hội đồng nhân dân tỉnh…" too
    assert uids(service.search('loai:"Luật" nam:2020..2025')) == ["vbpl:law"]
    assert uids(service.search("ngay:2026-01-01..2026-12-31")) == ["vbpl:188001"]


def test_sort_by_date_and_pagination(kb):
    _, _, service = kb
    assert uids(service.search("", sort="issued")) == ["vbpl:188001", "vbpl:fee", "vbpl:law"]
    page2 = service.search("", sort="issued", per_page=2, page=2)
    assert uids(page2) == ["vbpl:law"] and page2.pages == 2 and page2.total == 3


def test_fallback_to_any_word(kb):
    _, _, service = kb
    result = service.search("học phí thủy điện")
    assert result.fallback and uids(result) == ["vbpl:fee"]
    assert not service.search("học phí").fallback


@pytest.mark.parametrize(
    "query,message",
    [
        ("foo:bar", "foo"),
        ("nam:abc", "Năm"),
        ("ngay:32/13/2025", "Ngày"),
        ("x" * 1001, "quá dài"),
        ("hieuluc:abc", "tình trạng"),
        ("so:abc", "số ký hiệu"),
    ],
)
def test_malformed_queries_are_clear_errors(kb, query, message):
    _, _, service = kb
    with pytest.raises(QueryError, match=message):
        service.search(query)


@pytest.mark.parametrize("query", ['"unbalanced', "-", "- -", "\x00\x1f", "((", "OR", "OR OR x", '""', '-""'])
def test_odd_queries_never_raise(kb, query):
    _, _, service = kb
    service.search(query)


def test_snippets_escape_text_and_mark_matches():
    html = snippet("Nghị quyết <script>alert(1)</script> về học phí", {"hoc", "phi"})
    assert "<script>" not in html and "</script>" not in html and "&lt;/script&gt;" in html
    assert "<mark>học phí</mark>" in html  # consecutive marked syllables share one <mark>


def test_incremental_update_and_delete(kb):
    store, index_dir, service = kb
    assert service.search("miễn giảm").total == 0
    changed = doc(
        "vbpl:fee",
        "15/2025/NQ-HĐND",
        "Nghị quyết quy định mức thu và miễn giảm học phí",
        issuer="Hội đồng nhân dân tỉnh Lai Châu",
        issued="2025-07-10",
        status="Còn hiệu lực",
        text="Miễn giảm học phí cho học sinh vùng khó khăn.",
    )
    store.upsert(changed)
    assert build.update(store, index_dir) == 1
    result = service.search("miễn giảm")
    assert uids(result) == ["vbpl:fee"] and result.hits[0].status == "Còn hiệu lực"
    assert service.search("", filters={"status": ["Hết hiệu lực toàn bộ"]}).total == 0  # old version gone
    store.delete("vbpl:188001")
    build.update(store, index_dir)
    assert "vbpl:188001" not in uids(service.search(""))
    assert build.check(store, index_dir).ok
    assert build.update(store, index_dir) == 0


def test_check_reports_drift_and_repair_fixes_it(kb):
    store, index_dir, _ = kb
    store.db.execute("DELETE FROM documents WHERE uid='vbpl:law'")  # a store change the index never heard of
    report = build.check(store, index_dir)
    assert report.extra == ["vbpl:law"] and not report.ok
    build.repair(store, index_dir, report.extra)
    assert build.check(store, index_dir).ok


def test_schema_version_change_triggers_rebuild(kb, monkeypatch):
    store, index_dir, _ = kb
    assert build.needs_rebuild(index_dir) is None
    monkeypatch.setattr(schema, "SCHEMA_VERSION", schema.SCHEMA_VERSION + 1)
    monkeypatch.setattr(build, "SCHEMA_VERSION", schema.SCHEMA_VERSION)
    assert "lược đồ" in build.needs_rebuild(index_dir)
    build.update(store, index_dir)
    assert build.needs_rebuild(index_dir) is None


def test_missing_index_is_built_on_update(tmp_path):
    store = Store(tmp_path / "kb.sqlite")
    store.upsert(FEE)
    assert build.needs_rebuild(tmp_path / "index") == "chưa có chỉ mục"
    build.update(store, tmp_path / "index")
    assert uids(SearchService(tmp_path / "index").search("học phí")) == ["vbpl:fee"]


def _add_in_other_process(db_path: str, index_dir: str) -> None:
    store = Store(db_path)
    store.upsert(
        doc(
            "vbpl:new", "2/2026/NQ-HĐND", "Nghị quyết về thủy lợi phí", issuer="HĐND tỉnh Lai Châu", issued="2026-02-01"
        )
    )
    build.update(store, index_dir)


def test_searcher_sees_a_commit_made_by_another_process(kb, tmp_path):
    store, index_dir, service = kb
    assert service.search("thủy lợi").total == 0
    proc = multiprocessing.get_context("spawn").Process(
        target=_add_in_other_process, args=(str(tmp_path / "kb.sqlite"), str(index_dir))
    )
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    assert uids(service.search("thủy lợi")) == ["vbpl:new"]


def test_rebuild_swaps_generations_while_a_searcher_is_open(kb):
    store, index_dir, service = kb
    before = build.current_dir(index_dir)
    assert service.search("học phí").total == 1
    build.rebuild(store, index_dir)
    after = build.current_dir(index_dir)
    assert after != before and not before.exists()
    assert service.search("học phí").total == 1  # the open service moves to the new generation
    assert [p.name for p in index_dir.iterdir() if p.name.startswith("g-")] == [after.name]


def test_restriction_to_documents(kb):
    _, _, service = kb
    assert uids(service.search("hội đồng nhân dân", uids={"vbpl:188001"})) == ["vbpl:188001"]
    assert service.search("học phí", uids={"vbpl:law"}).total == 0


def test_title_words_count_for_the_documents_articles(kb):
    _, _, service = kb
    # "tổ chức chính quyền" is only in the law's title, "dự toán" only in its Điều 15
    result = service.search("tổ chức chính quyền dự toán", unit="article")
    assert result.hits[0].uid == "vbpl:law" and result.hits[0].anchor == "dieu-15"
    assert not result.fallback


@pytest.mark.parametrize("variant", ["73-CP", "73-cp", "73 – CP", "Số: 73-CP"])
def test_an_old_dash_number_finds_its_document(tmp_path, variant):
    store = Store(tmp_path / "kb.sqlite")
    store.upsert(
        doc(
            "phapdien:73",
            "73-CP",
            "Nghị định về quản lý đất đai",
            issuer="Chính phủ",
            issued="1993-10-30",
            doc_type="Nghị định",
        )
    )
    store.upsert(FEE)
    build.rebuild(store, tmp_path / "index")
    result = SearchService(tmp_path / "index", check_interval=0).search(variant)
    assert [h.uid for h in result.exact] == ["phapdien:73"] and result.exact[0].number == "73-CP"
