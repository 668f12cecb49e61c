"""The OpenAPI 3.1 description of the JSON API (served at /api/openapi.json). tests/test_web_api.py
checks it against what the endpoints really accept and return: keep the two in step."""
from __future__ import annotations

from index.search import SORTS, UNITS
from kb import vocab

STR = {"type": "string"}
STR_NULL = {"type": ["string", "null"]}
DATE_NULL = {"type": ["string", "null"], "format": "date"}


def _array(item: dict) -> dict:
    return {"type": "array", "items": item}


def _obj(properties: dict, required: list[str] | None = None, extra: bool = False, description: str = "") -> dict:
    out = {"type": "object", "properties": properties, "required": required or list(properties),
           "additionalProperties": extra}
    if description:
        out["description"] = description
    return out


def _facet_param(name: str, description: str, example: str) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description + " Lặp lại để chọn nhiều giá trị.",
            "schema": _array(STR), "style": "form", "explode": True, "example": [example]}


def spec(server_url: str, max_limit: int = 100) -> dict:
    ref = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
    error = {"description": "Lỗi; `error` nói điều gì sai.", "content": {"application/json": {"schema": ref("Error")}}}
    search_params = [
        {"name": "q", "in": "query", "required": False, "schema": STR, "example": "học phí",
         "description": "Câu truy vấn: các từ (đều phải có), \"cụm từ\", -loại trừ, OR, và các trường "
                        "loai: coquan: hieuluc: nam:2020..2025 linhvuc: phamvi: ngay:2025-01-01..2025-06-30 so:. "
                        "Một số ký hiệu (15/2025/NQ-HĐND) cho đúng văn bản đó trong `exact`."},
        _facet_param("loai", "Loại văn bản.", "Luật"),
        _facet_param("coquan", "Cơ quan ban hành (một phần của tên là đủ).", "Quốc hội"),
        {**_facet_param("hieuluc", "Tình trạng hiệu lực.", vocab.IN_FORCE),
         "schema": _array({"type": "string", "enum": list(vocab.STATUSES)})},
        {**_facet_param("nam", "Năm ban hành.", "2021"),
         "schema": _array({"type": "string", "pattern": "^[0-9]{4}$"})},
        _facet_param("linhvuc", "Lĩnh vực.", "Giáo dục"),
        _facet_param("phamvi", "Trung ương hoặc Địa phương.", vocab.CENTRAL),
        {"name": "tu", "in": "query", "required": False, "schema": {"type": "string", "format": "date"},
         "example": "2020-01-01", "description": "Ngày ban hành từ (YYYY-MM-DD hoặc dd/mm/yyyy)."},
        {"name": "den", "in": "query", "required": False, "schema": {"type": "string", "format": "date"},
         "example": "2025-12-31", "description": "Ngày ban hành đến (YYYY-MM-DD hoặc dd/mm/yyyy)."},
        {"name": "sort", "in": "query", "required": False, "example": "issued",
         "schema": {"type": "string", "enum": list(SORTS), "default": "relevance"},
         "description": "relevance (phù hợp nhất), issued (ngày ban hành mới nhất), effective (ngày có hiệu lực mới nhất)."},
        {"name": "unit", "in": "query", "required": False, "example": "article",
         "schema": {"type": "string", "enum": list(UNITS), "default": "document"},
         "description": "document: mỗi kết quả là một văn bản; article: mỗi kết quả là một Điều."},
        {"name": "page", "in": "query", "required": False, "example": 1,
         "schema": {"type": "integer", "minimum": 1, "maximum": 10000, "default": 1}, "description": "Trang kết quả."},
        {"name": "limit", "in": "query", "required": False, "example": 10,
         "schema": {"type": "integer", "minimum": 1, "maximum": max_limit, "default": 20},
         "description": "Số kết quả mỗi trang."},
    ]
    article_ref = _obj({"number": STR, "heading": STR_NULL, "anchor": STR, "url": STR},
                       description="Điều khớp nhất (nơi lấy đoạn trích).")
    hit = _obj({
        "uid": STR, "number": STR_NULL, "title": STR, "doc_type": STR_NULL, "issuer": STR_NULL,
        "issued": DATE_NULL, "effective": DATE_NULL, "status": STR_NULL, "score": {"type": "number"},
        "snippet": {"type": "string", "description": "HTML đã thoát ký tự, chỉ thêm thẻ <mark> quanh từ khớp."},
        "snippet_text": {"type": "string", "description": "Đoạn trích dạng văn bản thường."},
        "url": {"type": "string", "description": "Trang văn bản; với unit=article có neo đến Điều (#dieu-N)."},
        "document_url": STR,
        "article": {"oneOf": [article_ref, {"type": "null"}]},
    })
    facet_values = _array(_obj({"value": STR, "count": {"type": "integer", "minimum": 0}}))
    search_response = _obj({
        "query": STR,
        "filters": {"type": "object", "additionalProperties": _array(STR)},
        "date_from": DATE_NULL, "date_to": DATE_NULL,
        "unit": {"type": "string", "enum": list(UNITS)}, "sort": {"type": "string", "enum": list(SORTS)},
        "page": {"type": "integer"}, "limit": {"type": "integer"}, "total": {"type": "integer"},
        "pages": {"type": "integer"},
        "fallback": {"type": "boolean", "description": "Không có kết quả chứa mọi từ; đây là kết quả chứa một số từ."},
        "took_ms": {"type": "number"},
        "exact": {**_array(ref("Hit")), "description": "Văn bản có số ký hiệu đúng bằng câu truy vấn."},
        "hits": _array(ref("Hit")),
        "facets": {"type": "object", "description": "Số văn bản theo từng giá trị của mỗi bộ lọc (loai, coquan, hieuluc, nam, linhvuc, phamvi).",
                   "additionalProperties": facet_values},
        "links": _obj({"self": STR, "html": STR, "atom": STR, "csv": STR, "next": STR_NULL, "prev": STR_NULL}),
    })
    relation = _obj({
        "type": {"type": "string", "enum": list(vocab.RELATION_TYPES)}, "target_uid": STR_NULL,
        "target_number": STR_NULL, "target_title": STR_NULL, "note": STR_NULL, "source": STR_NULL,
        "label": STR, "stored_uid": STR_NULL, "url": STR_NULL,
    })
    incoming = _obj({
        "type": {"type": "string", "enum": list(vocab.RELATION_TYPES)}, "label": STR, "uid": STR,
        "number": STR_NULL, "title": STR, "status": STR, "note": STR_NULL, "url": STR,
    })
    document = _obj({
        "uid": STR, "source": STR, "source_id": STR, "source_url": STR_NULL, "number": STR_NULL, "title": STR,
        "doc_type": STR_NULL, "issuer": STR_NULL,
        "signers": _array(_obj({"name": STR, "title": STR_NULL, "issuer": STR_NULL})),
        "issued": DATE_NULL, "effective": DATE_NULL, "expires": DATE_NULL,
        "status": {"type": "string", "enum": list(vocab.STATUSES)},
        "fields": _array(STR), "scope": STR_NULL, "province": STR_NULL, "gazette": STR_NULL, "text": STR,
        "articles": _array(_obj({"number": STR, "heading": STR_NULL, "text": STR, "chapter": STR_NULL,
                                 "anchor": STR, "url": STR})),
        "relations": _array(ref("Relation")),
        "attachments": _array(_obj({"name": STR, "url": STR_NULL,
                                    "kind": {"type": "string", "enum": ["original", "main", "appendix", "other"]},
                                    "text": STR_NULL, "scanned": {"type": "boolean"}})),
        "source_updated": STR_NULL,
        "provenance": {"type": "object", "additionalProperties": STR},
        "extra": {"type": "object"},
        "url": STR,
        "incoming": {**_array(ref("Incoming")), "description": "Quan hệ mà các văn bản khác có với văn bản này."},
    })
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "API văn bản pháp luật – Văn phòng HĐND tỉnh",
            "version": "1.0",
            "description": "Tìm kiếm và đọc văn bản pháp luật trong cơ sở dữ liệu. Chỉ đọc; trả về JSON.",
        },
        "servers": [{"url": server_url.rstrip("/") or "/"}],
        "paths": {
            "/api/search": {"get": {
                "operationId": "search", "summary": "Tìm kiếm văn bản hoặc điều",
                "parameters": search_params,
                "responses": {"200": {"description": "Kết quả, số đếm theo bộ lọc",
                                      "content": {"application/json": {"schema": ref("SearchResponse")}}},
                              "400": error, "503": error},
            }},
            "/api/documents/{uid}": {"get": {
                "operationId": "document", "summary": "Toàn bộ một văn bản: thông tin, các điều, quan hệ hai chiều",
                "parameters": [{"name": "uid", "in": "path", "required": True, "schema": STR,
                                "example": "vbpl:188001", "description": "Mã văn bản `<nguồn>:<mã tại nguồn>`."}],
                "responses": {"200": {"description": "Văn bản",
                                      "content": {"application/json": {"schema": ref("Document")}}},
                              "404": error, "503": error},
            }},
            "/api/openapi.json": {"get": {
                "operationId": "openapi", "summary": "Mô tả OpenAPI này",
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}},
            }},
        },
        "components": {"schemas": {
            "Hit": hit, "SearchResponse": search_response, "Relation": relation, "Incoming": incoming,
            "Document": document,
            "Error": _obj({"error": STR, "status": {"type": "integer"}}),
        }},
    }
