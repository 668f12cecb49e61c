"""Question boilerplate, learned from questions: how much a query term says about the answer.

Citizens' questions wrap their content in fixed phrasings ("… được quy định như thế nào?",
"có … được không?", "… là gì?", "theo quy định hiện nay"). Some of these words are rare in legal
text ("thế nào", "hiện nay"), so BM25's idf, computed over the articles, ranks them as the most
telling words of the question, and an article that happens to contain them outranks the one
that answers. Rather than a list of phrasings, each term gets a weight from two document
frequencies: how often it occurs in questions (`qdf`, the share of known questions containing
it) and how often in the corpus (`cdf`, the share of records containing it):

    weight(t) = 1 / (1 + strength · qdf(t) / cdf(t))

A content word occurs in questions about as often as in articles (a ratio of a few at most) and
keeps nearly its whole weight; boilerplate occurs in a third of the questions and in a tiny share
of the articles, and is cut to a few percent. The question frequencies are learned from training
questions (ALQAC and the Zalo 2021 development half, `bench/eval_quality.py --write-prior`) and
shipped with the package as `question_terms.json`; the strength is a ranking weight.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from index.analysis import bigrams, folded_syllables

DATA = Path(__file__).with_name("question_terms.json")
MIN_COUNT = 3  # a term seen in fewer training questions is treated as unseen (qdf 0)


@dataclass
class QuestionPrior:
    """Share of training questions that contain each folded syllable and syllable bigram."""

    qdf: dict[str, float] = field(default_factory=dict)
    questions: int = 0

    @classmethod
    def from_questions(cls, *question_sets: list[str]) -> QuestionPrior:
        """Learned from one or more sets of questions; with several (question styles differ: ALQAC's
        statements, Zalo's "… được không?"), a term's share is its largest share in any set."""
        qdf: dict[str, float] = {}
        for questions in question_sets:
            counts: Counter[str] = Counter()
            for text in questions:
                words = folded_syllables(text)
                counts.update(set(words) | set(bigrams(words)))
            n = max(1, len(questions))
            for term, count in counts.items():
                if count >= MIN_COUNT:
                    qdf[term] = max(qdf.get(term, 0.0), count / n)
        return cls(qdf, sum(len(q) for q in question_sets))

    def weight(self, term: str, cdf: float, strength: float) -> float:
        """The multiplier of `term`'s score; `cdf` is its share of the corpus records."""
        q = self.qdf.get(term, 0.0)
        if not q or strength <= 0:
            return 1.0
        return 1.0 / (1.0 + strength * q / max(cdf, 1e-6))

    def save(self, path: Path = DATA) -> None:
        data = {"questions": self.questions, "qdf": {t: round(v, 5) for t, v in sorted(self.qdf.items())}}
        path.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")


@lru_cache(maxsize=1)
def shipped() -> QuestionPrior:
    """The prior shipped with the package (empty, i.e. no discount, when the file is absent)."""
    if not DATA.exists():
        return QuestionPrior()
    data = json.loads(DATA.read_text(encoding="utf-8"))
    return QuestionPrior(data["qdf"], data["questions"])
