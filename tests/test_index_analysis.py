import unicodedata

from index.analysis import accented_analyzer, bigram_analyzer, folded_analyzer, has_diacritics

# Real snippets from shared/corpus (alqac, pháp điển) and SOURCES.md.
REAL = (
    "Hội đồng nhân dân cấp tỉnh quyết định mức thu học phí; thoả thuận; Uỷ ban nhân dân; Nghị quyết số 15/2025/NQ-HĐND"
)


def tokens(analyzer, text, **kw):
    return [t.text for t in analyzer(text, **kw)]


def test_nfc_and_nfd_give_the_same_tokens():
    nfd = unicodedata.normalize("NFD", REAL)
    assert nfd != REAL
    for make in (accented_analyzer, folded_analyzer, bigram_analyzer):
        assert tokens(make(), nfd) == tokens(make(), REAL)


def test_tone_placement_pairs_meet():
    for old, new in [
        ("thoả thuận", "thỏa thuận"),
        ("hoà giải", "hòa giải"),
        ("Uỷ ban", "Ủy ban"),
        ("Toà án", "Tòa án"),
    ]:
        assert tokens(accented_analyzer(), old) == tokens(accented_analyzer(), new)


def test_folding_removes_accents_and_d_stroke():
    assert tokens(folded_analyzer(), "Nghị quyết Đồng Nai đã") == ["nghi", "quyet", "dong", "nai", "da"]
    assert tokens(folded_analyzer(), "Ðiều") == ["dieu"]  # Eth written for Đ
    assert tokens(accented_analyzer(), "Nghị quyết") == ["nghị", "quyết"]


def test_document_numbers_split_into_searchable_parts():
    assert tokens(folded_analyzer(), "15/2025/NQ-HĐND") == ["15", "2025", "nq", "hdnd"]
    assert tokens(bigram_analyzer(), "15/2025/NQ-HĐND") == ["15_2025", "2025_nq", "nq_hdnd"]


def test_bigrams_and_char_offsets_for_highlighting():
    assert tokens(bigram_analyzer(), "hội đồng nhân dân") == ["hoi_dong", "dong_nhan", "nhan_dan"]
    assert tokens(bigram_analyzer(), "Luật") == ["luat"]  # a one-word title stays findable
    spans = [(t.text, t.startchar, t.endchar) for t in folded_analyzer()("Hòa giải", chars=True)]
    assert spans == [("hoa", 0, 3), ("giai", 4, 8)]


def test_has_diacritics():
    assert has_diacritics("ngân sách") and has_diacritics("Đ")
    assert not has_diacritics("ngan sach 2025")
