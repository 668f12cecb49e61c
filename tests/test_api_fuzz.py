"""Schema-driven fuzz of the JSON API: schemathesis reads the OpenAPI description the app serves
(/api/openapi.json, web/openapi.py), generates requests for every operation from it — valid ones
(positive) and ones that break it (negative) — sends them to the app over WSGI, on the real test
knowledge base (tests/web_fixtures.py), and checks every response:

- not_a_server_error: no 5xx (TESTING is on, so an exception in a view fails the test with its traceback);
- status_code_conformance: the status is one the description lists for the operation;
- content_type_conformance: the Content-Type is the documented one;
- response_schema_conformance: the body matches the documented schema;
- response_headers_conformance: documented headers are present and well-formed;
- negative_data_rejection: a request that breaks the description is refused (4xx), not served.

positive_data_acceptance is not run: some valid-looking requests are refused on purpose for reasons a
schema cannot state (`tu` after `den`, a `file` that is not a DOCX/PDF/text, a date like 2025-02-30).

Bounded: `max_examples` per operation and mode (KB_FUZZ_EXAMPLES, default 100), derandomized, so a run is
the same every time and takes seconds; set KB_FUZZ_EXAMPLES=1000 for a deeper run (docs/SECURITY.md).
The rate limits are switched off in the fuzzed app (CHECK_LIMIT=0): the fuzz must test answers, not 429s.

Written with `as_strategy` and hypothesis's `@given` rather than `schema.parametrize()`: schemathesis
4.32's pytest integration reads `Function._nodeid`, which pytest 9 no longer has.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from test_readers_safety import document_xml, docx_package, paragraph
from web_fixtures import DECREE, LAW, RESOLUTION, XSS, kb_instance, make_app  # noqa: F401

from kb.text import nfc

EXAMPLES = int(os.environ.get("KB_FUZZ_EXAMPLES", "100"))
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
POSITIVE, NEGATIVE = GenerationMode.POSITIVE, GenerationMode.NEGATIVE

# Every operation of the description, with the modes that apply: a free-text path parameter and an
# operation without parameters have no invalid input to generate.
OPERATIONS = [
    ("GET", "/api/search", (POSITIVE, NEGATIVE)),
    ("GET", "/api/documents/{uid}", (POSITIVE,)),
    ("POST", "/api/check", (POSITIVE, NEGATIVE)),
    ("GET", "/api/delegations", (POSITIVE, NEGATIVE)),
    ("GET", "/api/openapi.json", (POSITIVE,)),
]
DRAFT = (
    "Căn cứ Luật Giáo dục ngày 14 tháng 6 năm 2019;\n"
    "Căn cứ Nghị định số 81/2021/NĐ-CP ngày 28 tháng 8 năm 2021 của Chính phủ;\n"
    "Căn cứ Nghị quyết số 05/2023/NQ-HĐND ngày 20 tháng 7 năm 2023 của Hội đồng nhân dân tỉnh Lai Châu;\n"
    "Điều 1. Mức thu học phí theo khoản 2 Điều 99 Luật Giáo dục số 43/2019/QH14."
)


def docx_bytes(text: str) -> bytes:
    """A minimal real DOCX holding `text`, one paragraph per line."""
    return docx_package(document_xml("".join(paragraph(line) for line in text.split("\n"))))


@pytest.fixture(scope="module")
def api_schema(kb_instance):
    app = make_app(kb_instance, CHECK_LIMIT=0, SUBSCRIBE_LIMIT=0)
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


def _invalid_on_the_wire(case) -> bool:
    """False for a negative case whose invalid value reaches the app as a valid one, so that "accepted"
    is right: an object (serialised as an empty `name=`), a list for a single-valued parameter (sent
    repeated; the first value counts), or a value that is blank once control characters and spaces are
    removed (the app drops them, and a blank parameter counts as not given, as the description says);
    an object inside a form-encoded body (Werkzeug's test client, schemathesis's WSGI transport, takes a
    dict value for a file and drops it from an urlencoded body, so the app never sees it).
    schemathesis judges the Python value; the app sees the wire."""
    if case.media_type == "application/x-www-form-urlencoded" and isinstance(case.body, dict):
        if any(isinstance(v, dict) for v in case.body.values()):
            return False
    single = {p.name for p in case.operation.query if p.definition.get("schema", {}).get("type") != "array"}
    for name, value in (case.query or {}).items():
        if isinstance(value, dict) or (isinstance(value, list) and name in single):
            return False
        if any(
            isinstance(v, str) and v and not nfc(v).strip() for v in (value if isinstance(value, list) else [value])
        ):
            return False
    return True


def strategy(operation, mode):
    """schemathesis's cases for the operation, and in positive mode also cases anchored on the test
    knowledge base (real words, numbers, documents, drafts), so that full answers are checked too."""
    base = operation.as_strategy(generation_mode=mode)
    if mode == NEGATIVE:
        return base.filter(_invalid_on_the_wire)
    label = f"{operation.method.upper()} {operation.path}"
    anchored = {
        "GET /api/search": [
            operation.as_strategy(query=q)
            for q in (
                {"q": "học phí"},
                {"q": "05/2023/NQ-HĐND"},
                {"q": "học phí", "unit": "article"},
                {"q": "bến xe", "limit": 5},
            )
        ],
        "GET /api/documents/{uid}": [
            operation.as_strategy(path_parameters={"uid": uid}) for uid in (LAW, DECREE, RESOLUTION, XSS, "vbpl:9001")
        ],
        "POST /api/check": [
            operation.as_strategy(body={"text": DRAFT, "on": "2025-01-01"}, media_type="application/json"),
            operation.as_strategy(
                body={"file": docx_bytes(DRAFT), "on": "01/01/2025"}, media_type="multipart/form-data"
            ),
            operation.as_strategy(body={"text": DRAFT}, media_type="application/x-www-form-urlencoded"),
        ],
        "GET /api/delegations": [operation.as_strategy(query={"status": s}) for s in ("open", "answered")],
    }.get(label, [])
    return st.one_of(base, *anchored)


def test_every_operation_of_the_description_is_fuzzed(api_schema):
    described = {(m.upper(), path) for path, item in api_schema.raw_schema["paths"].items() for m in item}
    assert described == {(method, path) for method, path, _ in OPERATIONS}


@pytest.mark.parametrize(
    "method, path, mode",
    [(m, p, mode) for m, p, modes in OPERATIONS for mode in modes],
    ids=lambda v: getattr(v, "value", v),
)
def test_the_api_keeps_its_description(api_schema, method, path, mode):
    operation = api_schema[path][method]

    @given(case=strategy(operation, mode))
    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        suppress_health_check=(HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large),
    )
    def fuzz(case):
        case.call_and_validate(checks=CHECKS)

    fuzz()
