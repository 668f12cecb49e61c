"""Splitting a document's plain text into its articles (Điều), remembering their chapter (Chương)."""

from __future__ import annotations

import re

from kb.model import Article
from kb.text import nfc

_ARTICLE = re.compile(r"^[ \t]*Điều[ \t]+(\d{1,4}[a-zđ]?)[ \t]*[.:]?[ \t]*(.*)$", re.M)
_CHAPTER = re.compile(r"^[ \t]*(Chương[ \t]+[IVXLCDM\d]+[a-zA-Z]?)[ \t]*[.:]?[ \t]*(.*)$", re.M)


def split_articles(text: str) -> list[Article]:
    """Articles of a plain text, in order. A text without 'Điều N.' headings gives []."""
    text = nfc(text)
    heads = list(_ARTICLE.finditer(text))
    if not heads:
        return []
    chapters = [(m.start(), _chapter_label(m, text)) for m in _CHAPTER.finditer(text)]
    articles = []
    for i, head in enumerate(heads):
        end = heads[i + 1].start() if i + 1 < len(heads) else len(text)
        body = text[head.end() : end]
        # A chapter heading between two articles belongs to the next one, not to this body.
        cut = [pos for pos, _ in chapters if head.end() <= pos < end]
        if cut:
            body = text[head.end() : cut[0]]
        chapter = None
        for pos, label in chapters:
            if pos < head.start():
                chapter = label
        articles.append(
            Article(number=head.group(1), heading=head.group(2).strip() or None, text=body.strip(), chapter=chapter)
        )
    return articles


def _chapter_label(match: re.Match, text: str) -> str:
    title = match.group(2).strip()
    if not title:  # "Chương I" on one line, its title on the next
        rest = text[match.end() :].lstrip("\n")
        nxt = rest.split("\n", 1)[0].strip()
        if nxt and not _ARTICLE.match(nxt):
            title = nxt
    return f"{match.group(1)}. {title}" if title else match.group(1)
