"""Diacritics put back on a question typed without them ("thu tuc cap giay phep" → "thủ tục cấp giấy
phép"): `SearchService.search` searches a long question typed with none as the restored text. The
lexical search then gains its accented-syllable bonuses, and the sentence model (index/semantic.py),
which reads accented text far better than folded text, embeds the restored question.

A syllable bigram model: every folded syllable may be any accented syllable that folds to it, and the
most probable sequence under interpolated bigram counts of legal text is chosen (Viterbi). The counts
are package data (`diacritics.tsv.gz`, written by `bench/diacritics.py`): those of the pháp điển corpus,
and those of the two query sets' questions counted QUESTION_WEIGHT times, since legal text seldom asks
("bao nhiêu" came back as "bảo nhiều" without them). Measured cross-validated on the questions of both
sets (docs/PERFORMANCE.md, session 8).
"""

from __future__ import annotations

import gzip
import math
from collections import defaultdict
from functools import cache
from pathlib import Path

from index.analysis import _SYLLABLE, fold_syllable, has_diacritics

TABLE = Path(__file__).with_name("diacritics.tsv.gz")
START, END = "<s>", "</s>"
BIGRAM_SHARE = 0.9  # interpolation: λ·P(b | a) + (1 − λ)·P(b)
QUESTION_WEIGHT = 100  # a question's syllable counts as this many of legal text's


class Restorer:
    def __init__(self, unigrams: dict[str, int], bigrams: dict[tuple[str, str], int]):
        self.unigrams = unigrams
        self.bigrams = bigrams
        self.total = sum(unigrams.values()) + 0.1 * len(unigrams)
        self.options: dict[str, list[str]] = defaultdict(list)
        for word in unigrams:
            if word not in (START, END):
                self.options[fold_syllable(word)].append(word)

    @classmethod
    def load(cls, path: Path = TABLE, questions: bool = True) -> Restorer:
        """The table's counts: "u"/"b" lines of legal text, "qu"/"qb" lines of questions (counted
        QUESTION_WEIGHT times; `questions=False` leaves them out)."""
        unigrams: dict[str, int] = defaultdict(int)
        bigrams: dict[tuple[str, str], int] = defaultdict(int)
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            for line in handle:
                kind, words, count = line.rstrip("\n").split("\t")
                weight = 1 if kind in ("u", "b") else QUESTION_WEIGHT if questions else 0
                if kind.endswith("u"):
                    unigrams[words] += weight * int(count)
                else:
                    first, second = words.split(" ")
                    bigrams[first, second] += weight * int(count)
        return cls({w: c for w, c in unigrams.items() if c}, {p: c for p, c in bigrams.items() if c})

    def _logp(self, previous: str, word: str) -> float:
        unigram = (self.unigrams.get(word, 0) + 0.1) / self.total
        seen = self.unigrams.get(previous)
        bigram = self.bigrams.get((previous, word), 0) / seen if seen else 0.0
        return math.log(BIGRAM_SHARE * bigram + (1 - BIGRAM_SHARE) * unigram)

    def syllables(self, folded: list[str]) -> list[str]:
        """The most probable accented syllables for folded ones (unknown syllables stay as they are)."""
        states: dict[str, tuple[float, tuple[str, ...]]] = {START: (0.0, ())}
        for syllable in [*folded, END]:
            options = [END] if syllable is END else (self.options.get(syllable) or [syllable])
            states = {
                word: max(
                    ((score + self._logp(previous, word), path) for previous, (score, path) in states.items()),
                    key=lambda pair: pair[0],
                )
                for word in options
            }
            states = {word: (score, (*path, word)) for word, (score, path) in states.items()}
        return list(states[END][1][:-1])

    def restore(self, text: str) -> str:
        """The text with diacritics put back on its syllables (their first letter's case, the rest of the
        text kept); a text that has any diacritic is returned as it is (the user typed them)."""
        if has_diacritics(text):
            return text
        found = list(_SYLLABLE.finditer(text))
        chosen = self.syllables([fold_syllable(m.group().lower()) for m in found])
        out, last = [], 0
        for match, word in zip(found, chosen):
            out.append(text[last : match.start()])
            out.append(word[:1].upper() + word[1:] if match.group()[:1].isupper() else word)
            last = match.end()
        out.append(text[last:])
        return "".join(out)


@cache
def restorer() -> Restorer:
    return Restorer.load()
