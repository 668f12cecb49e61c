"""Highlighted snippets: the best window of a stored text, HTML-escaped, with only <mark> added.

What is marked follows what the query means (`Highlight.from_query`), not every syllable it holds:
- a provision cited in the query ("Điều 9", "khoản 2", "điểm a") is marked only as that whole provision,
  so "Điều 9" is marked and the "điều" of "điều kiện" is not;
- the name after a document type ("Luật Ngân sách nhà nước", "Nghị định …") and a quoted phrase are marked
  where two or more of their syllables follow each other in the text in the query's order ("ngân sách nhà
  nước", "Luật Ngân sách"), never one lone syllable of them ("nhà");
- the other words of the query are marked wherever they occur.
Consecutive marked syllables share one <mark> ("<mark>Điều 9</mark>").
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from html import escape
from itertools import islice

from index.analysis import _SYLLABLE, fold_each
from kb.text import nfc

WINDOW = 32  # syllables shown around the best match
MAX_SCAN = 200_000  # characters of a long text examined
MAX_CHARS = 400  # characters of text shown at most (a 200,000-character "word" made a 200 KB snippet)

_PROVISIONS = frozenset({"dieu", "khoan", "diem", "chuong", "muc", "phan"})
_TYPES = (  # folded syllables of the document types that precede a name, longest first
    ("thong", "tu", "lien", "tich"),
    ("nghi", "quyet", "lien", "tich"),
    ("bo", "luat"),
    ("nghi", "dinh"),
    ("nghi", "quyet"),
    ("thong", "tu"),
    ("quyet", "dinh"),
    ("phap", "lenh"),
    ("hien", "phap"),
    ("chi", "thi"),
    ("luat",),
)


@dataclass
class Phrase:
    syllables: tuple[str, ...]  # folded
    shortest: int  # the fewest consecutive syllables of it that are marked


@dataclass
class Highlight:
    """What to mark: whole phrases (provisions, names, quoted phrases) and single words (folded)."""

    words: set[str] = field(default_factory=set)
    phrases: list[Phrase] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.words or self.phrases)

    @classmethod
    def from_terms(cls, terms: set[str]) -> Highlight:
        return cls(words=set(terms))

    @classmethod
    def from_query(cls, parsed) -> Highlight:
        """From a parsed query (index.query.ParsedQuery): its clauses, in the order typed."""
        out = cls()
        run: list[str] = []  # consecutive single-word clauses, folded

        def flush() -> None:
            out._read_words(run)
            run.clear()

        for clause in parsed.clauses:
            if clause.phrase and len(clause.folded) > 1:
                flush()
                out.phrases.append(Phrase(tuple(clause.folded), len(clause.folded)))
            else:
                run.extend(clause.folded)
        flush()
        return out

    def _read_words(self, words: list[str]) -> None:
        i = 0
        while i < len(words):
            word = words[i]
            if word in _PROVISIONS and i + 1 < len(words) and _is_label(words[i + 1]):
                self.phrases.append(Phrase((word, words[i + 1]), 2))  # "điều 9"
                i += 2
                continue
            kind = next((t for t in _TYPES if tuple(words[i : i + len(t)]) == t), None)
            if kind is not None:
                end = i + len(kind)
                while end < len(words) and not (
                    words[end] in _PROVISIONS and end + 1 < len(words) and _is_label(words[end + 1])
                ):
                    end += 1
                if end - i > len(kind):  # a type followed by a name: the name is one phrase
                    self.phrases.append(Phrase(tuple(words[i:end]), 2))
                    i = end
                    continue
            self.words.add(word)
            i += 1

    def marks(self, folded: list[str]) -> list[bool]:
        """Which of the text's syllables (folded, in order) are marked."""
        marked = [s in self.words for s in folded]
        for phrase in self.phrases:
            where: dict[str, list[int]] = {}
            for k, s in enumerate(phrase.syllables):
                where.setdefault(s, []).append(k)
            i = 0
            while i < len(folded):
                best = 0
                for k in where.get(folded[i], ()):
                    n = 0
                    while (
                        i + n < len(folded)
                        and k + n < len(phrase.syllables)
                        and folded[i + n] == phrase.syllables[k + n]
                    ):
                        n += 1
                    best = max(best, n)
                if best >= phrase.shortest:
                    for j in range(i, i + best):
                        marked[j] = True
                    i += best
                else:
                    i += 1
        return marked


def _is_label(syllable: str) -> bool:
    """The number of a provision: "9", "15a", "2", or the letter of a điểm."""
    return syllable[:1].isdigit() or (len(syllable) == 1 and syllable.isalpha())


def snippet(text: str, terms: set[str] | Highlight, window: int = WINDOW) -> str:
    """HTML of the part of `text` with the most distinct marked syllables, marked (see the module docstring);
    `terms` is a Highlight, or a set of folded syllables each marked wherever it occurs."""
    if not text:
        return ""
    highlight = terms if isinstance(terms, Highlight) else Highlight.from_terms(terms)
    text = text[:MAX_SCAN]
    norm = nfc(text).lower()  # the tone's placement does not matter: marks compare folded syllables
    if len(norm) != len(text):  # a rare character changed length when lowercased: show plain text
        return escape(text[:300]) + ("…" if len(text) > 300 else "")
    # the syllables as strings (one C-level scan); character offsets only for the window shown
    folded = fold_each(_SYLLABLE.findall(norm))
    if not folded:
        return escape(text[:300])
    marked = highlight.marks(folded)
    hits = [i for i, m in enumerate(marked) if m]
    if hits:
        best_start, best_score = 0, -1
        counts: dict[str, int] = {}  # distinct marked syllables of hits[low:high], the current window
        low = high = 0
        for i in hits:  # windows starting a little before each hit (the start only moves right)
            start = max(0, i - 4)
            while high < len(hits) and hits[high] < start + window:
                counts[folded[hits[high]]] = counts.get(folded[hits[high]], 0) + 1
                high += 1
            while hits[low] < start:
                syllable = folded[hits[low]]
                counts[syllable] -= 1
                if not counts[syllable]:
                    del counts[syllable]
                low += 1
            if len(counts) > best_score:
                best_start, best_score = start, len(counts)
    else:
        best_start = 0
    end = min(len(folded), best_start + window)
    found = _SYLLABLE.finditer(norm)
    deque(islice(found, best_start), maxlen=0)  # skipped in C
    spans = dict(zip(range(best_start, end), (m.span() for m in islice(found, end - best_start))))
    first_char = spans[best_start][0] if best_start > 0 else 0
    last_char = spans[end - 1][1] if end < len(folded) else len(text)
    if last_char - first_char > MAX_CHARS:  # a huge "word" in the window: cut around the first hit
        in_window = [spans[i][0] for i in range(best_start, end) if marked[i]]
        anchor = in_window[0] if in_window else first_char
        first_char = max(first_char, anchor - MAX_CHARS // 4)
        last_char = min(last_char, first_char + MAX_CHARS)
    out = ["…" if first_char > 0 else ""]
    cursor = first_char
    i = best_start
    while i < end:
        if not marked[i] or spans[i][0] < cursor or spans[i][1] > last_char:  # outside a cut window
            i += 1
            continue
        j = i
        while (
            j + 1 < end
            and marked[j + 1]
            and spans[j + 1][1] <= last_char
            and _joinable(text[spans[j][1] : spans[j + 1][0]])
        ):
            j += 1
        out.append(escape(text[cursor : spans[i][0]]))
        out.append("<mark>" + escape(text[spans[i][0] : spans[j][1]]) + "</mark>")
        cursor = spans[j][1]
        i = j + 1
    out.append(escape(text[cursor:last_char]))
    if last_char < len(text):
        out.append("…")
    return "".join(out).replace("\n", " ")


def _joinable(gap: str) -> bool:
    """Two marked syllables share one <mark> when only spaces (or a hyphen) stand between them."""
    return len(gap) <= 3 and all(ch in " \u00a0-" for ch in gap)
