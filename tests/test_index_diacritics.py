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


def test_unknown_syllables_numbers_punctuation_and_capitals_are_kept():
    assert restorer().restore("Dieu 15 Luat vien chuc, xyzq?") == "Điều 15 Luật viên chức, xyzq?"


def test_question_phrasings_come_back_from_the_questions_counted_in_the_table():
    """Legal text seldom asks: with its counts alone "bao nhiêu" came back as "bảo nhiều"."""
    assert restorer().restore("Nguoi lao dong duoc nghi bao nhieu ngay?") == "Người lao động được nghỉ bao nhiêu ngày?"


def test_the_context_chooses_between_accented_forms_of_one_folded_syllable():
    """The folded "ban" is "bản" after "văn" and "bàn" before "giao" in these counts: the bigrams decide, not the
    most frequent form alone."""
    unigrams = {"<s>": 4, "</s>": 4, "văn": 2, "bản": 3, "bàn": 2, "giao": 2, "ban": 1}
    bigrams = {("<s>", "văn"): 2, ("văn", "bản"): 2, ("bàn", "giao"): 2, ("<s>", "bàn"): 2, ("bản", "</s>"): 2}
    model = Restorer(unigrams, bigrams)
    assert model.syllables(["van", "ban"]) == ["văn", "bản"]
    assert model.syllables(["ban", "giao"]) == ["bàn", "giao"]
    assert model.syllables([]) == []
