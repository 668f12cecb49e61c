"""The OpenAPI 3.1 description of the JSON API (served at /api/openapi.json). tests/test_web_api.py
checks it against what the endpoints really accept and return: keep the two in step."""

from __future__ import annotations

from index.search import SORTS, UNITS
from kb import vocab
from kb.legal.checker import SEVERITY_LABELS, STATE_LABELS
from kb.legal.citations import ROLES
from kb.legal.delegation import STATUS_LABELS as DELEGATION_STATUSES

STR = {"type": "string"}
INT = {"type": "integer"}
INT_NULL = {"type": ["integer", "null"]}
MATCHES = ["number", "number+date", "name+date", "name+year", "name", "number_typo", "date_typo", "none", "skipped"]
STR_NULL = {"type": ["string", "null"]}
DATE_NULL = {"type": ["string", "null"], "format": "date"}


def _array(item: dict) -> dict:
    return {"type": "array", "items": item}


def _obj(properties: dict, required: list[str] | None = None, extra: bool = False, description: str = "") -> dict:
    out = {
        "type": "object",
        "properties": properties,
        "required": list(properties) if required is None else required,
        "additionalProperties": extra,
    }
    if description:
        out["description"] = description
    return out


def _facet_param(name: str, description: str, example: str) -> dict:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description + " Lặp lại để chọn nhiều giá trị.",
        "schema": _array(STR),
        "style": "form",
        "explode": True,
        "example": [example],
    }


def _empty_is_absent(params: list[dict]) -> list[dict]:
    """Every query parameter of the API may be sent empty (`?loai=&page=`, as an HTML form sends an
    unfilled field): an empty value (or one of spaces and control characters only) counts as not given. Said with allowEmptyValue, so that a client
    (and the schema-driven fuzz, tests/test_api_fuzz.py) knows it is accepted.
    Repeatable parameters (arrays) say it in their items' schema instead: one `loai=x` on the wire is
    the array ["x"], which a validator would not read as matching anyOf [array, ""]."""
    return [
        {**p, "allowEmptyValue": True} if p["in"] == "query" and p["schema"].get("type") != "array" else p
        for p in params
    ]


def spec(server_url: str, max_limit: int = 100) -> dict:
    ref = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
    error = {"description": "Lỗi; `error` nói điều gì sai.", "content": {"application/json": {"schema": ref("Error")}}}
    search_params = [
        {
            "name": "q",
            "in": "query",
            "required": False,
            "schema": STR,
            "example": "học phí",
            "description": 'Câu truy vấn: các từ (đều phải có), "cụm từ", -loại trừ, OR, và các trường '
            "loai: coquan: hieuluc: nam:2020..2025 linhvuc: phamvi: ngay:2025-01-01..2025-06-30 so: taingay:01/06/2025. "
            "Một số ký hiệu (15/2025/NQ-HĐND) cho đúng văn bản đó trong `exact`.",
        },
        _facet_param("loai", "Loại văn bản.", "Luật"),
        _facet_param("coquan", "Cơ quan ban hành (một phần của tên là đủ).", "Quốc hội"),
        {
            **_facet_param("hieuluc", "Tình trạng hiệu lực.", vocab.IN_FORCE),
            "schema": _array({"type": "string", "enum": [*vocab.STATUSES, ""]}),
        },
        {
            **_facet_param("nam", "Năm ban hành.", "2021"),
            "schema": _array({"type": "string", "pattern": "^([0-9]{4})?$"}),
        },
        _facet_param("linhvuc", "Lĩnh vực.", "Giáo dục"),
        _facet_param("phamvi", "Trung ương hoặc Địa phương.", vocab.CENTRAL),
        {
            "name": "tu",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "format": "date"},
            "example": "2020-01-01",
            "description": "Ngày ban hành từ (YYYY-MM-DD hoặc dd/mm/yyyy).",
        },
        {
            "name": "den",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "format": "date"},
            "example": "2025-12-31",
            "description": "Ngày ban hành đến (YYYY-MM-DD hoặc dd/mm/yyyy); không trước `tu`.",
        },
        {
            "name": "taingay",
            "in": "query",
            "required": False,
            "schema": {"type": "string", "format": "date"},
            "example": "2025-06-01",
            "description": "Hiệu lực tại ngày (YYYY-MM-DD hoặc dd/mm/yyyy): hieuluc, số đếm theo tình trạng và tình "
            "trạng của mỗi kết quả tính tại ngày này; mặc định hôm nay (giờ Việt Nam).",
        },
        {
            "name": "sort",
            "in": "query",
            "required": False,
            "example": "issued",
            "schema": {"type": "string", "enum": list(SORTS), "default": "relevance"},
            "description": "relevance (phù hợp nhất), issued (ngày ban hành mới nhất), effective (ngày có hiệu lực mới nhất).",
        },
        {
            "name": "unit",
            "in": "query",
            "required": False,
            "example": "article",
            "schema": {"type": "string", "enum": list(UNITS), "default": "document"},
            "description": "document: mỗi kết quả là một văn bản; article: mỗi kết quả là một Điều.",
        },
        {
            "name": "page",
            "in": "query",
            "required": False,
            "example": 1,
            "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1},
            "description": "Trang kết quả.",
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "example": 10,
            "schema": {"type": "integer", "minimum": 1, "maximum": max_limit, "default": 20},
            "description": "Số kết quả mỗi trang.",
        },
    ]
    article_ref = _obj(
        {"number": STR, "heading": STR_NULL, "anchor": STR, "url": STR},
        description="Điều khớp nhất (nơi lấy đoạn trích).",
    )
    hit = _obj(
        {
            "uid": STR,
            "number": STR_NULL,
            "title": STR,
            "doc_type": STR_NULL,
            "issuer": STR_NULL,
            "issued": DATE_NULL,
            "effective": DATE_NULL,
            "status": STR_NULL,
            "score": {"type": "number"},
            "snippet": {"type": "string", "description": "HTML đã thoát ký tự, chỉ thêm thẻ <mark> quanh từ khớp."},
            "snippet_text": {"type": "string", "description": "Đoạn trích dạng văn bản thường."},
            "url": {"type": "string", "description": "Trang văn bản; với unit=article có neo đến Điều (#dieu-N)."},
            "document_url": STR,
            "article": {"oneOf": [article_ref, {"type": "null"}]},
        }
    )
    facet_values = _array(_obj({"value": STR, "count": {"type": "integer", "minimum": 0}}))
    search_response = _obj(
        {
            "query": STR,
            "filters": {"type": "object", "additionalProperties": _array(STR)},
            "date_from": DATE_NULL,
            "date_to": DATE_NULL,
            "on": {"type": "string", "format": "date", "description": "Ngày tính tình trạng hiệu lực (taingay)."},
            "unit": {"type": "string", "enum": list(UNITS)},
            "sort": {"type": "string", "enum": list(SORTS)},
            "page": {"type": "integer"},
            "limit": {"type": "integer"},
            "total": {"type": "integer"},
            "pages": {"type": "integer"},
            "fallback": {
                "type": "boolean",
                "description": "Không có kết quả chứa mọi từ; đây là kết quả chứa một số từ.",
            },
            "restored": {
                "type": "string",
                "description": "Câu hỏi gõ không dấu được tìm với dấu đã thêm lại như thế này (rỗng nếu không thêm).",
            },
            "took_ms": {"type": "number"},
            "exact": {**_array(ref("Hit")), "description": "Văn bản có số ký hiệu đúng bằng câu truy vấn."},
            "hits": _array(ref("Hit")),
            "facets": {
                "type": "object",
                "description": "Số văn bản theo từng giá trị của mỗi bộ lọc (loai, coquan, hieuluc, nam, linhvuc, phamvi).",
                "additionalProperties": facet_values,
            },
            "links": _obj({"self": STR, "html": STR, "atom": STR, "csv": STR, "next": STR_NULL, "prev": STR_NULL}),
        }
    )
    relation = _obj(
        {
            "type": {"type": "string", "enum": list(vocab.RELATION_TYPES)},
            "target_uid": STR_NULL,
            "target_number": STR_NULL,
            "target_title": STR_NULL,
            "note": STR_NULL,
            "source": STR_NULL,
            "label": STR,
            "stored_uid": STR_NULL,
            "url": STR_NULL,
        }
    )
    incoming = _obj(
        {
            "type": {"type": "string", "enum": list(vocab.RELATION_TYPES)},
            "label": STR,
            "uid": STR,
            "number": STR_NULL,
            "title": STR,
            "status": STR,
            "note": STR_NULL,
            "url": STR,
        }
    )
    document = _obj(
        {
            "uid": STR,
            "source": STR,
            "source_id": STR,
            "source_url": STR_NULL,
            "number": STR_NULL,
            "title": STR,
            "doc_type": STR_NULL,
            "issuer": STR_NULL,
            "signers": _array(_obj({"name": STR, "title": STR_NULL, "issuer": STR_NULL})),
            "issued": DATE_NULL,
            "effective": DATE_NULL,
            "expires": DATE_NULL,
            "status": {
                "type": "string",
                "enum": list(vocab.STATUSES),
                "description": "Tình trạng hiệu lực tại ngày `validity.on` (docs/VALIDITY.md); nguồn ghi: `source_status`.",
            },
            "source_status": {"type": "string", "enum": list(vocab.STATUSES)},
            "validity": _obj(
                {
                    "status": STR,
                    "on": {"type": "string", "format": "date"},
                    "since": DATE_NULL,
                    "until": DATE_NULL,
                    "reason": STR,
                    "evidence": _array({"type": "object"}),
                }
            ),
            "changed_by": _array({"type": "object"}),
            "fields": _array(STR),
            "scope": STR_NULL,
            "province": STR_NULL,
            "gazette": STR_NULL,
            "text": STR,
            "articles": _array(
                _obj({"number": STR, "heading": STR_NULL, "text": STR, "chapter": STR_NULL, "anchor": STR, "url": STR})
            ),
            "relations": _array(ref("Relation")),
            "attachments": _array(
                _obj(
                    {
                        "name": STR,
                        "url": STR_NULL,
                        "kind": {"type": "string", "enum": ["original", "main", "appendix", "other"]},
                        "text": STR_NULL,
                        "scanned": {"type": "boolean"},
                    }
                )
            ),
            "source_updated": STR_NULL,
            "provenance": {"type": "object", "additionalProperties": STR},
            "extra": {"type": "object"},
            "url": STR,
            "incoming": {**_array(ref("Incoming")), "description": "Quan hệ mà các văn bản khác có với văn bản này."},
        }
    )
    check_schemas = _check_schemas(ref)
    delegation_schemas = _delegation_schemas(ref)
    date_param = {"type": "string", "format": "date"}
    delegation_params = [
        {
            "name": "status",
            "in": "query",
            "required": False,
            "example": "open",
            "schema": {"type": "string", "enum": list(DELEGATION_STATUSES)},
            "description": "open: chưa có nghị quyết của tỉnh viện dẫn; answered: đã có.",
        },
        {
            "name": "linhvuc",
            "in": "query",
            "required": False,
            "schema": STR,
            "example": "Giáo dục",
            "description": "Lĩnh vực của văn bản giao (một phần của tên, không phân biệt dấu).",
        },
        {
            "name": "tu",
            "in": "query",
            "required": False,
            "schema": date_param,
            "example": "2020-01-01",
            "description": "Văn bản giao có hiệu lực (hoặc ban hành) từ ngày này (YYYY-MM-DD hoặc dd/mm/yyyy).",
        },
        {
            "name": "page",
            "in": "query",
            "required": False,
            "example": 1,
            "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1},
            "description": "Trang.",
        },
        {
            "name": "limit",
            "in": "query",
            "required": False,
            "example": 10,
            "schema": {"type": "integer", "minimum": 1, "maximum": max_limit, "default": 50},
            "description": "Số mục mỗi trang.",
        },
    ]
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "API văn bản pháp luật – Văn phòng HĐND tỉnh",
            "version": "1.0",
            "description": "Tìm kiếm và đọc văn bản pháp luật trong cơ sở dữ liệu, kiểm tra căn cứ pháp lý của "
            "dự thảo, theo dõi nội dung trung ương giao HĐND tỉnh quy định. Không thay đổi dữ liệu; trả về JSON. "
            "Một tham số để trống (hoặc chỉ có khoảng trắng, ký tự điều khiển) được coi như không có; "
            "một tham số không có trong mô tả này bị từ chối (400).",
        },
        "servers": [{"url": server_url.rstrip("/") or "/"}],
        "paths": {
            "/api/search": {
                "get": {
                    "operationId": "search",
                    "summary": "Tìm kiếm văn bản hoặc điều",
                    "parameters": _empty_is_absent(search_params),
                    "responses": {
                        "200": {
                            "description": "Kết quả, số đếm theo bộ lọc",
                            "content": {"application/json": {"schema": ref("SearchResponse")}},
                        },
                        "400": error,
                        "503": error,
                    },
                }
            },
            "/api/documents/{uid}": {
                "get": {
                    "operationId": "document",
                    "summary": "Toàn bộ một văn bản: thông tin, các điều, quan hệ hai chiều",
                    "parameters": [
                        {
                            "name": "uid",
                            "in": "path",
                            "required": True,
                            "schema": STR,
                            "example": "vbpl:188001",
                            "description": "Mã văn bản `<nguồn>:<mã tại nguồn>`.",
                        }
                    ],
                    "responses": {
                        "200": {"description": "Văn bản", "content": {"application/json": {"schema": ref("Document")}}},
                        "404": error,
                        "503": error,
                    },
                }
            },
            "/api/check": {
                "post": {
                    "operationId": "check",
                    "summary": "Kiểm tra căn cứ pháp lý của một dự thảo",
                    "description": "Tìm mọi trích dẫn văn bản trong dự thảo và cho biết tình trạng của từng văn bản được "
                    "viện dẫn vào ngày dự kiến có hiệu lực (`on`, mặc định: hôm nay). Như `kb check --json`. "
                    "Giới hạn số lần gọi theo địa chỉ máy (429). Mỗi lần kiểm tra tối đa 2.000 trích dẫn (413 "
                    "nêu số trích dẫn), 10 giây và 300 MB; khi bộ kiểm tra đang bận: 503 với Retry-After. "
                    "Yêu cầu do trình duyệt gửi từ trang khác (Origin, Sec-Fetch-Site: cross-site) bị từ chối (403); "
                    "chương trình gọi API không gửi các tiêu đề này.",
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": ref("CheckRequest"),
                                "example": {
                                    "text": "Căn cứ Luật Giáo dục ngày 14 tháng 6 năm 2019;",
                                    "on": "2026-09-01",
                                },
                            },
                            "multipart/form-data": {
                                "schema": _obj(
                                    {
                                        "file": {
                                            "type": "string",
                                            "format": "binary",
                                            "description": "Tệp DOCX, PDF hoặc văn bản thuần.",
                                        },
                                        "text": {
                                            "type": "string",
                                            "description": "Nội dung dự thảo, khi không gửi tệp.",
                                        },
                                        "on": {
                                            "type": "string",
                                            "description": "Ngày dự kiến có hiệu lực (YYYY-MM-DD hoặc dd/mm/yyyy).",
                                        },
                                    },
                                    required=[],
                                )
                            },
                            "application/x-www-form-urlencoded": {
                                "schema": _obj(
                                    {
                                        "text": {"type": "string", "description": "Nội dung dự thảo."},
                                        "on": {
                                            "type": "string",
                                            "description": "Ngày dự kiến có hiệu lực (YYYY-MM-DD hoặc dd/mm/yyyy).",
                                        },
                                    },
                                    required=[],
                                )
                            },
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "Báo cáo kiểm tra",
                            "content": {"application/json": {"schema": ref("CheckReport")}},
                        },
                        "400": error,
                        "403": error,
                        "413": error,
                        "503": error,
                        "429": {
                            **error,
                            "headers": {
                                "Retry-After": {
                                    "description": "Số giây cần chờ trước lần gọi tiếp theo.",
                                    "schema": {"type": "integer", "minimum": 1},
                                }
                            },
                        },
                    },
                }
            },
            "/api/delegations": {
                "get": {
                    "operationId": "delegations",
                    "summary": "Nội dung văn bản trung ương giao HĐND tỉnh quy định, quyết định",
                    "parameters": _empty_is_absent(delegation_params),
                    "responses": {
                        "200": {
                            "description": "Các nội dung giao, văn bản giao mới nhất trước",
                            "content": {"application/json": {"schema": ref("Delegations")}},
                        },
                        "400": error,
                        "503": error,
                    },
                }
            },
            "/api/openapi.json": {
                "get": {
                    "operationId": "openapi",
                    "summary": "Mô tả OpenAPI này",
                    "responses": {
                        "200": {
                            "description": "OpenAPI 3.1",
                            "content": {"application/json": {"schema": {"type": "object"}}},
                        }
                    },
                }
            },
        },
        "components": {
            "schemas": {
                "Hit": hit,
                "SearchResponse": search_response,
                "Relation": relation,
                "Incoming": incoming,
                "Document": document,
                "Error": _obj({"error": STR, "status": {"type": "integer"}}),
                **check_schemas,
                **delegation_schemas,
            }
        },
    }


def _check_schemas(ref) -> dict:
    doc_ref = _obj(
        {
            "uid": STR_NULL,
            "number": STR_NULL,
            "title": STR,
            "doc_type": STR_NULL,
            "issuer": STR_NULL,
            "issued": DATE_NULL,
            "effective": DATE_NULL,
            "expires": DATE_NULL,
            "status": {"type": "string", "description": "Tình trạng hiệu lực vào ngày kiểm tra."},
            "label": STR,
        },
        description="Văn bản trong cơ sở dữ liệu (uid null: văn bản chỉ được nêu trong ghi chú, chưa có trong CSDL).",
    )
    citation = _obj(
        {
            "start": INT,
            "end": INT,
            "raw": {"type": "string", "description": "Đoạn trích dẫn như viết trong dự thảo."},
            "doc_type": STR_NULL,
            "number": STR_NULL,
            "name": STR_NULL,
            "title": STR_NULL,
            "date": DATE_NULL,
            "date_text": STR_NULL,
            "year": INT_NULL,
            "issuer": STR_NULL,
            "effective": DATE_NULL,
            "articles": _array(_obj({"article": STR, "clause": STR_NULL, "point": STR_NULL})),
            "role": {
                "type": "string",
                "enum": list(ROLES),
                "description": "basis: Căn cứ; amending: căn cứ (văn bản sửa đổi); considered: Xét; body: nội dung.",
            },
            "amends": INT_NULL,
            "parent": INT_NULL,
            "index": INT,
            "label": STR,
        }
    )
    finding = _obj(
        {
            "code": {
                "type": "string",
                "description": "Mã ổn định: replaced, repealed, expired, amended_not_cited, "
                "date_mismatch, number_mismatch, not_found, …",
            },
            "severity": {"type": "string", "enum": list(SEVERITY_LABELS)},
            "severity_label": STR,
            "message": STR,
            "related": _array(ref("DocRef")),
        }
    )
    amendment = _obj(
        {
            "document": ref("DocRef"),
            "effective": DATE_NULL,
            "note": STR_NULL,
            "cited": {"type": "boolean", "description": "Dự thảo có viện dẫn văn bản sửa đổi này không."},
            "by_articles": _array(STR),
        }
    )
    check = _obj(
        {
            "citation": ref("Citation"),
            "match": {"type": "string", "enum": MATCHES},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "document": {"oneOf": [ref("DocRef"), {"type": "null"}]},
            "candidates": _array(ref("DocRef")),
            "state": {"type": "string", "enum": list(STATE_LABELS)},
            "state_label": STR,
            "reason": {"type": "string", "description": "Lý do, căn cứ của tình trạng hiệu lực (docs/VALIDITY.md)."},
            "since": DATE_NULL,
            "by": {"oneOf": [ref("DocRef"), {"type": "null"}]},
            "amendments": _array(ref("Amendment")),
            "findings": _array(ref("Finding")),
            "severity": {"type": ["string", "null"], "enum": [*SEVERITY_LABELS, None]},
        }
    )
    report = _obj(
        {
            "on": {"type": "string", "format": "date", "description": "Ngày dự kiến có hiệu lực."},
            "source": STR_NULL,
            "text_chars": INT,
            "counts": _obj({"citations": INT, "error": INT, "warning": INT, "info": INT, "resolved": INT}),
            "citations": _array(ref("CitationCheck")),
        }
    )
    request = _obj(
        {
            "text": {"type": "string", "description": "Nội dung dự thảo."},
            "on": {
                "type": ["string", "null"],
                "description": "Ngày dự kiến có hiệu lực (YYYY-MM-DD hoặc dd/mm/yyyy); mặc định hôm nay.",
            },
            "source": {"type": ["string", "null"], "description": "Tên tệp hoặc nguồn, ghi lại trong báo cáo."},
        },
        required=["text"],
    )
    return {
        "DocRef": doc_ref,
        "Citation": citation,
        "Finding": finding,
        "Amendment": amendment,
        "CitationCheck": check,
        "CheckReport": report,
        "CheckRequest": request,
    }


def _delegation_schemas(ref) -> dict:
    answer = _obj(
        {
            "uid": STR,
            "number": STR_NULL,
            "title": STR,
            "issued": DATE_NULL,
            "effective": DATE_NULL,
            "match": {"type": "string", "enum": ["clause", "article", "document"]},
            "url": STR,
        },
        description="Nghị quyết của tỉnh viện dẫn văn bản giao.",
    )
    delegation = _obj(
        {
            "parent_uid": STR,
            "parent_number": STR_NULL,
            "parent_title": STR,
            "parent_type": STR_NULL,
            "parent_issuer": STR_NULL,
            "parent_issued": DATE_NULL,
            "parent_effective": DATE_NULL,
            "parent_status": STR,
            "fields": _array(STR),
            "article": STR,
            "clause": STR_NULL,
            "heading": STR_NULL,
            "anchor": STR,
            "text": {"type": "string", "description": "Khoản (hoặc điều) giao."},
            "excerpt": {"type": "string", "description": "Câu giao HĐND tỉnh quy định, quyết định."},
            "verb": STR,
            "status": {"type": "string", "enum": list(DELEGATION_STATUSES)},
            "answers": _array(ref("Answer")),
            "related": {
                **_array(ref("Answer")),
                "description": "Nghị quyết viện dẫn cả văn bản, cần người đọc xem xét.",
            },
            "key": STR,
            "provision": STR,
            "parent_label": STR,
            "status_label": STR,
            "url": {"type": "string", "description": "Điều giao trong trang văn bản."},
        }
    )
    response = _obj(
        {
            "province": STR,
            "count": INT,
            "page": INT,
            "limit": INT,
            "pages": INT,
            "counts": _obj({status: INT for status in DELEGATION_STATUSES}),
            "items": _array(ref("Delegation")),
        }
    )
    return {"Answer": answer, "Delegation": delegation, "Delegations": response}
