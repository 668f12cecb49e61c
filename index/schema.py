"""The index schema and how a stored document becomes index records.

A document gives one record for itself (kind "doc": title, number, metadata, and its text when it
has no articles) and one record per article (kind "article"), so a hit can be a whole document or
one Điều of it. Facet values and dates are columns, read per searcher into arrays for fast counting.
"""

from __future__ import annotations

from whoosh import fields, formats

from index.analysis import accented_analyzer, bigram_analyzer, folded_analyzer
from kb.legal.validity import Impact, Period, status_in, timeline
from kb.model import Document

SCHEMA_VERSION = 7  # 5: tone placement per syllable after lowercasing; 6: number keys v2 (kb.numbers); 7: timeline
META_ID = "__meta__"
FIELD_SEPARATOR = "\x1f"  # joins multi-valued facet values (lĩnh vực) in one column


def make_schema() -> fields.Schema:
    acc, fold, bi = accented_analyzer(), folded_analyzer(), bigram_analyzer()

    def text(analyzer, presence_only: bool = False):
        field = fields.TEXT(analyzer=analyzer, phrase=False)
        if presence_only:  # bonus fields: whether a term occurs is enough (15 % faster builds, same quality)
            field.format = formats.Existence(field_boost=field.format.field_boost)
        return field

    return fields.Schema(
        id=fields.ID(stored=True, unique=True),
        uid=fields.ID(stored=True, sortable=True),
        kind=fields.ID(stored=True, sortable=True),
        numkey=fields.ID(stored=False),
        # searchable text: title (+ number), article heading, body; accented, folded, bigrams
        title_a=text(acc, True),
        title_f=text(fold),
        title_b=text(bi, True),
        head_a=text(acc, True),
        head_f=text(fold),
        head_b=text(bi, True),
        body_a=text(acc, True),
        body_f=text(fold),
        body_b=text(bi, True),
        # stored for display and snippets
        number=fields.STORED(),
        title=fields.STORED(),
        anchor=fields.STORED(),
        art_number=fields.STORED(),
        art_heading=fields.STORED(),
        content=fields.STORED(),
        meta=fields.STORED(),
        # columns for facets, filters and sorting
        doc_type=fields.ID(stored=True, sortable=True),
        issuer=fields.ID(stored=True, sortable=True),
        status=fields.ID(stored=True, sortable=True),  # on the day of indexing; searches read `timeline`
        timeline=fields.ID(stored=True, sortable=True),  # the validity periods (kb.legal.validity.timeline)
        scope=fields.ID(stored=True, sortable=True),
        linhvuc=fields.ID(stored=True, sortable=True),
        year=fields.NUMERIC(stored=True, sortable=True, bits=32, signed=False),
        issued=fields.ID(stored=True, sortable=True),
        effective=fields.ID(stored=True, sortable=True),
        artnum=fields.ID(sortable=True),
    )


PERIOD_SEPARATOR, PART_SEPARATOR = "\x1e", "|"


def encode_timeline(periods: list[Period]) -> str:
    """'|2017-01-01|Chưa có hiệu lực\x1e2017-01-01||Còn hiệu lực': the periods as one column value."""
    return PERIOD_SEPARATOR.join(PART_SEPARATOR.join((p.start or "", p.end or "", p.status)) for p in periods)


def decode_timeline(value: str) -> list[Period]:
    periods = []
    for part in value.split(PERIOD_SEPARATOR) if value else ():
        start, end, status = part.split(PART_SEPARATOR, 2)
        periods.append(Period(start or None, end or None, status))
    return periods


def records(doc: Document, impacts: list[Impact] | None = None) -> list[dict]:
    """The index records of one document: the document itself, then each article.

    `impacts` (kb.legal.validity.impacts_of: what other stored documents did to it) make the validity
    timeline; a search on any date reads its status from it, an interval test."""
    periods = timeline(doc, impacts or [])
    heading = " ".join(x for x in (doc.doc_type, doc.number, doc.title) if x)
    common = {
        "uid": doc.uid,
        "doc_type": doc.doc_type or "",
        "issuer": doc.issuer or "",
        "status": status_in(periods),
        "timeline": encode_timeline(periods),
        "scope": doc.scope or "",
        "linhvuc": FIELD_SEPARATOR.join(doc.fields),
        "year": doc.year or 0,
        "issued": doc.issued or "",
        "effective": doc.effective or "",
        "number": doc.number or "",
        "title": doc.title or doc.number or "",
    }
    body = doc.text if not doc.articles else ""
    main = dict(
        common,
        id=doc.uid,
        kind="doc",
        numkey=doc.number_key or "",
        title_a=heading,
        title_f=heading,
        title_b=heading,
        body_a=body,
        body_f=body,
        body_b=body,
        content=body[:20000],
    )
    out = [main]
    for art in doc.articles:
        art_head = f"Điều {art.number}. {art.heading or ''}".strip()
        # The document's title is indexed once, on its own record; searches carry its score over
        # to the document's articles (repeating it on every article made the index twice as big).
        out.append(
            dict(
                common,
                id=f"{doc.uid}#{art.anchor}",
                kind="article",
                head_a=art_head,
                head_f=art_head,
                head_b=art_head,
                body_a=art.text,
                body_f=art.text,
                body_b=art.text,
                anchor=art.anchor,
                art_number=art.number,
                artnum=art.number.lower(),
                art_heading=art.heading or "",
                content=art.text,
            )
        )
    return out
