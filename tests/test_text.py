import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

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


def _nfc_every_step(text: str) -> str:
    """nfc as it was before its steps were skipped on clean text: every step, always."""
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text)
    text = re.sub(r"[\u200b\u200c\u200d\u2060\ufeff]", "", text)
    text = unicodedata.normalize("NFC", text)
    return text.replace("\u00a0", " ").replace("\r\n", "\n").replace("\r", "\n")


@settings(max_examples=400, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(
            list("aeoyuđĐ \n\t\r\x00\x01\x1f\x7f\u00a0\u200b\u200d\ufeff")
            + ["\u0300", "\u0301", "\u0303", "\u0309", "\u0323", "\u0302", "\u0306", "\u031b", "ế", "ờ", "Ử"]
        ),
        max_size=40,
    )
)
def test_nfc_skipping_clean_steps_changes_no_text(text):
    assert nfc(text) == _nfc_every_step(text)
    assert nfc(nfc(text)) == nfc(text)


def test_nfc_keeps_clean_text_as_it_is():
    clean = "Điều 9. Hội đồng nhân dân tỉnh\tquyết định\n"
    assert nfc(clean) is clean  # nothing to do: the same object, not a copy
    assert nfc("a\r\nb\rc") == "a\nb\nc"
