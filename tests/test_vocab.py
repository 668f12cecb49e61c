from kb import vocab


def test_doc_types_from_labels_and_codes():
    assert vocab.doc_type("Nghị quyết") == "Nghị quyết"
    assert vocab.doc_type("nghi quyet") == "Nghị quyết"
    assert vocab.doc_type("NQ") == "Nghị quyết"
    assert vocab.doc_type("QĐ") == "Quyết định"
    assert vocab.doc_type("CThi") == "Chỉ thị"  # vbpl code
    assert vocab.doc_type("Nghị quyết của Quốc hội") == "Nghị quyết"
    assert vocab.doc_type(None) is None


def test_statuses_from_every_source():
    assert vocab.status("CHL") == vocab.IN_FORCE  # vbpl effStatus.code
    assert vocab.status("HHL1P") == vocab.PARTLY_EXPIRED
    assert vocab.status("Hết hiệu lực toàn bộ") == vocab.EXPIRED
    assert vocab.status("Đang hiệu lực") == vocab.IN_FORCE  # Công báo Sơn La
    assert vocab.status("Hết hiệu lực 1 phần") == vocab.PARTLY_EXPIRED
    assert vocab.status("KCPH") == vocab.OBSOLETE
    assert vocab.status("something new") == vocab.UNKNOWN
    for canonical in vocab.STATUSES:
        assert vocab.status(canonical) == canonical


def test_relation_types_from_codes_and_labels():
    assert vocab.relation_type(3) == "can_cu"
    assert vocab.relation_type("10") == "sua_doi"
    assert vocab.relation_type(12) == "thay_the"
    assert vocab.relation_type("VB sửa đổi, bổ sung") == "sua_doi"
    assert vocab.relation_type("Văn bản căn cứ") == "can_cu"
    assert vocab.relation_type("thay_the") == "thay_the"
    assert vocab.relation_label("sua_doi", inverse=True) == "Được sửa đổi, bổ sung bởi"


def test_scope():
    assert vocab.scope_of("HĐND Tỉnh Đồng Nai") == vocab.LOCAL
    assert vocab.scope_of("Ủy ban nhân dân tỉnh Lai Châu") == vocab.LOCAL
    assert vocab.scope_of("Quốc hội") == vocab.CENTRAL
    assert vocab.scope_of("Chính phủ") == vocab.CENTRAL


def test_facets_are_declared_once_with_their_parameter_and_label():
    import index.search
    import web.common
    from kb.alerts import subscriptions

    assert vocab.FACET_NAMES == ("doc_type", "issuer", "status", "year", "linhvuc", "scope")
    assert vocab.FACET_PARAMS["doc_type"] == "loai" and vocab.FACET_LABELS["scope"] == "Phạm vi"
    assert len(set(vocab.FACET_PARAMS.values())) == len(vocab.FACETS)  # one URL parameter per facet
    assert index.search.FACETS == vocab.FACET_NAMES and index.search.FACET_PARAMS is vocab.FACET_PARAMS
    assert subscriptions.FACET_PARAMS is vocab.FACET_PARAMS and subscriptions.FACET_LABELS is vocab.FACET_LABELS
    assert web.common.FACET_LABELS is vocab.FACET_LABELS


def test_issuers_get_their_canonical_name_whatever_the_source_prints():
    from kb import vocab

    assert vocab.issuer("CHÍNH PHỦ") == "Chính phủ"
    assert vocab.issuer("Uỷ ban thường vụ Quốc hội") == vocab.issuer("UBTVQH") == "Ủy ban Thường vụ Quốc hội"
    assert vocab.issuer("BỘ TÀI CHÍNH") == "Bộ Tài chính"
    assert vocab.issuer("HĐND Thành phố Huế") == "Hội đồng nhân dân thành phố Huế"
    assert vocab.issuer("HỘI ĐỒNG NHÂN DÂN TỈNH LAI CHÂU") == "Hội đồng nhân dân tỉnh Lai Châu"
    assert vocab.issuer("UBND Tỉnh Sơn La") == "Ủy ban nhân dân tỉnh Sơn La"
    assert vocab.issuer("Sở Tài chính tỉnh Lai Châu") == "Sở Tài chính tỉnh Lai Châu"  # unknown: as printed
    assert vocab.issuer("  ") is None and vocab.issuer(None) is None


def test_every_source_stores_the_canonical_issuer():
    from kb.model import Document

    doc = Document.from_dict({"uid": "import:x", "title": "Nghị định", "issuer": "CHÍNH PHỦ"})
    assert doc.issuer == "Chính phủ" and doc.scope == "Trung ương"
