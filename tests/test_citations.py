"""The citation extractor: forms of citations, roles, spans, robustness, and measurements on real text.

Measurements (printed with -s):  .venv/bin/pytest tests/test_citations.py -k "labelled or phapdien" -s
"""

import gzip
import json
import unicodedata
from functools import cache
from pathlib import Path

from conftest import shared_file
from hypothesis import given, settings
from hypothesis import strategies as st

from kb.legal.catalogue import name_key
from kb.legal.citations import ArticleRef, extract_citations, is_party_number, parse_locator
from kb.numbers import number_key
from kb.readers import read_path

FIXTURES = Path(__file__).parent / "fixtures" / "checker"


def one(text):
    found = extract_citations(text)
    assert len(found) == 1, [c.raw for c in found]
    return found[0]


# --- forms ----------------------------------------------------------------------------------


def test_number_date_issuer_and_title():
    c = one(
        "Căn cứ Nghị định số 78/2025/NĐ-CP ngày 01 tháng 4 năm 2025 của Chính phủ quy định chi tiết "
        "một số điều của Luật Ban hành văn bản quy phạm pháp luật;"
    )
    assert (c.doc_type, c.number, c.date, c.issuer, c.role) == (
        "Nghị định",
        "78/2025/NĐ-CP",
        "2025-04-01",
        "Chính phủ",
        "basis",
    )
    assert c.title == "quy định chi tiết một số điều của Luật Ban hành văn bản quy phạm pháp luật"
    assert c.raw == "Nghị định số 78/2025/NĐ-CP ngày 01 tháng 4 năm 2025 của Chính phủ"


def test_law_by_name_and_date_wrapped_over_lines():
    c = one("Căn cứ Luật Tổ chức chính\nquyền địa phương ngày 19 tháng 6 năm 2015;")
    assert (c.doc_type, c.number, c.name, c.date) == ("Luật", None, "Luật Tổ chức chính quyền địa phương", "2015-06-19")


def test_law_by_name_and_year_and_several_on_one_line():
    found = extract_citations("Căn cứ Luật Thương mại năm 2005; Luật Đấu thầu năm 2013;")
    assert [(c.name, c.year, c.date) for c in found] == [("Luật Thương mại", 2005, None), ("Luật Đấu thầu", 2013, None)]
    assert {c.role for c in found} == {"basis"}


def test_law_name_then_number_and_amending_law_name():
    found = extract_citations(
        "Căn cứ Luật Tổ chức chính quyền địa phương số 72/2025/QH15;\n"
        "Căn cứ Luật sửa đổi, bổ sung một số điều của Luật Ban hành văn bản quy phạm\n pháp luật số 87/2025/QH15;"
    )
    assert [(c.name, c.number) for c in found] == [
        ("Luật Tổ chức chính quyền địa phương", "72/2025/QH15"),
        ("Luật sửa đổi, bổ sung một số điều của Luật Ban hành văn bản quy phạm pháp luật", "87/2025/QH15"),
    ]


def test_law_by_name_alone_counts_only_as_a_basis():
    assert one("Căn cứ Luật Đất đai;").name == "Luật Đất đai"
    assert extract_citations("Việc giao đất thực hiện theo Luật Đất đai và các văn bản hướng dẫn.") == []


def test_amendment_chain():
    found = extract_citations(
        "Căn cứ Luật Ngân sách nhà nước ngày 25 tháng 6 năm 2015, đã được sửa đổi, bổ sung bởi Luật số "
        "59/2020/QH14 và Luật số 56/2024/QH15;\nCăn cứ Nghị định số 163/2016/NĐ-CP;"
    )
    assert [(c.number or c.name, c.role, c.amends) for c in found] == [
        ("Luật Ngân sách nhà nước", "basis", None),
        ("59/2020/QH14", "amending", 0),
        ("56/2024/QH15", "amending", 0),
        ("163/2016/NĐ-CP", "basis", None),
    ]


def test_amendment_chain_in_running_text_with_articles():
    found = extract_citations(
        "theo quy định tại khoản 2 Điều 60 Luật Quản lý thuế ngày 29 tháng 11 năm 2006 được sửa đổi, bổ sung tại "
        "khoản 18 Điều 1 Luật sửa đổi, bổ sung một số điều của Luật Quản lý thuế ngày 20 tháng 11 năm 2012."
    )
    assert [(c.name, c.date, [a.label() for a in c.articles], c.amends) for c in found] == [
        ("Luật Quản lý thuế", "2006-11-29", ["khoản 2 Điều 60"], None),
        ("Luật sửa đổi, bổ sung một số điều của Luật Quản lý thuế", "2012-11-20", ["khoản 18 Điều 1"], 0),
    ]


def test_article_references():
    c = one("được hưởng theo điểm a, b khoản 2 Điều 5 Nghị định số 15/2020/NĐ-CP.")
    assert c.articles == [ArticleRef("5", "2", "a"), ArticleRef("5", "2", "b")]
    assert c.raw.startswith("điểm a, b khoản 2 Điều 5")
    assert parse_locator("Điều 59 và Điều 60") == [ArticleRef("59"), ArticleRef("60")]
    assert parse_locator("khoản 1, khoản 3 Điều 7") == [ArticleRef("7", "1"), ArticleRef("7", "3")]


def test_list_of_numbers_after_a_plural_heading():
    found = extract_citations(
        "Căn cứ các Nghị định của Chính phủ: Số 02/2003/NĐ-CP ngày 14 tháng 01 năm 2003; "
        "số 114/2009/NĐ-CP ngày 23 tháng 12 năm 2009;"
    )
    assert [(c.doc_type, c.number, c.date) for c in found] == [
        ("Nghị định", "02/2003/NĐ-CP", "2003-01-14"),
        ("Nghị định", "114/2009/NĐ-CP", "2009-12-23"),
    ]


def test_number_written_in_title_is_a_nested_citation():
    found = extract_citations(
        "Căn cứ Nghị định số 114/2009/NĐ-CP ngày 23 tháng 12 năm 2009 về sửa đổi, bổ sung "
        "một số điều của Nghị định số 02/2003/NĐ-CP;"
    )
    assert [(c.number, c.parent) for c in found] == [("114/2009/NĐ-CP", None), ("02/2003/NĐ-CP", 0)]


def test_the_texts_own_number_and_self_references_are_not_citations():
    text = (
        "Số: 15/2026/NQ-HĐND\nNGHỊ QUYẾT\nCăn cứ Luật Đất đai số 31/2024/QH15;\nĐiều 1. Nghị quyết này quy định..."
        "\n(Ban hành kèm theo Nghị quyết số 15/2026/NQ-HĐND ngày 10 tháng 4 năm 2026)\nĐiều 2. Luật này, Nghị định này."
    )
    assert [c.number for c in extract_citations(text)] == ["31/2024/QH15"]


def test_number_variants():
    assert one("theo Tờ trình số 56/TTr – SCT ngày 02 tháng 02 năm 2015").number == "56/TTr-SCT"
    assert one("Quyết định số 23/2003/QĐ/BGD &ĐT ngày 09 tháng 6 năm 2003").number == "23/2003/QĐ/BGD&ĐT"
    assert one("Nghị định số 73-CP ngày 25/10/1993").number == "73-CP"
    assert one("Nghị định số 85/2017/nđ-cp ngày 19/07/2017").number == "85/2017/NĐ-CP"
    assert one("Căn cứ Nghị định số 77/CP ngày \n01/7/2003\n của Chính phủ").date == "2003-07-01"
    c = one("Nghị quyết số 27-NQ/TW của Bộ Chính trị")
    assert c.number == "27-NQ/TW" and is_party_number(c.number)
    assert extract_citations("Mẫu số 02/TNDN ban hành kèm theo, năm học 2015/2016, ngày 01/7/2003") == []


def test_pháp_điển_citation_line():
    c = one(
        "(Điều 1 Thông tư số 33/2018/TT-BTC Quy định mức thu, chế độ thu, nộp; lệ phí cấp Giấy phép "
        "ngày 30/03/2018 của Bộ Tài chính, có hiệu lực thi hành kể từ ngày 14/05/2018)"
    )
    assert (c.number, c.date, c.issuer, c.effective, c.articles) == (
        "33/2018/TT-BTC",
        "2018-03-30",
        "Bộ Tài chính",
        "2018-05-14",
        [ArticleRef("1")],
    )


def test_role_of_considered_documents_and_body():
    found = extract_citations(
        "Căn cứ Nghị định số 60/2024/NĐ-CP;\nXét Tờ trình số 15/TTr-UBND ngày 20/01/2026 "
        "của Ủy ban nhân dân tỉnh;\nQUYẾT NGHỊ:\nĐiều 1. Theo Điều 7 Nghị định số 60/2024/NĐ-CP."
    )
    assert [c.role for c in found] == ["basis", "considered", "body"]


def test_spans_point_into_the_original_text_even_when_it_is_decomposed():
    text = unicodedata.normalize("NFD", "Căn cứ Nghị định số 78/2025/NĐ-CP ngày 01 tháng 4 năm 2025;") + "\u00a0x"
    c = one(text)
    assert c.raw == text[c.start : c.end]
    assert unicodedata.normalize("NFC", c.raw) == "Nghị định số 78/2025/NĐ-CP ngày 01 tháng 4 năm 2025"


def test_invalid_date_is_kept_as_written():
    c = one("Nghị định số 15/2020/NĐ-CP ngày 31 tháng 02 năm 2020")
    assert c.date is None and c.date_text == "ngày 31 tháng 02 năm 2020" and c.year == 2020


_FRAGMENTS = st.sampled_from(
    [
        "Căn cứ ",
        "Luật ",
        "Nghị định số ",
        "12/2020/QH14",
        " ngày 01/4/2025",
        " ngày 31 tháng 2 năm 2020",
        ";",
        "\n",
        "khoản 2 Điều 5 ",
        "đã được sửa đổi, bổ sung bởi ",
        "Số: ",
        " của Chính phủ",
        " năm 2015",
        "Tổ chức",
        "điểm a, b ",
        "(",
        ")",
        "Luật sửa đổi, bổ sung một số điều của ",
        "27-NQ/TW",
        "73-CP",
        "số 85/2017/nđ-cp",
        "Xét ",
        "\u0301",
        "\u00a0",
        "\r\n",
        "Ð",
        "–",
        "/",
        "QĐ/BGD &ĐT",
        "về ",
        "có hiệu lực thi hành kể từ ngày 01/01/2020",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.text(max_size=300), st.lists(_FRAGMENTS, max_size=40).map("".join)))
def test_never_crashes_and_spans_are_exact(text):
    for c in extract_citations(text):
        assert 0 <= c.start < c.end <= len(text)
        assert c.raw == text[c.start : c.end]
        assert c.role in ("basis", "amending", "considered", "body")


def test_large_input_is_linear_enough():
    import time

    block = (
        "Căn cứ Nghị định số 163/2016/NĐ-CP ngày 21 tháng 12 năm 2016 của Chính phủ quy định chi tiết;\n"
        "Điều 1. Nội dung theo khoản 2 Điều 5 Luật Đất đai ngày 18 tháng 01 năm 2024 và nhiều chữ khác nữa.\n"
    )
    text = block * 2000  # ~400 kB
    started = time.perf_counter()
    found = extract_citations(text)
    assert len(found) == 4000
    assert time.perf_counter() - started < 30


# --- real documents ----------------------------------------------------------------------------


def test_real_hdnd_resolution_preamble_matches_its_recorded_basis_documents():
    """Huế's resolution 187649 cites five documents in its preamble; vbpl records the very same five as the
    căn cứ (reference type 3) of Đồng Nai's resolution 188001 on the same subject (Quy chế làm việc)."""
    text = read_path(shared_file("pages", "vbpl_api_doc_187649_content.html"))
    detail = json.loads(shared_file("pages", "vbpl_api_doc_188001.json").read_text(encoding="utf-8"))
    detail = detail.get("data", detail)
    recorded = {number_key(r["targetDocument"]["docNum"]) for r in detail["references"] if r.get("referenceType") == 3}
    basis = [c for c in extract_citations(text) if c.role == "basis"]
    assert (
        {number_key(c.number) for c in basis}
        == recorded
        == {
            number_key(n)
            for n in ("72/2025/QH15", "64/2025/QH15", "87/2025/QH15", "121/2025/QH15", "103/2025/UBTVQH15")
        }
    )
    assert basis[4].issuer == "Ủy ban Thường vụ Quốc hội"


def test_real_lai_chau_decision_preamble():
    text = shared_file("pages", "hethongphapluat_laichau_qd_08_2015_QD-UBND_excerpt.txt").read_text(encoding="utf-8")
    basis = [c for c in extract_citations(text) if c.role == "basis" and c.parent is None]
    assert [(c.name or c.number, c.date or c.year) for c in basis] == [
        ("Luật Tổ chức HĐND và UBND", "2003-11-26"),
        ("Luật Ban hành Văn bản Quy phạm pháp luật của HĐND, UBND", 2004),
        ("Luật Thương mại", 2005),
        ("Luật Đấu thầu", 2013),
        ("Luật Quản lý, sử dụng tài sản Nhà nước", 2008),
        ("02/2003/NĐ-CP", "2003-01-14"),
        ("114/2009/NĐ-CP", "2009-12-23"),
    ]


@cache
def _jsonl(name: str) -> dict:
    with gzip.open(shared_file("corpus", name), "rt", encoding="utf-8") as f:
        return {r["id"]: r for r in map(json.loads, f)}


def _load(source: dict) -> str:
    name = source["file"]
    if name.startswith("pages/"):
        return read_path(shared_file("pages", name.split("/", 1)[1]))
    record = _jsonl(name.split("/", 1)[1])[source["id"]]
    text = record[source["field"]]
    return text[: source["limit"]] if "limit" in source else text


def _matches(expected: dict, c) -> bool:
    if expected.get("number"):
        if not c.number or number_key(c.number) != number_key(expected["number"]):
            return False
    elif c.number or c.doc_type != expected["type"] or name_key(c.name) != name_key(expected["name"]):
        return False
    if "date" in expected and c.date != expected["date"]:
        return False
    if "year" in expected and c.year != expected["year"]:
        return False
    if "articles" in expected and sorted(a.label() for a in c.articles) != sorted(expected["articles"]):
        return False
    return True


def _identifies(expected: dict, c) -> bool:
    return _matches({k: v for k, v in expected.items() if k in ("number", "type", "name")}, c)


def score_labelled_set() -> dict:
    """Precision and recall of the extractor on the hand-labelled set (one-to-one greedy matching)."""
    totals = {"expected": 0, "extracted": 0, "exact": 0, "identified": 0, "misses": []}
    for line in (FIXTURES / "labelled_citations.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        found = extract_citations(_load(item["source"]))
        totals["expected"] += len(item["citations"])
        totals["extracted"] += len(found)
        for key, test in (("exact", _matches), ("identified", _identifies)):
            free = list(found)
            for expected in item["citations"]:
                hit = next((c for c in free if test(expected, c)), None)
                if hit is not None:
                    free.remove(hit)
                    totals[key] += 1
                elif key == "exact":
                    totals["misses"].append((item["source"].get("id") or item["source"]["file"], expected))
    return totals


def test_precision_and_recall_on_the_hand_labelled_set():
    t = score_labelled_set()
    assert t["expected"] >= 100
    precision = t["identified"] / t["extracted"]
    recall = t["identified"] / t["expected"]
    exact_recall = t["exact"] / t["expected"]
    print(
        f"\nlabelled set: {t['expected']} citations in hand-labelled texts, {t['extracted']} extracted; "
        f"document identified: precision {precision:.3f}, recall {recall:.3f}; "
        f"all fields right (number/name, date, articles): {t['exact']} = recall {exact_recall:.3f}"
    )
    for where, expected in t["misses"]:
        print("  not matched exactly:", where, expected)
    assert precision >= 0.95 and recall >= 0.93 and exact_recall >= 0.88


def test_phapdien_source_citations_name_their_document():
    """Every pháp điển article carries "(Điều N <loại> số <số ký hiệu> …)"; the corpus recorded the number."""
    records = [
        r for r in _jsonl("phapdien_articles.jsonl.gz").values() if r.get("source_citation") and r.get("doc_number")
    ]
    found = first = articles = 0
    for r in records:
        citations = extract_citations(r["source_citation"])
        keys = [number_key(c.number) for c in citations if c.number]
        found += number_key(r["doc_number"]) in keys
        if citations and keys and keys[0] == number_key(r["doc_number"]):
            first += 1
            articles += bool(citations[0].articles) and f"Điều {citations[0].articles[0].article}" == r.get(
                "source_article"
            )
    print(
        f"\npháp điển: {len(records)} source_citation lines; number found in {found} ({found / len(records):.4f}); "
        f"first citation is it in {first}; its article right in {articles}"
    )
    assert found / len(records) > 0.998
    assert articles / len(records) > 0.995
