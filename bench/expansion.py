"""A second, cheap candidate pass for paraphrased questions (issue 16, session 6): measured, not wired.

Citizens paraphrase: "Xây nhà cao tầng ở gần sân bay được không?" is answered by an article on
"độ cao công trình" near "chướng ngại vật hàng không", which shares few of the question's words, and
the first stage ranks it far below the candidates the second stage re-ranks. Each pass here picks
`extra` more candidates from the corpus alone (nothing is learned from questions) and offers them
after the first stage's own, which are never dropped:

- relevance feedback (RM3-style, `expansion_terms`, `feedback_scores`): the syllables frequent in
  the first stage's best few articles (each weighted by its first-stage score), rare in the index
  and absent from the question become expansion terms, and every allowed article is scored again
  by its first-stage score / the best plus a share of the expansion terms' BM25 / its best
  (`extra_candidates`);
- heading associations (`HeadingAssociations`): which article headings go with which words of
  article texts, over every article; the question's words point to headings, then as above;
- the other articles of the best documents (`sibling_candidates`).

bench/tune_ranking.py (`features --feedback prf|heading|docs`) caches their candidates for
bench/ltr.py. None gained beyond the seed's noise (docs/PERFORMANCE.md, issue 16, session 6), so
the search does not call this module; it stays to be rerun.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import numpy as np

from index.analysis import bigrams, folded_syllables


@dataclass(frozen=True)
class Feedback:
    docs: int = 3  # best first-stage articles read for the expansion
    terms: int = 10  # expansion syllables kept
    weight: float = 0.3  # share of the expansion's (normalised) score beside the first stage's
    extra: int = 25  # candidates added after the first stage's own
    max_share: float = 0.05  # syllables in more than this share of the records are not expansion terms
    field: str = "body_f"


FEEDBACK = Feedback()


def expansion_terms(
    lines: list[str], scores: np.ndarray, question: set[str], postings, fb: Feedback = FEEDBACK
) -> list[tuple[str, float]]:
    """(syllable, weight) of the expansion: `lines` are the best articles' folded texts (index/rerank.py's
    `texts`, heading and text), `scores` their first-stage scores; syllables of the question are left out."""
    total = float(np.sum(scores))
    if not lines or total <= 0:
        return []
    weights: Counter[str] = Counter()
    for line, score in zip(lines, scores):
        words = line.split()
        if not words:
            continue
        share = float(score) / total / len(words)
        for word, tf in Counter(words).items():
            weights[word] += share * tf
    n = max(1, postings.live_count)
    out = []
    for word, weight in weights.most_common(40 * fb.terms):
        if word in question or word.isdigit():
            continue
        df = postings.df(fb.field, word)
        if df == 0 or df / n > fb.max_share:
            continue
        out.append((word, weight * math.log(n / (df + 1))))
    out.sort(key=lambda t: (-t[1], t[0]))
    return out[: fb.terms]


def feedback_scores(
    table, terms: list[tuple[str, float]], k1: float, b: float, idf_floor: float, fb: Feedback = FEEDBACK
):
    """Every record's BM25 of the expansion terms, each weighted by its share of the terms' weights."""
    out = np.zeros(table.n, dtype=np.float64)
    weight_sum = sum(w for _, w in terms) or 1.0
    for term, weight in terms:
        ids, contrib = table.postings.bm25(fb.field, term, k1, b, idf_floor)
        keep = ids < table.n
        out[ids[keep]] += weight / weight_sum * contrib[keep].astype(np.float64)  # a term's ids are distinct
    return out


def extra_candidates(
    total: np.ndarray, expansion: np.ndarray, allowed: np.ndarray, taken: np.ndarray, weight: float, extra: int
) -> np.ndarray:
    """The best `extra` records of `allowed` (a mask over every record) not in `taken`, by the first
    stage's score `total` (every record's, / the best of `taken`) plus `weight` × the expansion's
    score (every record's, / its best among them), in that order."""
    if extra <= 0 or not expansion.any():
        return np.zeros(0, dtype=np.int64)
    pool = allowed.copy()
    pool[taken] = False
    rows = np.nonzero(pool)[0]
    if rows.size == 0:
        return rows
    best = float(total[taken].max()) if taken.size else float(total[rows].max())
    top = float(expansion[rows].max())
    score = total[rows] / (best or 1.0) + weight * expansion[rows] / (top or 1.0)
    if rows.size > extra:
        part = np.argpartition(-score, extra - 1)[:extra]
        rows, score = rows[part], score[part]
    return rows[np.lexsort((rows, -score))]


class HeadingAssociations:
    """Which article headings (and document titles) go with which words of article texts, counted
    over every live article of an index: P(heading bigram h | text bigram w) is the share of the
    articles whose text holds w that are headed by h. A question's bigrams (weighted by rarity and
    the boilerplate discount) then point to the heading bigrams most associated with them (× the
    heading bigram's rarity), and each article scores the sum of the associations of its own
    heading's bigrams: "sân bay", "cao tầng" in a question point to headings on "độ cao công trình".

    Built from the stored headings and titles of every article (`of`): seconds on the Zalo corpus
    (44,000 articles), per index generation; measured in bench/tune_ranking.py only."""

    def __init__(self, n: int, heads: dict[int, list[str]]):
        vocab: dict[str, int] = {}
        counts = np.zeros(n + 1, dtype=np.int64)
        indices: list[int] = []
        for row in range(n):
            ids = sorted({vocab.setdefault(t, len(vocab)) for t in heads.get(row, ())})
            counts[row + 1] = len(ids)
            indices.extend(ids)
        self.n = n
        self.vocab = vocab
        self.indptr = np.cumsum(counts)
        self.indices = np.array(indices, dtype=np.int64)
        self.row_of = np.repeat(np.arange(n), np.diff(self.indptr))
        self.df = np.bincount(self.indices, minlength=len(vocab)).astype(np.float64)
        self.articles = int(sum(1 for r in heads if heads[r]))

    @classmethod
    def of(cls, searcher, table, article_kind: int) -> HeadingAssociations:
        heads: dict[int, list[str]] = {}
        for row in np.nonzero((table.kind == article_kind) & table.live)[0]:
            stored = searcher.stored_fields(int(row))
            head = bigrams(folded_syllables(stored.get("art_heading") or ""))
            title = ["T:" + t for t in bigrams(folded_syllables(stored.get("title") or ""))]
            heads[int(row)] = head + title
        return cls(table.n, heads)

    def scores(self, postings, question: dict[str, float], top: int = 20) -> np.ndarray:
        """Every record's association with the question's weighted text bigrams `question`."""
        assoc = np.zeros(len(self.vocab), dtype=np.float64)
        for term, weight in question.items():
            ids = postings.ids("body_b", term)
            ids = ids[ids < self.n]
            if ids.size == 0 or weight <= 0:
                continue
            spans = [self.indices[self.indptr[r] : self.indptr[r + 1]] for r in ids]
            held = np.concatenate(spans) if spans else np.zeros(0, dtype=np.int64)
            assoc += weight * np.bincount(held, minlength=assoc.size) / ids.size
        assoc *= np.log(max(1, self.articles) / (self.df + 1)).clip(min=0)
        if top < assoc.size:
            keep = np.argpartition(-assoc, top - 1)[:top]
            vec = np.zeros_like(assoc)
            vec[keep] = assoc[keep]
        else:
            vec = assoc
        return np.bincount(self.row_of, weights=vec[self.indices], minlength=self.n)


def sibling_candidates(
    table,
    order: np.ndarray,
    score: np.ndarray,
    allowed: np.ndarray,
    taken: np.ndarray,
    docs: int = 10,
    per_doc: int = 3,
    extra: int = 25,
) -> np.ndarray:
    """The other articles of the documents the first stage ranks best: the first `docs` documents
    met along `order` (the matched records, best first), and of each the best `per_doc` allowed
    articles by `score` (every record's) not in `taken`, up to `extra` in all. A citizen's question
    often finds the right law (its title and several articles share the question's words) but not
    the article of it that answers."""
    parents: list[int] = []
    for row in order:
        parent = int(table.parent[row])
        if parent not in parents:
            parents.append(parent)
            if len(parents) >= docs:
                break
    skip = np.zeros(table.n, dtype=bool)
    skip[taken] = True
    out: list[int] = []
    for parent in parents:
        rows = np.nonzero((table.parent == parent) & allowed & ~skip)[0]
        rows = rows[np.lexsort((rows, -score[rows]))][:per_doc]
        out.extend(int(r) for r in rows)
    return np.array(out[:extra], dtype=np.int64)
