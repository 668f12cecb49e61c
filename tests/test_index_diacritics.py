"""Diacritics put back on questions typed without them (index/diacritics.py), with the shipped table."""

import pytest

from index.diacritics import Restorer, restorer
from kb.text import fold


@pytest.mark.parametrize(
    "written",
    [
        "thủ tục cấp giấy phép xây dựng",
        "hội đồng nhân dân tỉnh quyết định dự toán ngân sách địa phương",
        "người lao động được nghỉ hằng năm theo quy định của bộ luật lao động",
        "mức phạt tiền đối với hành vi vi phạm về đăng ký kinh doanh",
    ],
)
def test_a_folded_legal_phrase_comes_back_as_written(written):
    assert restorer().restore(fold(written)) == written


def test_a_text_with_diacritics_is_left_as_the_user_typed_it():
    text = "Hồ sơ cấp lại giấy phép gồm những gì?"
    assert restorer().restore(text) == text


def test_unknown_syllables_and_numbers_stay_and_punctuation_goes():
    assert restorer().restore("Dieu 15 luat vien chuc xyzq?") == "điều 15 luật viên chức xyzq"


def test_the_context_chooses_between_accented_forms_of_one_folded_syllable():
    """The folded "ban" is "bản" after "văn" and "bàn" before "giao" in these counts: the bigrams decide, not the
    most frequent form alone."""
    unigrams = {"<s>": 4, "</s>": 4, "văn": 2, "bản": 3, "bàn": 2, "giao": 2, "ban": 1}
    bigrams = {("<s>", "văn"): 2, ("văn", "bản"): 2, ("bàn", "giao"): 2, ("<s>", "bàn"): 2, ("bản", "</s>"): 2}
    model = Restorer(unigrams, bigrams)
    assert model.syllables(["van", "ban"]) == ["văn", "bản"]
    assert model.syllables(["ban", "giao"]) == ["bàn", "giao"]
    assert model.syllables([]) == []
