"""What a question asks for, when Vietnamese legal drafting puts the answer under a fixed heading.

Laws define their terms in an article headed "Giải thích từ ngữ", state their scope under "Phạm vi
điều chỉnh" and "Đối tượng áp dụng", and list prohibitions under "Các hành vi bị nghiêm cấm". A
question such as "An ninh mạng là gì?" or "Luật này áp dụng cho ai?" is answered there even
though it shares few words with it. Each rule: a pattern on the folded question, and the heading
words whose articles get a bonus. "Điều 6 của Luật …" names the article outright.
"""

from __future__ import annotations

import re

from kb.text import fold

RULES: tuple[tuple[re.Pattern, str], ...] = tuple(
    (re.compile(p), h)
    for p, h in (
        (
            r"\b(dinh nghia|la gi|duoc hieu|hieu nhu the nao|hieu la|giai thich|khai niem)\b|^(nhu )?the nao la\b",
            "giải thích từ ngữ",
        ),
        (r"\b(quy dinh (ve )?(dieu )?gi|pham vi dieu chinh|dieu chinh (nhung )?(van de )?gi)\b", "phạm vi điều chỉnh"),
        (
            r"\b(ap dung (cho|doi voi) (ai|nhung ai|doi tuong nao|nhung doi tuong nao)|doi tuong ap dung)\b",
            "đối tượng áp dụng|phạm vi điều chỉnh",
        ),
        (r"\b(bi cam|nghiem cam|cam thuc hien)\b", "nghiêm cấm"),
        (r"\b(hieu luc thi hanh|co hieu luc tu|hieu luc tu ngay)\b", "hiệu lực thi hành|điều khoản thi hành"),
    )
)

_ARTICLE_REF = re.compile(r"\bdieu\s+(\d{1,4}[a-z]?)\b")


def heading_hints(query: str) -> list[str]:
    """Headings that answer the kind of question asked."""
    folded = " ".join(fold(query).lower().split())
    return [h for pattern, heading in RULES if pattern.search(folded) for h in heading.split("|")]


def article_refs(query: str) -> list[str]:
    """Article numbers the query names: "Điều 6 của Luật …" -> ["6"]."""
    return _ARTICLE_REF.findall(fold(query).lower())


_QUESTION = re.compile(
    r"(\?|\b(gi|nao|bao nhieu|bao lau|nhu the nao|the nao|ai|tai sao|vi sao|dung hay sai|"
    r"co phai|hay khong|duoc khong|khong dung|la gi)\b)"
)


def is_question(query: str) -> bool:
    """A question ("… là gì?", "… bao nhiêu năm", "đúng hay sai") is matched softly: its question
    words are not in the passage that answers it."""
    return bool(_QUESTION.search(" ".join(fold(query).lower().split())))
