"""Highlighting as the query means it (index/snippets.py): a provision is marked whole, a document's name by
runs of its syllables, other words wherever they occur; one <mark> per run."""

from index.query import parse
from index.snippets import Highlight, snippet

TEXT = (
    "Điều 9. Dự phòng ngân sách nhà nước. Ngân sách địa phương đủ điều kiện thì được sử dụng dự phòng theo quy "
    "định tại Điều 9 của Luật Ngân sách nhà nước; nhà ở công vụ; Điều 90."
)


def marked(query: str, text: str = TEXT) -> str:
    return snippet(text, Highlight.from_query(parse(query)), window=200)


def test_a_provision_and_a_name_are_marked_whole():
    html = marked("Điều 9 Luật Ngân sách nhà nước")
    assert html.startswith("<mark>Điều 9</mark>. Dự phòng <mark>ngân sách nhà nước</mark>.")
    assert "đủ điều kiện" in html and "<mark>điều</mark>" not in html.lower()
    assert "<mark>Luật Ngân sách nhà nước</mark>;" in html
    assert "; nhà ở công vụ; Điều 90." in html  # a lone syllable of the name, another article: not marked


def test_diacritics_optional_and_other_words_marked_wherever_they_occur():
    html = marked("dieu 9 luat ngan sach nha nuoc du phong")
    assert "<mark>Điều 9</mark>. <mark>Dự phòng ngân sách nhà nước</mark>" in html
    assert "sử dụng <mark>dự phòng</mark>" in html


def test_quoted_phrase_and_plain_words():
    assert marked('"nhà ở"').count("<mark>") == 1 and "<mark>nhà ở</mark>" in marked('"nhà ở"')
    assert "Miễn <mark>học phí</mark>" in snippet("Miễn học phí", Highlight.from_query(parse("học phí")))
    assert snippet("Điều 9. Học phí", {"hoc"}) == "Điều 9. <mark>Học</mark> phí"  # a set of terms: as before
