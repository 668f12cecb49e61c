"""Amendment notes read into reverse relations: what later documents did to an article, as a source notes it.

pháp điển records carry an `amendment_note` per article, e.g.

    "có nội dung được sửa đổi, có nội dung được bổ sung bởi Điều 1 Luật số 52/2019/QH14 có hiệu lực thi
     hành kể từ ngày 01/07/2020; Điều 2 Luật số 56/2024/QH15 có hiệu lực thi hành kể từ ngày 01/01/2025"
    "có nội dung được sửa đổi, bổ sung theo quy định tại khoản 11 Điều 1 của Luật số 32/2013/QH13, có hiệu
     lực kể từ ngày 01 tháng 01 năm 2014."
    "bị bãi bỏ bởi Điều 4 Nghị định số 155/2018/NĐ-CP có hiệu lực thi hành kể từ ngày 12/11/2018"

`parse_amendment_note(note, article)` returns one `kb.model.ChangedBy` per acting document (type sua_doi,
bai_bo, dinh_chi or thay_the; the article concerned; the acting document's number, type and article; the
date it takes effect). "có nội dung bị bãi bỏ" repeals part of the article: a `bai_bo` with `whole=False`;
"bị bãi bỏ" repeals all of it. Notes that name no other document ("khoản 3 Điều này có hiệu lực …",
"có hiệu lực thi hành đến ngày 31/12/2027") give nothing. The core importer (kb/jsonl.py) is handed this
function by the CLI; it does not import kb.legal.
"""

from __future__ import annotations

import re

from kb import vocab
from kb.model import ChangedBy
from kb.text import nfc

_TYPES = (
    "Bộ luật",
    "Luật",
    "Pháp lệnh",
    "Nghị quyết liên tịch",
    "Nghị quyết",
    "Nghị định",
    "Quyết định",
    "Thông tư liên tịch",
    "Thông tư",
    "Lệnh",
)
_ACTOR = re.compile(
    r"(?P<article>(?:(?:điểm|khoản|điều|các điểm|các khoản|các điều|phụ lục)\s+[^;]*?)?)"
    r"\s*(?:của\s+)?(?P<type>" + "|".join(_TYPES) + r")\s+(?:số\s+)?(?P<number>\d+[0-9A-Za-zĐđ/\-–.]*[0-9A-Za-zĐđ])",
    re.IGNORECASE,
)
_DATE_NUMERIC = re.compile(r"(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*(\d{4})")
_DATE_WORDS = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.IGNORECASE)
_VERB_SPLIT = re.compile(r"\s(?:bởi|theo quy định tại|theo)\s", re.IGNORECASE)
_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def parse_amendment_note(note: str | None, article: str | None = None, source: str | None = None) -> list[ChangedBy]:
    """The changes a note reports on `article` (None: the whole document), one per acting document."""
    if not note:
        return []
    text = " ".join(_LINK.sub(r"\1", nfc(note)).replace("\xa0", " ").split())
    parts = _VERB_SPLIT.split(" " + text, maxsplit=1)
    if len(parts) != 2:
        return []
    head, acts = parts
    kinds = _kinds(head) or [(vocab.REL_AMENDS, True)]  # "bởi Điều 1 Luật số …" with no verb: an amendment
    found: list[ChangedBy] = []
    for segment in acts.split(";"):
        actor = _ACTOR.search(segment)
        if actor is None:
            continue
        by_article = " ".join(actor.group("article").strip(" ,").split()) or None
        for kind, whole in kinds:
            found.append(
                ChangedBy(
                    type=kind,
                    article=article,
                    by_number=actor.group("number").rstrip("."),
                    by_type=vocab.doc_type(actor.group("type")),
                    by_article=by_article[:1].upper() + by_article[1:] if by_article else None,
                    effective=_date(segment[actor.end() :]),
                    note=text,
                    source=source,
                    whole=whole,
                )
            )
    return found


def _kinds(head: str) -> list[tuple[str, bool]]:
    """The relation types a note's verb phrase says, each with whether it concerns the whole article:
    "có nội dung được sửa đổi, có nội dung bị bãi bỏ" -> [(sua_doi, True), (bai_bo, False)]."""
    kinds: list[tuple[str, bool]] = []
    for phrase in head.lower().split(","):
        part = "có nội dung" in phrase
        if "thay thế" in phrase:
            kinds.append((vocab.REL_REPLACES, not part))
        elif "bãi bỏ" in phrase or "hủy bỏ" in phrase or "huỷ bỏ" in phrase:
            kinds.append((vocab.REL_REPEALS, not part))
        elif "ngưng hiệu lực" in phrase:
            kinds.append((vocab.REL_SUSPENDS, not part))
        elif ("sửa đổi" in phrase or "bổ sung" in phrase) and (vocab.REL_AMENDS, True) not in kinds:
            kinds.append((vocab.REL_AMENDS, True))
    return kinds


def _date(text: str) -> str | None:
    for pattern in (_DATE_NUMERIC, _DATE_WORDS):
        match = pattern.search(text)
        if match:
            d, m, y = map(int, match.groups())
            if 1 <= m <= 12 and 1 <= d <= 31:
                return f"{y:04d}-{m:02d}-{d:02d}"
    return None
