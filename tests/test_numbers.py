import pytest

from kb.numbers import find_numbers, normalize_number, number_key, parse_number
from kb.text import fold

# Real variants listed in shared/pages/SOURCES.md §11.
CASES = [
    ("15/2025/NQ-HĐND", "15/2025/NQ-HĐND", "15", 2025, "NQ", "HĐND"),
    ("72/2025/QH15", "72/2025/QH15", "72", 2025, None, "QH15"),
    ("66.14/2026/NQ-CP", "66.14/2026/NQ-CP", "66.14", 2026, "NQ", "CP"),
    ("23/NQ-HĐND", "23/NQ-HĐND", "23", None, "NQ", "HĐND"),
    ("Số: 15/2025/NQ – HĐND", "15/2025/NQ-HĐND", "15", 2025, "NQ", "HĐND"),
    ("Số:15/2025/NQ-HĐND", "15/2025/NQ-HĐND", "15", 2025, "NQ", "HĐND"),
    ("164/QÐ-QLD", "164/QĐ-QLD", "164", None, "QĐ", "QLD"),  # Eth for Đ
    ("12/2003/QĐ/BGD&ĐT", "12/2003/QĐ/BGD&ĐT", "12", 2003, "QĐ", "BGD&ĐT"),
    ("77/CP", "77/CP", "77", None, None, "CP"),
    ("01/2016/TTLT-BTP-BTC", "01/2016/TTLT-BTP-BTC", "01", 2016, "TTLT", "BTP-BTC"),
    ("44/2002/PL-UBTVQH10", "44/2002/PL-UBTVQH10", "44", 2002, "PL", "UBTVQH10"),
    ("56/TTr – SCT", "56/TTr-SCT", "56", None, "TTr", "SCT"),
    ("103/2025/UBTVQH15", "103/2025/UBTVQH15", "103", 2025, None, "UBTVQH15"),
    ("17/VBHN-BYT", "17/VBHN-BYT", "17", None, "VBHN", "BYT"),
]


@pytest.mark.parametrize("text,canonical,number,year,type_code,issuer", CASES)
def test_parse_real_variants(text, canonical, number, year, type_code, issuer):
    parsed = parse_number(text)
    assert parsed is not None
    assert (parsed.canonical, parsed.number, parsed.year, parsed.type_code, parsed.issuer_code) == (
        canonical,
        number,
        year,
        type_code,
        issuer,
    )


@pytest.mark.parametrize("text", ["01/7/2003", "31/12/2024", "Không số", "", "Nghị quyết về ngân sách"])
def test_dates_and_sentinels_are_not_numbers(text):
    assert parse_number(text) is None


def test_every_written_variant_has_the_same_key():
    variants = [
        "15/2025/NQ-HĐND",
        "15/2025/nq-hdnd",
        "15/2025/NQ-HDND",
        "Số: 15/2025/NQ – HĐND",
        "15/2025/NQ-HÐND",
        " 15 / 2025 / NQ-HĐND ",
    ]
    assert len({number_key(v) for v in variants}) == 1
    assert number_key("16/2025/NQ-HĐND") != number_key("15/2025/NQ-HĐND")
    assert number_key("15/2024/NQ-HĐND") != number_key("15/2025/NQ-HĐND")


def test_find_numbers_in_running_text():
    text = (
        "Căn cứ Luật số 06/2026/QH16; Nghị định số 78/2025/NĐ-CP ngày 01/4/2025 và "
        "Nghị quyết số 103/2025/UBTVQH15 ngày 26/9/2025"
    )
    assert [n.canonical for n in find_numbers(text)] == ["06/2026/QH16", "78/2025/NĐ-CP", "103/2025/UBTVQH15"]


@pytest.mark.parametrize(
    "text,canonical,key",
    [
        ("73-CP", "73-CP", "73/cp"),  # old numbering, real pháp điển numbers
        ("73-cp", "73-CP", "73/cp"),
        ("Số: 73 – CP", "73-CP", "73/cp"),
        ("23-L/CTN", "23-L/CTN", "23/lctn"),
        ("21-LCT/HĐNN8", "21-LCT/HĐNN8", "21/lcthdnn8"),
        ("01/2016/NQ.HĐTP", "01/2016/NQ-HĐTP", "01/2016/nqhdtp"),  # a dot typed for the dash
        (
            "01/2008/NQLT-BLĐTBXH-BCA-BVHTTDL-UBTƯMTTQVN",
            "01/2008/NQLT-BLĐTBXH-BCA-BVHTTDL-UBTƯMTTQVN",
            "01/2008/nqltbldtbxhbcabvhttdlubtumttqvn",
        ),  # Ư in a code is part of it
    ],
)
def test_old_forms_dots_and_vietnamese_letters_in_codes(text, canonical, key):
    assert parse_number(text).canonical == canonical
    assert number_key(text) == key
    assert number_key(fold(text)) == key


@pytest.mark.parametrize("text", ["2025-2026", "Điều 5-a", "khoản 1-2"])
def test_a_dash_between_digits_or_in_a_sentence_is_not_an_old_number(text):
    assert parse_number(text) is None


def test_old_forms_are_not_read_in_running_text():
    assert find_numbers("theo Nghị định 73-CP và khoản 2-a") == []


def test_normalize_number_is_what_documents_store():
    from kb.model import Document

    assert normalize_number("15 / 2025 / NQ-HĐND") == "15/2025/NQ-HĐND"
    assert normalize_number("  Công  văn   khẩn ") == "Công văn khẩn"  # not a number: spaces collapsed only
    assert normalize_number("") is None and normalize_number(None) is None
    stored = Document.from_dict({"uid": "t:1", "number": "15 / 2025 / NQ-HĐND", "title": "x"})
    assert stored.number == normalize_number("15 / 2025 / NQ-HĐND")
