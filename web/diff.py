"""A readable diff of two versions of a document's text: paragraphs compared with difflib, and
inside a changed paragraph the words that changed. Returns plain data; templates escape it."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from kb.model import Document

CONTEXT = 2  # unchanged paragraphs shown around a change
MAX_LINES = 20_000  # paragraphs compared (longer texts are cut)
_WORDS = re.compile(r"\s+|[^\s]+")


@dataclass
class Block:
    """One part of a diff: kind is 'same', 'skip' (n unchanged paragraphs hidden), 'del', 'ins' or
    'change' (a paragraph edited in place; `parts` is [(op, text)] with op '=', '-' or '+')."""

    kind: str
    text: str = ""
    count: int = 0
    parts: list[tuple[str, str]] = field(default_factory=list)


@dataclass
class TextDiff:
    blocks: list[Block]
    added: int
    removed: int

    @property
    def changed(self) -> bool:
        return bool(self.added or self.removed)


def text_lines(doc: Document) -> list[str]:
    """The paragraphs of a version: its text, or its articles when it has no text."""
    if doc.text.strip():
        lines = doc.text.splitlines()
    else:
        lines, chapter = [], None
        for art in doc.articles:
            if art.chapter and art.chapter != chapter:
                lines.append(art.chapter)
                chapter = art.chapter
            lines.append(f"Điều {art.number}. {art.heading or ''}".strip())
            lines.extend(art.text.splitlines())
    return [" ".join(line.split()) for line in lines if line.strip()][:MAX_LINES]


def diff_documents(old: Document, new: Document, context: int = CONTEXT) -> TextDiff:
    return diff_lines(text_lines(old), text_lines(new), context)


def diff_lines(old: list[str], new: list[str], context: int = CONTEXT) -> TextDiff:
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    blocks: list[Block] = []
    added = removed = 0
    opcodes = matcher.get_opcodes()
    for index, (tag, i1, i2, j1, j2) in enumerate(opcodes):
        if tag == "equal":
            same = old[i1:i2]
            head = context if index > 0 else 0
            tail = context if index < len(opcodes) - 1 else 0
            if len(same) > head + tail + 1:
                blocks += [Block("same", line) for line in same[:head]]
                blocks.append(Block("skip", count=len(same) - head - tail))
                blocks += [Block("same", line) for line in same[len(same) - tail :]] if tail else []
            else:
                blocks += [Block("same", line) for line in same]
            continue
        olds, news = old[i1:i2], new[j1:j2]
        removed += len(olds)
        added += len(news)
        if tag == "replace":
            paired = min(len(olds), len(news))
            for a, b in zip(olds[:paired], news[:paired]):
                if difflib.SequenceMatcher(None, a, b, autojunk=False).quick_ratio() >= 0.5:
                    blocks.append(Block("change", parts=_word_diff(a, b)))
                else:
                    blocks += [Block("del", a), Block("ins", b)]
            blocks += [Block("del", line) for line in olds[paired:]]
            blocks += [Block("ins", line) for line in news[paired:]]
        else:
            blocks += [Block("del", line) for line in olds]
            blocks += [Block("ins", line) for line in news]
    return TextDiff(blocks, added, removed)


def _word_diff(old: str, new: str) -> list[tuple[str, str]]:
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    parts: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag == "equal":
            parts.append(("=", "".join(a[i1:i2])))
            continue
        if i2 > i1:
            parts.append(("-", "".join(a[i1:i2])))
        if j2 > j1:
            parts.append(("+", "".join(b[j1:j2])))
    return parts
