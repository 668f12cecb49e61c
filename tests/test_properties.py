"""Property-based tests (hypothesis) of the parts that take input from anyone: the query parser and the
search service, the số ký hiệu parser, the JSON Lines importer, and the citation extractor.

Each property says what must hold for *every* input: no exception other than the documented one, and
the round trips hold. tests/test_citations.py already checks that extract_citations never raises and
that every span is exact; the citation properties here are the others (structure, canonical numbers,
normalisation, recall of a well-formed citation in noise)."""

from __future__ import annotations

import gzip
import json
import string
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from index import build
from index.errors import QueryError
from index.query import FIELDS, parse
from index.search import FACETS, SORTS, UNITS, SearchService
from kb import jsonl, vocab
from kb.legal.citations import extract_citations
from kb.model import Document
from kb.numbers import TYPE_CODES, find_numbers, normalize_number, number_key, parse_number
from kb.store import Store
from kb.text import nfc

FIXTURES = Path(__file__).parent / "fixtures"
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# --- building blocks ---------------------------------------------------------------------------------
WORDS = [
    "học phí",
    "ngân sách",
    "Hội đồng nhân dân",
    "hdnd",
    "Lai Châu",
    "thuế",
    "đất đai",
    "Điều 5",
    "khoản 2",
    "quyết định",
    "Nghị quyết",
    "phí",
    "NQ-HĐND",
    "mầm non",
    "giáo dục",
    "UBND",
    "Uỷ ban",
]
NUMBERS_WRITTEN = [
    "15/2025/NQ-HĐND",
    "72/2025/QH15",
    "66.14/2026/NQ-CP",
    "Số: 23/NQ-HĐND",
    "164/QÐ-QLD",
    "12/2003/QĐ/BGD&ĐT",
    "56/TTr – SCT",
    "05/2024/nq-hdnd",
    "77/CP",
]
QUERY_PIECES = st.one_of(
    st.sampled_from(WORDS + NUMBERS_WRITTEN),
    st.sampled_from(
        [f"{name}:" for name in FIELDS]
        + [
            "nam:2020..2025",
            "nam:..2024",
            "nam:2025..",
            "ngay:2025-01-01..2025-06-30",
            "ngay:01/07/2025",
            "ngay:31/02/2025",
            "nam:1800",
            "so:15/2025/NQ-HĐND",
            "so:abc",
            'hieuluc:"còn hiệu lực"',
            "hieuluc:xyz",
            'loai:"Thông tư"',
            "coquan:HĐND",
            "foo:bar",
            "Loai:Luật",
            'phamvi:"địa phương"',
            "linhvuc:",
        ]
    ),
    st.sampled_from(
        [
            '"',
            '"hội đồng',
            "-",
            "-phí",
            '-"thông tư"',
            "OR",
            "or",
            "(",
            ")",
            ":",
            "..",
            "\x00",
            "\u0301",
            "\u200b",
            "\ufeff",
            "Ð",
            "–",
            "&",
            "*",
            "?",
            "~",
            "^2",
            "\\",
            "/",
            "NOT",
            "AND",
        ]
    ),
    st.text(max_size=12),
)
QUERIES = st.one_of(
    st.text(max_size=200),
    st.lists(QUERY_PIECES, max_size=12).map(" ".join),
    st.lists(QUERY_PIECES, max_size=12).map("".join),
)


# --- the query parser ----------------------------------------------------------------------------------
@FAST
@given(QUERIES)
@example("x" * 1001)
@example("nam:2025..2020")
@example('so:"')
def test_parse_raises_nothing_but_query_error(text):
    try:
        parsed = parse(text)
    except QueryError as exc:
        assert str(exc)  # a message for the user
        return
    for clause in parsed.clauses + parsed.excluded:
        assert clause.syllables and len(clause.folded) == len(clause.syllables)
    assert set(parsed.filters) <= set(FIELDS.values())
    if parsed.number:
        assert parse_number(parsed.number) is not None


@pytest.fixture(scope="module")
def small_index(tmp_path_factory):
    """The alert fixtures (real-looking documents with articles) stored and indexed once."""
    folder = tmp_path_factory.mktemp("properties-index")
    store = Store(folder / "kb.sqlite")
    for name in ("before.jsonl", "week.jsonl"):
        report = jsonl.import_file(store, FIXTURES / "alerts" / name)
        assert not report.rejected
    build.rebuild(store, folder / "index")
    service = SearchService(folder / "index")
    yield service, set(store.uids())
    service.close()
    store.close()


FILTERS = st.dictionaries(
    st.one_of(st.sampled_from(FACETS), st.text(max_size=8)),
    st.lists(
        st.one_of(
            st.sampled_from(
                ["Nghị quyết", "Luật", "Còn hiệu lực", "2024", "2026", "Trung ương", "Giáo dục", "HĐND", "", "abc"]
            ),
            st.text(max_size=10),
        ),
        max_size=3,
    ),
    max_size=3,
)


@FAST
@given(
    q=QUERIES,
    filters=FILTERS,
    unit=st.one_of(st.sampled_from(UNITS), st.text(max_size=5)),
    sort=st.one_of(st.sampled_from(SORTS), st.text(max_size=5)),
    page=st.integers(-5, 10**6),
    per_page=st.integers(-5, 1000),
)
def test_search_raises_nothing_but_query_error_and_hits_are_stored_documents(
    small_index, q, filters, unit, sort, page, per_page
):
    service, uids = small_index
    try:
        result = service.search(q, filters=filters, unit=unit, sort=sort, page=page, per_page=per_page)
    except QueryError as exc:
        assert str(exc)
        return
    assert {h.uid for h in result.hits + result.exact} <= uids
    assert len(result.hits) <= max(1, min(per_page, 100))
    assert result.total >= 0 and result.page >= 1
    for values in result.facets.values():
        assert all(count >= 0 for _, count in values)


# --- the số ký hiệu parser -----------------------------------------------------------------------------
ISSUER_CODES = [
    "HĐND",
    "UBND",
    "CP",
    "BTC",
    "BGDĐT",
    "BGD&ĐT",
    "TTg",
    "BTP",
    "BYT",
    "SCT",
    "QLD",
    "UBTVQH15",
    "BTP-BTC",
    "HĐND-UBND",
    "BLĐTBXH",
]


@st.composite
def doc_numbers(draw) -> str:
    """A số ký hiệu as sources write it canonically: 15/2025/NQ-HĐND, 72/2025/QH15, 77/CP, 66.14/2026/NQ-CP."""
    so = str(draw(st.integers(1, 99999)))
    if draw(st.booleans()):
        so = so.zfill(2)
    if draw(st.integers(0, 9)) == 0:
        so += "." + str(draw(st.integers(1, 999)))
    parts = [so]
    if draw(st.booleans()):
        parts.append(str(draw(st.integers(1945, 2099))))
    issuer = draw(st.sampled_from(ISSUER_CODES))
    kind = draw(st.one_of(st.none(), st.sampled_from(sorted(TYPE_CODES))))
    if kind is None:
        parts.append(issuer if issuer[0].isalpha() and "-" not in issuer else "CP")
    else:
        parts.append(f"{kind}{draw(st.sampled_from(['-', '/']))}{issuer}")
    return "/".join(parts)


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text.replace("Đ", "D").replace("đ", "d"))
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


VARIANTS = {
    "lowercase": str.lower,
    "no accents": strip_accents,
    "Số: prefix": lambda n: "Số: " + n,
    "so prefix": lambda n: "so " + n,
    "Eth for Đ": lambda n: n.replace("Đ", "\u00d0"),
    "spaced dash": lambda n: n.replace("-", " – "),
    "spaced hyphen": lambda n: n.replace("-", " - "),
    "spaced slash after the số": lambda n: n.replace("/", " / ", 1),
    "surrounding spaces": lambda n: f"  {n} ",
    "decomposed": lambda n: unicodedata.normalize("NFD", n),
}


@FAST
@given(
    st.one_of(
        st.text(max_size=60),
        st.lists(
            st.sampled_from(list("0123456789/-–.& :") + ["Số", "NQ", "HĐND", "Ð", "\u0301", "2025"]), max_size=20
        ).map("".join),
    )
)
def test_parse_number_never_raises_and_round_trips(text):
    parsed = parse_number(text)
    number_key(text)
    normalize_number(text)
    find_numbers(text)
    if parsed is not None:
        again = parse_number(parsed.canonical)
        assert again is not None and again.key == parsed.key and again.canonical == parsed.canonical


@FAST
@given(doc_numbers(), st.lists(st.sampled_from(sorted(VARIANTS)), min_size=1, max_size=4))
def test_number_key_is_the_same_for_every_real_variant(number, variants):
    parsed = parse_number(number)
    assert parsed is not None and parsed.canonical == number
    written = number
    for name in variants:
        written = VARIANTS[name](written)
    assert number_key(written) == number_key(number), (written, variants)


@FAST
@given(doc_numbers(), doc_numbers())
def test_different_numbers_have_different_keys(a, b):
    assume(strip_accents(a).lower().replace("&", "") != strip_accents(b).lower().replace("&", ""))
    assert number_key(a) != number_key(b)


# --- the importer -----------------------------------------------------------------------------------------
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)
VN_TEXT = st.one_of(TEXT, st.sampled_from(WORDS), st.lists(st.sampled_from(WORDS), max_size=6).map(" ".join))
DATES = st.dates(min_value=__import__("datetime").date(1945, 1, 1)).map(lambda d: d.isoformat())
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=False, allow_infinity=False), TEXT
    ),
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(TEXT, children, max_size=3)),
    max_leaves=8,
)


@st.composite
def documents(draw, source: str = "t") -> dict:
    """A document record in the schema of docs/SCHEMA.md (valid: has a title or a number)."""
    number = draw(st.one_of(st.none(), doc_numbers(), TEXT))
    title = draw(VN_TEXT)
    if not (number and " ".join(nfc(number).split())) and not " ".join(nfc(title).split()):
        title = "Văn bản " + draw(st.sampled_from(WORDS))
    data = {"uid": f"{source}:{draw(st.from_regex(r'[a-z0-9][a-z0-9.-]{0,12}', fullmatch=True))}", "title": title}
    if number is not None:
        data["number"] = number
    optional = {
        "doc_type": st.one_of(st.sampled_from(vocab.DOC_TYPES), TEXT),
        "issuer": st.one_of(st.sampled_from(["Hội đồng nhân dân tỉnh Lai Châu", "Chính phủ", "Bộ Tài chính"]), TEXT),
        "issued": DATES,
        "effective": DATES,
        "expires": DATES,
        "status": st.one_of(st.sampled_from(vocab.STATUSES), TEXT),
        "fields": st.lists(VN_TEXT, max_size=3),
        "scope": st.sampled_from([vocab.CENTRAL, vocab.LOCAL]),
        "province": st.sampled_from(["Lai Châu", "Sơn La"]),
        "gazette": TEXT,
        "text": VN_TEXT,
        "source_url": st.just("https://vbpl.vn/x"),
        "source_updated": TEXT,
        "signers": st.lists(
            st.fixed_dictionaries({"name": VN_TEXT}, optional={"title": TEXT, "issuer": TEXT}), max_size=2
        ),
        "articles": st.lists(
            st.fixed_dictionaries(
                {"number": st.one_of(st.integers(1, 300).map(str), st.sampled_from(["1a", "2", "2"]))},
                optional={"heading": VN_TEXT, "text": VN_TEXT, "chapter": TEXT},
            ),
            max_size=4,
        ),
        "relations": st.lists(
            st.fixed_dictionaries(
                {"type": st.one_of(st.sampled_from(sorted(vocab.RELATION_TYPES)), TEXT, st.integers(0, 20))},
                optional={
                    "target_uid": st.just("vbpl:1"),
                    "target_number": doc_numbers(),
                    "target_title": VN_TEXT,
                    "note": TEXT,
                },
            ),
            max_size=3,
        ),
        "attachments": st.lists(
            st.fixed_dictionaries(
                {"name": TEXT},
                optional={
                    "url": TEXT,
                    "kind": st.sampled_from(["original", "main", "appendix", "x"]),
                    "text": VN_TEXT,
                    "scanned": st.booleans(),
                },
            ),
            max_size=2,
        ),
        "extra": st.dictionaries(TEXT, JSON_VALUES, max_size=3),
    }
    for name in draw(st.sets(st.sampled_from(sorted(optional)))):
        data[name] = draw(optional[name])
    return data


def _deep(n: int) -> str:
    return "[" * n + "]" * n


HOSTILE_LINES = st.one_of(
    st.text(max_size=80).filter(lambda s: s.strip() and "\n" not in s and "\r" not in s and _not_json(s)),
    st.sampled_from(
        [
            "{",
            "}",
            "[]",
            "null",
            "42",
            '"uid"',
            "true",
            "{'uid': 't:1'}",
            '{"uid": "t:1",}',
            _deep(3000),
            '{"uid": "t:x", "title": "a", "extra": ' + _deep(1500) + "}",
            "1" * 5000,
            '{"uid": "t:x", "title": "a", "extra": {"n": ' + "9" * 5000 + "}}",
            '{"uid": "t:x", "title": "a", "extra": {"n": NaN}}',
            '{"uid": "t:x", "title": "a", "extra": Infinity}',
            '{"uid": "t:x", "title": "\\ud800"}',
            '{"uid": "t:x", "title": "a", "provenance": {"t": "\\udfff"}}',
            '{"uid": "t:x", "title": "a", "provenance": "ab"}',
            '{"uid": "t:x", "title": "a", "provenance": [1]}',
            '{"uid": "t:x", "title": "a", "extra": [1, 2]}',
            '{"uid": "t:x", "title": "a", "signers": [{"name": [5]}]}',
            '{"uid": "t:x", "title": "a", "signers": [{"name": "A", "title": []}]}',
            '{"uid": "t:x", "title": "a", "articles": [{"number": "1", "text": {}}]}',
            '{"uid": "t:x", "title": "a", "articles": [{"number": [1]}]}',
            '{"uid": "t:x", "title": "a", "relations": [{"type": "can_cu", "target_number": {"n": 5}}]}',
            '{"uid": "t:x", "title": "a", "relations": [{"type": ["can_cu"]}]}',
            '{"uid": "t:x", "title": "a", "attachments": [{"name": "a", "scanned": "yes"}]}',
            '{"uid": "t:x", "title": "a", "fields": [{"a": 1}]}',
            '{"uid": "t:x", "title": "a", "issued": 2025}',
            '{"uid": "t:x", "title": "a", "issued": "2025-02-30"}',
            '{"uid": 5, "title": "a"}',
            '{"uid": "t:", "title": "a"}',
            '{"uid": "t:x"}',
            '{"uid": "t:x", "source": "u", "title": "a"}',
            '{"uid": "t:x", "title": "a", "colour": "red"}',
            '{"article_id": "1", "doc_id": "x", "text": "   "}',
            '{"article_id": "1", "text": "a"}',
            '{"article_id": "1", "doc_id": "x", "text": "a", "issued_date": "hôm qua"}',
            '{"article_id": "1", "doc_id": ["x"], "text": "a"}',
            '{"article_id": "1", "doc_id": "x", "text": 5}',
            '{"doc_number": ["1/2020/QH14"], "text": "Điều 1. A"}',
            '{"doc_number": "1/2020/QH14", "text": 7}',
            '{"doc_number": "1/2020/QH14", "signer": {"a": 1}, "text": "x"}',
            '{"doc_number": "1/2020/QH14", "issued_date": 20200101}',
        ]
    ),
    st.dictionaries(
        st.sampled_from(
            [
                "uid",
                "title",
                "number",
                "articles",
                "relations",
                "signers",
                "issued",
                "provenance",
                "extra",
                "article_id",
                "doc_id",
                "doc_number",
                "text",
                "x",
            ]
        ),
        JSON_VALUES,
        min_size=1,
        max_size=5,
    )
    .filter(lambda d: "uid" not in d or not isinstance(d["uid"], str) or ":" not in d["uid"])
    .filter(lambda d: "article_id" not in d and "doc_number" not in d and "doc_title" not in d)
    .map(lambda d: json.dumps(d, ensure_ascii=False)),
)


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


NOT_UTF8_LINES = st.binary(min_size=1, max_size=40).filter(lambda b: b"\n" not in b and b"\r" not in b and _not_utf8(b))


def _write(path: Path, lines: list[str | bytes], compress: bool) -> Path:
    data = b"\n".join(line if isinstance(line, bytes) else line.encode("utf-8") for line in lines) + b"\n"
    if compress:
        path = path.with_suffix(".jsonl.gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    st.lists(
        st.one_of(
            documents().map(lambda d: ("valid", d)),
            HOSTILE_LINES.map(lambda line: ("bad", line)),
            NOT_UTF8_LINES.map(lambda line: ("bad", line)),
            st.just(("blank", "")),
        ),
        max_size=12,
    ),
    st.booleans(),
)
def test_import_rejects_exactly_the_bad_lines_and_imports_every_valid_document(tmp_path_factory, items, compress):
    folder = tmp_path_factory.mktemp("import")
    lines, valid, bad = [], {}, []
    for number, (kind, item) in enumerate(items, start=1):
        if kind == "valid":
            item = dict(item, uid=f"{item['uid']}-{number}")  # unique uids: no line updates another
            valid[item["uid"]] = number
            lines.append(json.dumps(item, ensure_ascii=False))
        else:
            if kind == "bad":
                bad.append(number)
            lines.append(item)
    path = _write(folder / "input.jsonl", lines, compress)
    with Store(folder / "kb.sqlite") as store:
        report = jsonl.import_file(store, path)  # nothing but the per-line rejections
        assert [n for n, _ in report.rejected] == bad, report.rejected
        assert all(reason for _, reason in report.rejected)
        assert report.added == len(valid) and report.changed == report.unchanged == 0
        assert sorted(store.uids()) == sorted(valid)
        assert store.integrity_check() == "ok"
        store.stats()  # the stored JSON is valid for SQLite's json1


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(st.lists(documents(), max_size=6, unique_by=lambda d: d["uid"]))
@example([{"uid": "t:1", "title": "Ve\x01\u0301", "articles": [{"number": "1", "text": "Đie\u200b\u0300u"}]}])
def test_export_then_import_gives_identical_documents(tmp_path_factory, records):
    folder = tmp_path_factory.mktemp("roundtrip")
    with Store(folder / "one.sqlite") as first, Store(folder / "two.sqlite") as second:
        for record in records:
            first.upsert(Document.from_dict(record))
        out = folder / "export.jsonl.gz"
        with jsonl.open_export(out, compress=True) as handle:
            assert jsonl.export(first, handle) == len(records)
        report = jsonl.import_file(second, out)
        assert report.rejected == [] and report.added == len(records)
        assert [d.to_dict() for d in second.iter_documents()] == [d.to_dict() for d in first.iter_documents()]
        # and importing the export again changes nothing
        again = jsonl.import_file(second, out)
        assert (again.added, again.changed, again.unchanged) == (0, 0, len(records))


@FAST
@given(documents())
@example({"uid": "t:1", "title": "x", "relations": [{"type": "²"}, {"type": 10}], "signers": [{"name": 5}]})
def test_a_document_read_back_from_its_json_is_the_same(record):
    doc = Document.from_dict(record)
    assert Document.from_dict(json.loads(doc.to_json())).to_dict() == doc.to_dict()


NORMALISER_TEXT = st.text(
    alphabet=st.one_of(
        st.characters(blacklist_categories=("Cs",)),
        st.sampled_from(
            [
                "\x01",
                "\x1f",
                "\x7f",
                "\u0301",
                "\u0323",
                "\u0309",
                "\u200b",
                "\ufeff",
                "\u00a0",
                "\r",
                "\n",
                "e",
                "o",
                "ơ",
                "A",
                "Đ",
            ]
        ),
    ),
    max_size=40,
)


@FAST
@given(NORMALISER_TEXT)
@example("e\x01\u0301")
@example("Ve\u200b\u0323")
def test_text_normalisation_gives_nfc_and_is_idempotent(text):
    once = nfc(text)
    assert unicodedata.is_normalized("NFC", once)
    assert nfc(once) == once


# --- the citation extractor ---------------------------------------------------------------------------------
CITATION_FRAGMENTS = st.sampled_from(
    [
        "Căn cứ ",
        "CĂN CỨ ",
        "Luật ",
        "Nghị định số ",
        "Thông tư ",
        "Quyết định số ",
        "12/2020/QH14",
        " ngày 01/4/2025",
        " ngày 15 tháng 6 năm 2015",
        ";",
        "\n",
        "khoản 2 Điều 5 ",
        "điểm a khoản 1 Điều 3 ",
        "đã được sửa đổi, bổ sung bởi ",
        " và ",
        "Luật số 35/2024/QH15",
        "Số: 15/2025/NQ-HĐND",
        " của Chính phủ",
        " của Bộ trưởng Bộ Tài chính",
        " năm 2015",
        "Tổ chức chính quyền địa phương",
        "Xét Tờ trình số 56/TTr-UBND",
        "Theo đề nghị của ",
        "Nghị quyết này ",
        "sửa đổi Nghị định số 02/2003/NĐ-CP",
        "Điều 1. ",
        "quy định chi tiết ",
        "(",
        ")",
        ", ",
        "Ð",
        "–",
        "Uỷ ban ",
        "có hiệu lực thi hành kể từ ngày 01/01/2020",
        "78/2025/NĐ-CP",
        "số 85/2017/nđ-cp",
        "Bộ luật Dân sự ",
    ]
)
CITATION_TEXTS = st.one_of(
    st.lists(CITATION_FRAGMENTS, max_size=30).map("".join),
    st.lists(st.one_of(CITATION_FRAGMENTS, st.text(max_size=5)), max_size=25).map("".join),
)


@settings(max_examples=200, deadline=None)
@given(CITATION_TEXTS)
def test_citations_are_ordered_and_their_links_point_at_real_citations(text):
    citations = extract_citations(text)
    assert [c.index for c in citations] == list(range(len(citations)))
    assert [c.start for c in citations] == sorted(c.start for c in citations)
    for c in citations:
        if c.parent is not None:  # a number inside another citation's trích yếu
            assert 0 <= c.parent < len(citations) and c.parent != c.index
            parent = citations[c.parent]
            assert parent.start <= c.start and c.end <= parent.end
        if c.amends is not None:  # amendment chain: points back at the amended citation
            assert 0 <= c.amends < c.index
        if c.role == "amending":  # (an amending citation in running text keeps role "body")
            assert c.amends is not None
        if c.number is not None:
            assert normalize_number(c.number) == c.number  # canonical, as stored documents have it
        if c.date is not None:
            assert len(c.date) == 10 and c.year == int(c.date[:4])
        for ref in c.articles:
            assert ref.article


def _facts(citations) -> list[tuple]:
    return [
        (
            c.doc_type,
            c.number,
            c.date,
            c.year,
            c.role,
            c.amends,
            c.parent,
            [(a.article, a.clause, a.point) for a in c.articles],
        )
        for c in citations
    ]


@settings(max_examples=200, deadline=None)
@given(CITATION_TEXTS)
def test_citations_do_not_depend_on_the_unicode_normalisation_of_the_text(text):
    composed = unicodedata.normalize("NFC", text)
    decomposed = unicodedata.normalize("NFD", text)
    assert _facts(extract_citations(decomposed)) == _facts(extract_citations(composed))


TYPE_WORDS = {"NĐ-CP": "Nghị định", "TT-BTC": "Thông tư", "QĐ-TTg": "Quyết định", "NQ-HĐND": "Nghị quyết"}
FILLER = st.text(alphabet=st.sampled_from(list(string.ascii_lowercase) + list("àáạảãăâđêôơư ")), max_size=30)


@settings(max_examples=200, deadline=None)
@given(
    FILLER,
    st.integers(1, 9999),
    st.integers(1990, 2030),
    st.sampled_from(sorted(TYPE_WORDS)),
    FILLER,
    st.sampled_from(["", "Căn cứ ", "theo "]),
)
def test_a_well_formed_citation_is_found_in_any_surrounding_text(before, so, year, code, after, lead):
    number = f"{so}/{year}/{code}"
    text = f"{before}. {lead}{TYPE_WORDS[code]} số {number} {after}"
    found = [c for c in extract_citations(text) if c.number == number]
    assert found, [(c.raw, c.number) for c in extract_citations(text)]
    assert found[0].doc_type == TYPE_WORDS[code]
