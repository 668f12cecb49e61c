"""Canonical vocabularies (loại văn bản, tình trạng hiệu lực, relation types, search facets) and the mapping
from each source's own labels and codes to them (see shared/pages/SOURCES.md §10)."""

from __future__ import annotations

from dataclasses import dataclass

from kb.text import canonical_tones, fold, nfc

# --- Loại văn bản -------------------------------------------------------------------------
DOC_TYPES = (
    "Hiến pháp",
    "Bộ luật",
    "Luật",
    "Pháp lệnh",
    "Lệnh",
    "Nghị quyết",
    "Nghị quyết liên tịch",
    "Nghị định",
    "Quyết định",
    "Chỉ thị",
    "Thông tư",
    "Thông tư liên tịch",
    "Văn bản hợp nhất",
    "Sắc lệnh",
    "Tờ trình",
    "Báo cáo",
    "Kế hoạch",
    "Thông báo",
    "Công văn",
    "Hướng dẫn",
    "Văn bản đính chính",
    "Bản dịch văn bản",
    "Khác",
)
NORMATIVE_TYPES = frozenset(DOC_TYPES[:14])

# Codes in số ký hiệu and in source APIs (vbpl docType.code, file names).
_DOC_TYPE_CODES = {
    "HP": "Hiến pháp",
    "BL": "Bộ luật",
    "L": "Luật",
    "LUAT": "Luật",
    "PL": "Pháp lệnh",
    "NQ": "Nghị quyết",
    "NQLT": "Nghị quyết liên tịch",
    "ND": "Nghị định",
    "QD": "Quyết định",
    "CT": "Chỉ thị",
    "CTHI": "Chỉ thị",
    "TT": "Thông tư",
    "TTLT": "Thông tư liên tịch",
    "VBHN": "Văn bản hợp nhất",
    "SL": "Sắc lệnh",
    "TTR": "Tờ trình",
    "BC": "Báo cáo",
    "KH": "Kế hoạch",
    "TB": "Thông báo",
    "HD": "Hướng dẫn",
    "CV": "Công văn",
}
_DOC_TYPE_BY_FOLDED = {fold(t).lower(): t for t in DOC_TYPES}


def doc_type(label: str | None) -> str | None:
    """Canonical loại văn bản for a source label or code ('Nghị quyết', 'nghi quyet', 'NQ', 'QĐ')."""
    if not label:
        return None
    text = nfc(label).strip()
    folded = fold(text).lower()
    if folded in _DOC_TYPE_BY_FOLDED:
        return _DOC_TYPE_BY_FOLDED[folded]
    code = fold(text).upper().replace(" ", "")
    if code in _DOC_TYPE_CODES:
        return _DOC_TYPE_CODES[code]
    for canonical in sorted(DOC_TYPES, key=len, reverse=True):  # "Nghị quyết của Quốc hội"
        if folded.startswith(fold(canonical).lower() + " "):
            return canonical
    return text


# --- Tình trạng hiệu lực -----------------------------------------------------------------
IN_FORCE = "Còn hiệu lực"
PARTLY_EXPIRED = "Hết hiệu lực một phần"
EXPIRED = "Hết hiệu lực toàn bộ"
NOT_YET = "Chưa có hiệu lực"
SUSPENDED = "Ngưng hiệu lực"
OBSOLETE = "Không còn phù hợp"
UNKNOWN = "Chưa xác định"
STATUSES = (IN_FORCE, PARTLY_EXPIRED, EXPIRED, NOT_YET, SUSPENDED, OBSOLETE, UNKNOWN)

_STATUS_LABELS = {
    # vbpl gateway effStatus.code
    "chl": IN_FORCE,
    "hhl": EXPIRED,
    "hhl1p": PARTLY_EXPIRED,
    "hhl1phan": PARTLY_EXPIRED,
    "cchl": NOT_YET,
    "tnhl": SUSPENDED,
    "tnhl1p": SUSPENDED,
    "tdhl": SUSPENDED,
    "kcph": OBSOLETE,
    # labels seen on vbpl (legacy and new), Công báo, provincial gazettes, commercial portals
    "con hieu luc": IN_FORCE,
    "dang hieu luc": IN_FORCE,
    "dang co hieu luc": IN_FORCE,
    "van ban dang co hieu luc": IN_FORCE,
    "co hieu luc": IN_FORCE,
    "het hieu luc": EXPIRED,
    "het hieu luc toan bo": EXPIRED,
    "het hieu luc mot phan": PARTLY_EXPIRED,
    "het hieu luc 1 phan": PARTLY_EXPIRED,
    "chua co hieu luc": NOT_YET,
    "ngung hieu luc": SUSPENDED,
    "ngung hieu luc mot phan": SUSPENDED,
    "tam ngung hieu luc": SUSPENDED,
    "tam dinh chi": SUSPENDED,
    "dinh chi": SUSPENDED,
    "khong con phu hop": OBSOLETE,
    "chua xac dinh": UNKNOWN,
    "da biet": UNKNOWN,
}


def status(label: str | None) -> str:
    """Canonical tình trạng hiệu lực for a source label or code; 'Chưa xác định' when unknown."""
    if not label:
        return UNKNOWN
    key = " ".join(fold(nfc(label)).lower().replace(".", " ").split())
    if key in _STATUS_LABELS:
        return _STATUS_LABELS[key]
    squashed = key.replace(" ", "")
    return _STATUS_LABELS.get(squashed, UNKNOWN)


# --- Quan hệ văn bản ---------------------------------------------------------------------
REL_BASIS = "can_cu"
REL_AMENDS = "sua_doi"
REL_REPLACES = "thay_the"
REL_REPEALS = "bai_bo"
REL_GUIDES = "huong_dan"
REL_CONSOLIDATES = "hop_nhat"
REL_CORRECTS = "dinh_chinh"
REL_SUSPENDS = "dinh_chi"
REL_REFERS = "dan_chieu"
REL_RELATED = "lien_quan"

# Each type names what the document holding the relation does to the target, and its inverse
# label says what the target undergoes (read on the target's page).
RELATION_TYPES: dict[str, tuple[str, str]] = {
    REL_BASIS: ("Căn cứ", "Là căn cứ của"),
    REL_AMENDS: ("Sửa đổi, bổ sung", "Được sửa đổi, bổ sung bởi"),
    REL_REPLACES: ("Thay thế", "Bị thay thế bởi"),
    REL_REPEALS: ("Bãi bỏ", "Bị bãi bỏ bởi"),
    REL_GUIDES: ("Hướng dẫn, quy định chi tiết", "Được hướng dẫn, quy định chi tiết bởi"),
    REL_CONSOLIDATES: ("Hợp nhất", "Được hợp nhất bởi"),
    REL_CORRECTS: ("Đính chính", "Được đính chính bởi"),
    REL_SUSPENDS: ("Đình chỉ", "Bị đình chỉ bởi"),
    REL_REFERS: ("Dẫn chiếu", "Được dẫn chiếu bởi"),
    REL_RELATED: ("Liên quan", "Liên quan"),
}

# vbpl gateway references[].referenceType (community-derived, SOURCES.md §10.3).
VBPL_REFERENCE_TYPES = {
    1: REL_REPEALS,
    2: REL_GUIDES,
    3: REL_BASIS,
    4: REL_REFERS,
    5: REL_SUSPENDS,
    6: REL_CORRECTS,
    7: REL_CONSOLIDATES,
    8: REL_REPEALS,
    9: REL_GUIDES,
    10: REL_AMENDS,
    12: REL_REPLACES,
    14: REL_RELATED,
}

_RELATION_LABELS = {
    "can cu": REL_BASIS,
    "van ban can cu": REL_BASIS,
    "vb can cu": REL_BASIS,
    "sua doi": REL_AMENDS,
    "bo sung": REL_AMENDS,
    "sua doi, bo sung": REL_AMENDS,
    "sua doi bo sung": REL_AMENDS,
    "thay the": REL_REPLACES,
    "bai bo": REL_REPEALS,
    "het hieu luc": REL_REPEALS,
    "quy dinh het hieu luc": REL_REPEALS,
    "huong dan": REL_GUIDES,
    "quy dinh chi tiet": REL_GUIDES,
    "hd, qd chi tiet": REL_GUIDES,
    "hop nhat": REL_CONSOLIDATES,
    "dinh chinh": REL_CORRECTS,
    "dinh chi": REL_SUSPENDS,
    "dan chieu": REL_REFERS,
    "lien quan": REL_RELATED,
    "lien quan khac": REL_RELATED,
}


def relation_type(label: str | int | None) -> str:
    """Canonical relation type for a source label, a vbpl code or a canonical name; 'lien_quan' otherwise."""
    if label is None:
        return REL_RELATED
    if isinstance(label, int) or (isinstance(label, str) and label.strip().isdecimal()):
        return VBPL_REFERENCE_TYPES.get(int(label), REL_RELATED)
    if label in RELATION_TYPES:
        return label
    key = " ".join(fold(nfc(label)).lower().split())
    key = key.removeprefix("vb ").removeprefix("van ban ")
    if key in _RELATION_LABELS:
        return _RELATION_LABELS[key]
    for words, rel in _RELATION_LABELS.items():
        if key.startswith(words):
            return rel
    return REL_RELATED


def relation_label(rel_type: str, inverse: bool = False) -> str:
    labels = RELATION_TYPES.get(rel_type, RELATION_TYPES[REL_RELATED])
    return labels[1] if inverse else labels[0]


# --- Phạm vi -------------------------------------------------------------------------------
CENTRAL = "Trung ương"
LOCAL = "Địa phương"
_LOCAL_MARKERS = ("hdnd", "ubnd", "hoi dong nhan dan", "uy ban nhan dan", "tinh ", "thanh pho ")


def scope_of(issuer: str | None) -> str | None:
    """Trung ương or Địa phương from the issuing body's name; None when unknown."""
    if not issuer:
        return None
    folded = fold(nfc(issuer)).lower()
    if any(marker in folded for marker in _LOCAL_MARKERS) and "chinh phu" not in folded:
        return LOCAL
    return CENTRAL


# --- Search facets --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Facet:
    """A field searches are counted and filtered by: its name in the index, its URL parameter (the
    search language's prefix, e.g. loai:"Thông tư"), and its Vietnamese label."""

    name: str
    param: str
    label: str


FACETS: tuple[Facet, ...] = (
    Facet("doc_type", "loai", "Loại văn bản"),
    Facet("issuer", "coquan", "Cơ quan ban hành"),
    Facet("status", "hieuluc", "Tình trạng hiệu lực"),
    Facet("year", "nam", "Năm ban hành"),
    Facet("linhvuc", "linhvuc", "Lĩnh vực"),
    Facet("scope", "phamvi", "Phạm vi"),
)
FACET_NAMES = tuple(f.name for f in FACETS)
FACET_PARAMS = {f.name: f.param for f in FACETS}  # "doc_type" -> "loai"
FACET_LABELS = {f.name: f.label for f in FACETS}  # "doc_type" -> "Loại văn bản"


# --- Cơ quan ban hành -----------------------------------------------------------------------
# Canonical names of the central issuers, as facets and the checker show them; a source printing a name in
# capitals ("CHÍNH PHỦ"), with old tone marks ("Uỷ ban") or abbreviated ("UBTVQH") is mapped to these.
CENTRAL_ISSUERS = (
    "Quốc hội",
    "Ủy ban Thường vụ Quốc hội",
    "Chủ tịch nước",
    "Chính phủ",
    "Thủ tướng Chính phủ",
    "Văn phòng Chính phủ",
    "Thanh tra Chính phủ",
    "Tòa án nhân dân tối cao",
    "Hội đồng Thẩm phán Tòa án nhân dân tối cao",
    "Viện kiểm sát nhân dân tối cao",
    "Kiểm toán nhà nước",
    "Ngân hàng Nhà nước Việt Nam",
    "Ủy ban Dân tộc",
    "Bộ Công an",
    "Bộ Công Thương",
    "Bộ Dân tộc và Tôn giáo",
    "Bộ Giáo dục và Đào tạo",
    "Bộ Giao thông vận tải",
    "Bộ Kế hoạch và Đầu tư",
    "Bộ Khoa học và Công nghệ",
    "Bộ Lao động - Thương binh và Xã hội",
    "Bộ Ngoại giao",
    "Bộ Nội vụ",
    "Bộ Nông nghiệp và Môi trường",
    "Bộ Nông nghiệp và Phát triển nông thôn",
    "Bộ Quốc phòng",
    "Bộ Tài chính",
    "Bộ Tài nguyên và Môi trường",
    "Bộ Thông tin và Truyền thông",
    "Bộ Tư pháp",
    "Bộ Văn hóa, Thể thao và Du lịch",
    "Bộ Xây dựng",
    "Bộ Y tế",
)


def _issuer_key(name: str) -> str:
    folded = fold(nfc(name)).lower().replace("–", "-")
    folded = folded.replace("ubtvqh", "uy ban thuong vu quoc hoi")
    return " ".join(folded.replace(",", " ").replace("-", " ").split())


_ISSUER_BY_KEY = {_issuer_key(name): name for name in CENTRAL_ISSUERS}
_LOCAL_BODIES = (("hdnd ", "Hội đồng nhân dân "), ("ubnd ", "Ủy ban nhân dân "))


def issuer(label: str | None) -> str | None:
    """The canonical name of an issuing body: a known central body by its canonical name, whatever the case,
    tone placement or abbreviation the source prints; "HĐND/UBND tỉnh X" written out; a name printed in
    capitals put in sentence case (the place after "tỉnh"/"thành phố" capitalised); others as printed."""
    if not label:
        return None
    text = " ".join(canonical_tones(nfc(label)).split())
    if not text:
        return None
    known = _ISSUER_BY_KEY.get(_issuer_key(text))
    if known:
        return known
    lowered = text.lower()
    for short, full in _LOCAL_BODIES:
        if fold(lowered).startswith(short):
            text = full + text[len(short) :]
            lowered = text.lower()
            break
    if text.isupper():
        return _sentence_case(lowered)
    for body in ("Hội đồng nhân dân ", "Ủy ban nhân dân "):
        if lowered.startswith(body.lower()):  # "… Thành phố Huế", "… Tỉnh Lai Châu": the place kind in lowercase
            rest = text[len(body) :]
            for kind in ("tỉnh ", "thành phố ", "huyện ", "quận ", "thị xã ", "xã ", "phường "):
                if rest.lower().startswith(kind):
                    rest = kind + rest[len(kind) :]
                    break
            return body + rest
    return text


def _sentence_case(lowered: str) -> str:
    words = lowered.split()
    out = [words[0].capitalize()] + words[1:]
    for i, word in enumerate(words[:-1]):
        if word in ("tỉnh", "phố") and (word == "tỉnh" or words[i - 1] == "thành"):
            out[i + 1 :] = [w.capitalize() for w in words[i + 1 :]]
            break
    if out[0] == "Bộ" and len(out) > 1:  # "Bộ Tài chính": the ministry's first word
        out[1] = out[1].capitalize()
    return " ".join(out)
