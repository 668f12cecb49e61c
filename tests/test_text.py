import unicodedata

from kb.text import canonical_tones, fold, nfc, search_form, slug


def test_nfc_merges_decomposed_text_from_pdfs():
    decomposed = unicodedata.normalize("NFD", "Hội đồng nhân dân")
    assert decomposed != "Hội đồng nhân dân"
    assert nfc(decomposed) == "Hội đồng nhân dân"


def test_nfc_drops_control_and_zero_width_characters():
    assert nfc("Nghị\x00 quyết\u200b\x1f số\u00a015") == "Nghị quyết số 15"


def test_old_and_new_tone_placement_meet():
    for old, new in [
        ("thoả thuận", "thỏa thuận"),
        ("hoà giải", "hòa giải"),
        ("Uỷ ban", "Ủy ban"),
        ("Toà án", "Tòa án"),
        ("khoẻ", "khỏe"),
        ("HOÀ", "HÒA"),
        ("hoạ", "họa"),
    ]:
        assert canonical_tones(old) == new
        assert canonical_tones(new) == new


def test_tone_placement_leaves_closed_syllables_and_qu_alone():
    assert canonical_tones("hoàn thành") == "hoàn thành"
    assert canonical_tones("toán học") == "toán học"
    assert canonical_tones("quý") == "quý"
    assert canonical_tones("quỹ") == "quỹ"


def test_fold_removes_accents_and_folds_d_stroke():
    assert fold("Nghị quyết Đồng Nai đã") == "Nghi quyet Dong Nai da"
    assert fold("Ðiều") == "Dieu"  # Eth written for Đ


def test_search_form_and_slug():
    assert search_form(unicodedata.normalize("NFD", "Thoả Thuận")) == "thỏa thuận"
    assert slug("Điều 15a") == "dieu-15a"
