"""Highlighted snippets: the best window of a stored text, HTML-escaped, with only <mark> added."""

from __future__ import annotations

from html import escape

from index.analysis import _SYLLABLE, fold_syllable, normalise

WINDOW = 32  # syllables shown around the best match
MAX_SCAN = 200_000  # characters of a long text examined
MAX_CHARS = 400  # characters of text shown at most (a 200,000-character "word" made a 200 KB snippet)


def snippet(text: str, terms: set[str], window: int = WINDOW) -> str:
    """HTML of the part of `text` with the most distinct query terms (folded syllables), marked."""
    if not text:
        return ""
    text = text[:MAX_SCAN]
    norm = normalise(text)
    spans = [(m.start(), m.end(), fold_syllable(m.group())) for m in _SYLLABLE.finditer(norm)]
    if len(norm) != len(text):  # a rare character changed length when lowercased: show plain text
        return escape(text[:300]) + ("…" if len(text) > 300 else "")
    hits = [i for i, (_, _, s) in enumerate(spans) if s in terms]
    if not spans:
        return escape(text[:300])
    if hits:
        best_start, best_score = 0, -1
        for i in hits:  # windows starting a little before each hit
            start = max(0, i - 4)
            seen = {spans[j][2] for j in hits if start <= j < start + window}
            if len(seen) > best_score:
                best_start, best_score = start, len(seen)
    else:
        best_start = 0
    end = min(len(spans), best_start + window)
    first_char = spans[best_start][0] if best_start > 0 else 0
    last_char = spans[end - 1][1] if end < len(spans) else len(text)
    if last_char - first_char > MAX_CHARS:  # a huge "word" in the window: cut around the first hit
        in_window = [spans[i][0] for i in range(best_start, end) if spans[i][2] in terms]
        anchor = in_window[0] if in_window else first_char
        first_char = max(first_char, anchor - MAX_CHARS // 4)
        last_char = min(last_char, first_char + MAX_CHARS)
    out = ["…" if first_char > 0 else ""]
    cursor = first_char
    for i in range(best_start, end):
        start, stop, syl = spans[i]
        if syl in terms and start >= cursor and stop <= last_char:
            out.append(escape(text[cursor:start]))
            out.append("<mark>" + escape(text[start:stop]) + "</mark>")
            cursor = stop
    out.append(escape(text[cursor:last_char]))
    if last_char < len(text):
        out.append("…")
    return "".join(out).replace("\n", " ")
