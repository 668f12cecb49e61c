"""The question-boilerplate prior (index/boilerplate.py): learned from questions, discounting the
phrasings questions share and keeping the words that say what is asked."""

from index.boilerplate import QuestionPrior, shipped

QUESTIONS = [
    "Trách nhiệm của nhà trường được quy định như thế nào?",
    "Thời hạn nộp hồ sơ được quy định như thế nào?",
    "Người lao động có được nghỉ việc riêng không?",
    "Mức phạt vi phạm giao thông được quy định như thế nào?",
    "Cán bộ có được kinh doanh không?",
    "Học phí được quy định như thế nào?",
]


def test_terms_frequent_in_questions_and_rare_in_the_corpus_are_discounted():
    prior = QuestionPrior.from_questions(QUESTIONS)
    assert prior.qdf["the_nao"] == 4 / 6
    boilerplate = prior.weight("the_nao", cdf=0.001, strength=0.03)
    common_word = prior.weight("quy_dinh", cdf=0.4, strength=0.03)
    unseen = prior.weight("nha_truong", cdf=0.002, strength=0.03)  # in one question only: below MIN_COUNT
    assert boilerplate < 0.1 < 0.9 < common_word < 1.0
    assert unseen == 1.0
    assert prior.weight("the_nao", cdf=0.001, strength=0.0) == 1.0


def test_with_several_sets_a_term_counts_by_its_largest_share():
    other = ["Điều nào sau đây đúng?"] * 3 + ["Theo Luật X, điều nào sau đây đúng?"]
    prior = QuestionPrior.from_questions(QUESTIONS, other)
    assert prior.qdf["sau_day"] == 1.0 and prior.qdf["the_nao"] == 4 / 6
    assert prior.questions == 10


def test_the_shipped_prior_knows_the_zalo_and_alqac_phrasings():
    prior = shipped()
    assert prior.questions > 1000
    assert prior.qdf["the_nao"] > 0.3 and prior.qdf["co_duoc"] > 0.05
