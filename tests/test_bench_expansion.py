"""The second candidate pass measured in issue 16, session 6 (bench/expansion.py): relevance feedback
and heading associations choose extra candidates without dropping the first stage's."""

import math

import numpy as np

from bench import expansion
from bench.expansion import Feedback, HeadingAssociations


class Postings:
    """What the functions read of an index's postings: document frequencies, ids, BM25 contributions."""

    def __init__(self, n: int, docs: dict[str, list[int]]):
        self.live_count = n
        self.docs = docs

    def df(self, field: str, term: str) -> int:
        return len(self.docs.get(term, ()))

    def ids(self, field: str, term: str) -> np.ndarray:
        return np.array(self.docs.get(term, ()), dtype=np.int64)

    def bm25(self, field, term, k1, b, idf_floor):
        ids = self.ids(field, term)
        return ids, np.full(ids.size, 1.0 + idf_floor, dtype=np.float32)


class Table:
    def __init__(self, postings: Postings):
        self.postings = postings
        self.n = postings.live_count


def test_feedback_terms_come_from_the_best_articles_not_the_question():
    postings = Postings(100, {"tinh": [1, 2], "khong": [1, 2, 3], "do": list(range(50)), "cao": [1, 2, 5]})
    lines = [" tinh khong do cao 45 tinh ", " do cao tinh khong "]
    terms = expansion.expansion_terms(lines, np.array([2.0, 1.0]), {"cao", "nha"}, postings, Feedback(terms=5))
    words = [t for t, _ in terms]
    # "cao" is the question's, "do" is in half the records (max_share 5 %), "45" a bare number
    assert words == ["tinh", "khong"]
    # the weights follow the articles' scores, frequencies and rarity: "tinh" twice in the best article
    tinh, khong = (w for _, w in terms)
    assert tinh > khong > 0
    expected = (2 / 3 * 2 / 6 + 1 / 3 * 1 / 4) * math.log(100 / 3)
    assert abs(tinh - expected) < 1e-12
    assert expansion.expansion_terms([], np.array([]), set(), postings) == []


def test_extra_candidates_never_repeat_the_first_stage_and_respect_the_filter():
    total = np.array([9.0, 8.0, 7.0, 1.0, 1.0, 0.5, 0.0, 3.0])
    scores = np.array([0.0, 0.0, 0.0, 0.0, 2.0, 4.0, 4.0, 0.0])
    allowed = np.array([True, True, True, True, True, True, False, True])
    taken = np.array([0, 1, 2])
    extra = expansion.extra_candidates(total, scores, allowed, taken, weight=1.0, extra=3)
    # by 7 (taken) normalised: row 5 = 0.5/9 + 1, row 4 = 1/9 + 0.5, row 7 = 3/9; row 6 is filtered out
    assert extra.tolist() == [5, 4, 7]
    assert not set(extra.tolist()) & set(taken.tolist())
    # no expansion evidence: nothing is added
    assert expansion.extra_candidates(total, np.zeros(8), allowed, taken, 1.0, 3).size == 0
    assert expansion.extra_candidates(total, scores, allowed, taken, 1.0, 0).size == 0


def test_feedback_scores_weigh_each_term_by_its_share():
    table = Table(Postings(6, {"a": [1, 2], "b": [2, 4]}))
    out = expansion.feedback_scores(table, [("a", 3.0), ("b", 1.0)], 0.9, 0.75, 1.0)
    assert out.tolist() == [0.0, 1.5, 2.0, 0.0, 0.5, 0.0]


def test_heading_associations_point_from_text_words_to_headings():
    # articles 0-2 are headed "độ cao công trình" and their texts say "sân bay"; 3-5 talk of tax
    heads = {
        0: ["do_cao", "cao_cong", "cong_trinh"],
        1: ["do_cao", "cao_cong", "cong_trinh"],
        2: ["do_cao"],
        3: ["thue_suat"],
        4: ["thue_suat"],
        5: [],
        6: ["do_cao", "cao_cong", "cong_trinh"],  # the answer, whose text shares nothing with the question
    }
    assoc = HeadingAssociations(8, heads)
    assert assoc.articles == 6
    postings = Postings(8, {"san_bay": [0, 1, 2], "nop_thue": [3, 4]})
    scores = assoc.scores(postings, {"san_bay": 1.0})
    # every article headed like those whose text holds "sân bay" is pointed to, the answer too
    assert scores[6] == scores[0] > scores[2] > 0
    assert scores[3] == scores[4] == scores[5] == scores[7] == 0
    # the tax question points elsewhere
    tax = assoc.scores(postings, {"nop_thue": 1.0})
    assert tax[3] > 0 and tax[6] == 0
    # only the `top` most associated heading bigrams count
    one = assoc.scores(postings, {"san_bay": 1.0}, top=1)
    assert np.count_nonzero(one) < np.count_nonzero(scores)


def test_sibling_candidates_are_other_articles_of_the_best_documents():
    class Docs:
        n = 10
        # records 0-3 belong to document A (9), 4-6 to B (8), 7 to C (7); 8, 9 are the documents' records
        parent = np.array([9, 9, 9, 9, 8, 8, 8, 7, 8, 9])

    allowed = np.ones(10, dtype=bool)
    allowed[8:] = False  # documents are not candidates
    allowed[3] = False  # filtered out
    score = np.array([5.0, 1.0, 4.0, 9.0, 3.0, 2.0, 6.0, 0.5, 0.0, 0.0])
    order = np.array([0, 4, 7])  # the first stage's matched records, best first
    taken = np.array([0, 4])
    out = expansion.sibling_candidates(Docs(), order, score, allowed, taken, docs=2, per_doc=2)
    # A's best untaken allowed articles (2, then 1), then B's (6, then 5); C is the third document
    assert out.tolist() == [2, 1, 6, 5]
    assert expansion.sibling_candidates(Docs(), order, score, allowed, taken, docs=2, per_doc=2, extra=3).size == 3
