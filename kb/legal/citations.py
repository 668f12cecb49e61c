"""Finding the citations of other legal documents in a Vietnamese text (a draft resolution, a Tờ trình,
a báo cáo thẩm tra, or any stored document).

`extract_citations(text)` returns one `Citation` per reference to another document, in order:

- written with a number: "Nghị định số 78/2025/NĐ-CP ngày 01 tháng 4 năm 2025 của Chính phủ",
  "Luật Đất đai số 31/2024/QH15", "Thông tư 18/2019/TT-BCT", or a bare "số 114/2009/NĐ-CP";
- written by name and date only: "Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015",
  "Luật Thương mại năm 2005", and, in a "Căn cứ" line or after "Điều N", by name alone;
- with the articles it points at: "điểm a khoản 2 Điều 5 Nghị định số …" gives ArticleRef("5", "2", "a");
- in an amendment chain: in "Luật X …, đã được sửa đổi, bổ sung bởi Luật số A và Luật số B", the
  citations of A and B have role "amending" and `amends` pointing at X.

Each citation carries its span in the text it was given (offsets into the original string, whatever
its Unicode normalisation), its raw text, and its role: "basis" (in a "Căn cứ …" paragraph), "amending"
(in an amendment chain), "considered" (in a "Xét …"/"Theo đề nghị …" paragraph) or "body". A number
inside another citation's trích yếu ("… sửa đổi Nghị định số 02/2003/NĐ-CP") is a citation whose
`parent` is the enclosing one. References to the text itself ("Nghị định này", the draft's own
"Số: …" line) are not citations.

The scan works on a folded copy (lowercase, no diacritics, same length) so that "Căn cứ", "CĂN CỨ",
"Can cu" and old-style tones ("Uỷ ban") all match; values are read back from the NFC text. It never
raises on any input string, and runs in time linear in the text size.
"""

from __future__ import annotations

import bisect
import datetime as dt
import re
import unicodedata
from dataclasses import asdict, dataclass, field

from kb.dates import vn_date
from kb.numbers import number_key, parse_number
from kb.text import fold

ROLES = ("basis", "amending", "considered", "body")

# --- the record --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArticleRef:
    """A cited provision: Điều `article`, khoản `clause`, điểm `point` (each None when not given)."""

    article: str
    clause: str | None = None
    point: str | None = None

    def label(self) -> str:
        parts = []
        if self.point:
            parts.append(f"điểm {self.point}")
        if self.clause:
            parts.append(f"khoản {self.clause}")
        parts.append(f"Điều {self.article}")
        return " ".join(parts)


@dataclass
class Citation:
    start: int  # span in the text given to extract_citations
    end: int
    raw: str  # text[start:end]
    doc_type: str | None = None  # canonical loại văn bản: "Luật", "Nghị định", …
    number: str | None = None  # canonical số ký hiệu: "78/2025/NĐ-CP"
    name: str | None = None  # name as written, for laws: "Luật Tổ chức chính quyền địa phương"
    title: str | None = None  # trích yếu as written: "quy định chi tiết một số điều của …"
    date: str | None = None  # ngày ban hành as written, ISO
    date_text: str | None = None  # the date phrase as written: "ngày 01 tháng 4 năm 2025"
    year: int | None = None  # year as written ("năm 2005"), or the date's year
    issuer: str | None = None  # "Chính phủ", "Bộ trưởng Bộ Tài chính"
    effective: str | None = None  # "có hiệu lực (thi hành) kể từ ngày …", ISO
    articles: list[ArticleRef] = field(default_factory=list)
    role: str = "body"  # one of ROLES
    amends: int | None = None  # index of the citation this one amends (amendment chain)
    parent: int | None = None  # index of the citation whose trích yếu contains this one
    index: int = 0

    @property
    def label(self) -> str:
        """A short display form: "Nghị định số 78/2025/NĐ-CP" or "Luật Đất đai ngày 18/01/2024"."""
        if self.number and self.name:
            head = f"{self.name} số {self.number}"
        elif self.number:
            head = f"{self.doc_type} số {self.number}" if self.doc_type else f"Văn bản số {self.number}"
        else:
            head = self.name or self.doc_type or self.raw
        if self.date:
            head += f" ngày {vn_date(self.date)}"
        elif self.year and not self.number:
            head += f" năm {self.year}"
        return head

    def to_dict(self) -> dict:
        data = asdict(self)
        data["label"] = self.label
        return data


# --- a folded copy of the text with an offset map ---------------------------------------------

_DROP = set("\u200b\u200c\u200d\u2060\ufeff\u00ad") | {chr(c) for c in range(32) if chr(c) not in "\n\t"} | {"\x7f"}
_SUBST = {"\u00a0": " ", "\u00d0": "Đ", "\u00f0": "đ", "\u0189": "Đ", "\t": " "}
_DASHES = {"\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-"}
_NEEDS_WORK = re.compile("[\u200b\u200c\u200d\u2060\ufeff\u00ad\u00a0\u00d0\u00f0\u0189\r\t\x00-\x08\x0b-\x1f\x7f]")


class _Text:
    """The NFC text (`norm`), a same-length folded lowercase copy (`low`) and the map back to the input."""

    def __init__(self, original: str):
        self.original = original
        if unicodedata.is_normalized("NFC", original) and not _NEEDS_WORK.search(original):
            self.norm = original
            self.starts = self.ends = None
        else:
            chars: list[str] = []
            starts: list[int] = []
            ends: list[int] = []
            i, n = 0, len(original)
            while i < n:
                j = i + 1
                while j < n and unicodedata.combining(original[j]):
                    j += 1
                cluster = original[i:j]
                if cluster == "\r":
                    out = "" if j < n and original[j] == "\n" else "\n"
                elif cluster[0] in _DROP:
                    out = ""
                else:
                    out = unicodedata.normalize("NFC", _SUBST.get(cluster[0], cluster[0]) + cluster[1:])
                for ch in out:
                    chars.append(ch)
                    starts.append(i)
                    ends.append(j)
                i = j
            self.norm = "".join(chars)
            self.starts, self.ends = starts, ends
        table = {}
        for ch in set(self.norm):
            low = _DASHES.get(ch) or fold(ch).lower()
            if len(low) != 1:
                low = ch.lower() if len(ch.lower()) == 1 else ch
            if low != ch:
                table[ord(ch)] = low
        self.low = self.norm.translate(table)

    def span(self, start: int, end: int) -> tuple[int, int]:
        if self.starts is None:
            return start, end
        if start >= len(self.starts):
            return len(self.original), len(self.original)
        return self.starts[start], (self.ends[end - 1] if end > start else self.starts[start])


# --- vocabulary -------------------------------------------------------------------------------

# Folded type words and their canonical loại văn bản ("văn bản số 2709/UBND-KTTH" is a công văn).
_TYPE_WORDS = {
    "hien phap": "Hiến pháp",
    "bo luat": "Bộ luật",
    "luat": "Luật",
    "phap lenh": "Pháp lệnh",
    "nghi quyet lien tich": "Nghị quyết liên tịch",
    "nghi quyet": "Nghị quyết",
    "nghi dinh": "Nghị định",
    "quyet dinh": "Quyết định",
    "thong tu lien tich": "Thông tư liên tịch",
    "thong tu": "Thông tư",
    "chi thi": "Chỉ thị",
    "van ban hop nhat": "Văn bản hợp nhất",
    "sac lenh": "Sắc lệnh",
    "lenh": "Lệnh",
    "to trinh": "Tờ trình",
    "bao cao tham tra": "Báo cáo",
    "bao cao": "Báo cáo",
    "ke hoach": "Kế hoạch",
    "thong bao": "Thông báo",
    "cong van": "Công văn",
    "ket luan": "Kết luận",
    "van ban": None,
}
_LAW_TYPES = {"Hiến pháp", "Bộ luật", "Luật", "Pháp lệnh"}
_TYPE_ALT = "|".join(re.escape(w) for w in sorted(_TYPE_WORDS, key=len, reverse=True))
_HEAD_RE = re.compile(r"(?<![\w])(?:" + _TYPE_ALT + r")(?![\w])")
_LAW_HEAD_RE = re.compile(r"\s+(?:hien phap|bo luat|luat|phap lenh)(?![\w])")

# A số ký hiệu in the NFC text. Separators may be spaced ("56/TTr – SCT", "QĐ/BGD &ĐT") only when
# the next part is all capitals, so "NĐ-CP - Quy định" stops before " - Quy".
_NUM_RE = re.compile(
    r"""
    (?<![\w/.,])
    (?P<so>\d{1,5}(?:\.\d{1,3})?[a-zA-Z]?)
    (?:
      (?:\s?/\s?(?P<nam>(?:19|20)\d{2}))?
      \s?/\s?
      (?P<kh>[A-ZĐ][A-Za-zĐđ0-9]*
        (?:[-/&][A-ZĐ&][A-Za-zĐđ0-9&]*
          |\s?[-\u2013\u2014&]\s?[A-ZĐ][A-ZĐ0-9&]+(?=[\s\-\u2013\u2014/&,;.:)\]]|$)
        )*)
    | -(?P<kh2>[A-ZĐ]{1,6})/(?P<org>[A-ZĐ][A-ZĐ0-9]*(?:-[A-ZĐ0-9]+)*)
    | -(?P<kh3>CP|HĐBT|TTg|HĐNN\d*|UBTVQH\d*)
    )
    (?![\w])
    """,
    re.X,
)
# Codes typed in lowercase ("85/2017/nđ-cp") are read only right after "số".
_NUM_LOWER = re.compile(r"(?<![\w/.,])\d{1,5}(?:\s?/\s?(?:19|20)\d{2})?\s?/\s?[a-zđ]{1,5}-[a-zđ&]{1,12}(?![\w])")
_CODE_TYPES = {
    "NQ": "Nghị quyết",
    "NQLT": "Nghị quyết liên tịch",
    "NĐ": "Nghị định",
    "ND": "Nghị định",
    "QĐ": "Quyết định",
    "QD": "Quyết định",
    "TT": "Thông tư",
    "TTLT": "Thông tư liên tịch",
    "CT": "Chỉ thị",
    "PL": "Pháp lệnh",
    "L": "Luật",
    "VBHN": "Văn bản hợp nhất",
    "TTR": "Tờ trình",
    "BC": "Báo cáo",
    "KH": "Kế hoạch",
    "TB": "Thông báo",
    "HD": "Hướng dẫn",
    "SL": "Sắc lệnh",
    "KL": "Kết luận",
    "QĐLT": "Quyết định",
}
_ISSUER_ONLY = re.compile(r"^(?:QH\d+|UBTVQH\d+|CP|TTg|CTN|HĐNN\d*)$")
PARTY_CODES = frozenset({"TW", "TU", "HU", "ĐU", "BCT", "BBT"})

# A date: "ngày 19 tháng 6 năm 2015", "ngày 26/11/2003", "ngày 01-4-2025", "ngày 01.4.2025".
_DATE_RE = re.compile(
    r"ngay\s*:?\s*(?:(\d{1,2})\s+thang\s+(\d{1,2})\s*,?\s+nam\s+(\d{4})"
    r"|(\d{1,2})\s*([/.-])\s*(\d{1,2})\s*\5\s*(\d{4}))(?!\d)"
)
_DATE_PREFIX = re.compile(r"\s*,?\s*(?:(?:duoc\s+)?(?:ban\s+hanh|thong\s+qua|ky)\s+)?")
_YEAR_RE = re.compile(r"[ \t]*(?:nam\s+)?((?:19|20)\d{2})(?![\w/])")

_ISSUER_WORDS = (
    "thu tuong chinh phu",
    "uy ban thuong vu quoc hoi",
    "chinh phu",
    "quoc hoi",
    "chu tich nuoc",
    "hoi dong nha nuoc",
    "thuong truc hoi dong nhan dan",
    "thuong truc hdnd",
    "hoi dong nhan dan",
    "hdnd",
    "uy ban nhan dan",
    "ubnd",
    "chu tich",
    "bo truong",
    "bo",
    "thong doc",
    "ngan hang nha nuoc",
    "tong kiem toan",
    "kiem toan nha nuoc",
    "chanh an",
    "hoi dong tham phan",
    "vien truong",
    "toa an",
    "vien kiem sat",
    "giam doc",
    "so",
    "ban",
    "van phong",
    "doan dai bieu",
    "uy ban",
    "tong cuc",
    "cuc",
)
_ISSUER_START = re.compile(r"\s*,?\s*(?:cua|do)\s+(" + "|".join(re.escape(w) for w in _ISSUER_WORDS) + r")(?![\w])")
_ISSUER_STOP = re.compile(
    r"[;:,()\n]|\.(?:\s|$)|\s(?:ngay|nam|so)\s*:?\s*\d"
    r"|\s(?:ve|quy\s+dinh|huong\s+dan|ban\s+hanh|sua\s+doi|bai\s+bo|phe\s+duyet|thanh\s+lap"
    r"|theo|co\s+hieu\s+luc|dieu\s+chinh|thong\s+qua|duoc|trong)(?![\w])"
)
_TITLE_START = re.compile(
    r"\s*,?\s*(?P<kw>ve\s+viec|ve|quy\s+dinh|huong\s+dan|ban\s+hanh|sua\s+doi|bai\s+bo|phe\s+duyet|thanh\s+lap"
    r"|dieu\s+chinh|thong\s+qua|bo\s+sung|chi\s+tiet|quy\s+che|quy\s+trinh|phan\s+cap|danh\s+muc)(?![\w])"
)
_TITLE_STOP = re.compile(
    r"[;\n]|\.(?:\s|$)|\)|,\s*co\s+hieu\s+luc|\(sau\s+day|,?\s*(?:da\s+)?duoc\s+(?:sua\s+doi|bo\s+sung|thay\s+the)"
)
_EFFECTIVE_RE = re.compile(r"\s*,?\s*(?:va\s+)?co\s+hieu\s+luc(?:\s+thi\s+hanh)?(?:\s+ke)?\s+tu\s+")

# Amendment chain markers between an amended document and the amending ones.
_CHAIN_RE = re.compile(
    r"(?:(?:da\s+)?duoc\s+)?(?:sua\s+doi|bo\s+sung)(?:\s*,?\s*(?:bo\s+sung|sua\s+doi))?"
    r"(?:\s+(?:mot\s+so\s+dieu|nam\s+\d{4}))?\s*,?\s*(?:boi|theo|tai)(?![\w])"
)

# Articles before a head: "điểm a khoản 2 Điều 5 (của)", "Điều 59 và Điều 60", "khoản 1, 2 Điều 7".
_LOC_ITEM = r"(?:diem\s+[a-z]\d?|khoan\s+\d{1,3}[a-z]?|dieu\s+\d{1,4}[a-z]?)"
_LOC_RE = re.compile(
    _LOC_ITEM
    + r"(?:(?:\s*,\s*|\s+va\s+|\s+hoac\s+|\s+)(?:cac\s+)?(?:"
    + _LOC_ITEM
    + r"|\d{1,4}[a-z]?(?![\w/])|[a-z](?=\s*(?:,|va\s|khoan\s))))*\s+(?:cua\s+)?$"
)
_LOC_TOKEN = re.compile(r"(diem|khoan|dieu)\s+(\d{1,4}[a-z]?|[a-z]\d?)(?![\w])|(?<![\w])(\d{1,4}[a-z]?|[a-z])(?![\w/])")

# Paragraphs: "Căn cứ …" (legal basis) and "Xét …"/"Theo đề nghị …" (documents considered).
_LINE_HEAD = re.compile(r"[ \t]*(?:[-+•*]\s*)?(?:\d{1,2}\.\s*)?")
_BASIS_WORDS = re.compile(r"can\s+cu(?![\w])")
_CONSIDER_WORDS = re.compile(r"(?:xet|theo\s+de\s+nghi)(?![\w])")
_HARD_BREAK = re.compile(
    r"[ \t]*(?:dieu\s+\d|chuong\s+[ivxlc\d]|muc\s+\d|quyet\s+nghi|quyet\s+dinh\s*:|[ivx]+\.\s|phan\s+thu)"
)
_OWN_NUMBER = re.compile(r"(?m)(?:^|\|)[ \t|]*(?:(?:bo\s+)?luat\s+|phap\s+lenh\s+)?so\s*(?:hieu|ky\s+hieu)?\s*:\s*")
_SELF = re.compile(
    r"\s+(?:nay|tren|neu\s+tren|noi\s+tren|kem\s+theo|sau\s+day|khac|co\s+lien\s+quan|lien\s+quan"
    r"|hien\s+hanh|chuyen\s+nganh|tuong\s+ung|moi|cu|truoc|do\s+[a-z])(?![\w])"
)
_NOT_A_DOCUMENT_BEFORE = re.compile(
    r"(?:mau|bieu|phu\s+luc|ma\s+so|to\s+khai|bang|hinh|tai\s+khoan|chuong|muc|ky\s+hieu)\s*(?:so\s*)?:?\s*$"
)

# Where a law's name ends. Strong stops hold everywhere; in running text (not a "Căn cứ" line) a
# lowercase function word also ends it ("Luật Đất đai quy định …").
_STRONG_STOP = re.compile(
    r"[;:()\[\]\"“”]|\.(?:\s|$)|\n"
    r"|\s+ngay\s*:?\s*\d|\s+so\s*:?\s*\d|\s+so\s+hieu|\s+(?:nam\s+)?(?:19|20)\d{2}(?![\w/])"
    r"|,?\s+(?:da\s+)?duoc\s+(?:sua|bo\s+sung|hop\s+nhat|thay|huong|quy)|,\s*da\s"
    r"|,?\s+(?:co\s+hieu\s+luc|ban\s+hanh\s+ngay)"
    r"|(?:\s*,\s*|\s+va\s+|\s+hoac\s+)(?:cac\s+)?(?:" + _TYPE_ALT + r"|diem|khoan|dieu|so)(?![\w])"
)
_AMENDING_STRONG_STOP = re.compile(
    r"[;:()\[\]\"“”]|\.(?:\s|$)|\n"
    r"|\s+ngay\s*:?\s*\d|\s+so\s*:?\s*\d|\s+so\s+hieu|\s+(?:nam\s+)?(?:19|20)\d{2}(?![\w/])"
    r"|,?\s+(?:co\s+hieu\s+luc|ban\s+hanh\s+ngay)"
)
_SOFT_STOP = re.compile(
    r"\s+(?:quy\s+dinh|huong\s+dan|thi|theo|tai|de|do|doi\s+voi|khi|ma|la|nay|hien\s+hanh|trong\s+do|sau\s+day"
    r"|nhu|duoc|phai|se|chua|co\s+lien\s+quan|gom|bao\s+gom|hoac|ve\s+viec|cua\s+nuoc|truoc|thuoc|cho|va\s+cac"
    r"|nhung|neu|tru|ngoai|dong\s+thoi|can|co)(?![\w])"
    r"|,\s+(?:cac|nhung|trong|neu|thi|khi|truong\s+hop|ngoai|tru|dong\s+thoi|bao\s+gom|gom|co|la|va|tai|theo)(?![\w])"
)
_AMENDING_NAME = re.compile(r"(?:sua\s+doi|bo\s+sung)(?![\w])")
_TRAILING = {"va", "cua", "ve", "cac", "so", "-", "tai", "theo", ","}
_MAX_NAME_WORDS = 20
_MAX_AMENDING_NAME_WORDS = 45
_MAX_TITLE = 400
_ISSUER_COMPAT = (
    (re.compile(r"TTg$"), ("thu tuong",)),
    (re.compile(r"(?:^|-)CP$"), ("chinh phu",)),
    (re.compile(r"UBTVQH"), ("uy ban thuong vu",)),
    (re.compile(r"^QH\d+$"), ("quoc hoi",)),
    (re.compile(r"-B[A-ZĐ&]+$|/B[A-ZĐ&]+"), ("bo ", "bo truong")),
    (re.compile(r"HĐND$"), ("hoi dong nhan dan", "hdnd")),
    (re.compile(r"UBND$"), ("uy ban nhan dan", "ubnd", "chu tich")),
    (re.compile(r"NHNN$"), ("ngan hang", "thong doc")),
)
_CONTINUED_NUMBER = re.compile(r"\d+(?![.)\d]|\s*[.)])")
_WS = re.compile(r"[ \t]*(?:\n[ \t]*)?")
_AFTER_NUMBER = re.compile(r"\d/[^\s]*[A-ZĐ0-9]\s*,?\s*$")
_NUMBER_PREFIX = re.compile(r"\s*(?:so\s*(?:hieu\s*)?:?\s*)?")
_WORD = re.compile(r"\S+")


# --- scanning ---------------------------------------------------------------------------------


@dataclass
class _Draft:
    """A citation being parsed, on the NFC text's offsets."""

    start: int
    end: int
    doc_type: str | None = None
    number: str | None = None
    number_code: str | None = None
    name: str | None = None
    title: str | None = None
    title_span: tuple[int, int] | None = None
    date: str | None = None
    date_text: str | None = None
    year: int | None = None
    issuer: str | None = None
    effective: str | None = None
    articles: list[ArticleRef] = field(default_factory=list)
    parent: int | None = None
    amends: int | None = None
    role: str = "body"


class _Scanner:
    def __init__(self, text: str):
        self.t = _Text(text)
        self.norm = self.t.norm
        self.low = self.t.low
        self.n = len(self.low)
        self.regions = self._regions()
        self.region_starts = [r[0] for r in self.regions]
        self.own_keys = self._own_keys()

    # paragraphs ------------------------------------------------------------------------------
    def _regions(self) -> list[tuple[int, int, str]]:
        """(start, end, role) of each "Căn cứ …" and "Xét …" paragraph, in order, not overlapping.

        A paragraph goes on over wrapped lines and over list lines ("- Luật …;") and ends at the next
        paragraph of either kind, at an article or chapter heading, or at a line that starts a new
        sentence after a line ending in ";", "." or ":"."""
        lines = [0] + [m.end() for m in re.finditer(r"\n", self.low)]
        regions: list[tuple[int, int, str]] = []
        current: tuple[int, str] | None = None
        prev_end_char = ""
        for k, start in enumerate(lines):
            end = lines[k + 1] - 1 if k + 1 < len(lines) else self.n
            body = _LINE_HEAD.match(self.low, start).end()
            kind = None
            if _BASIS_WORDS.match(self.low, body):
                kind = "basis"
            elif _CONSIDER_WORDS.match(self.low, body):
                kind = "considered"
            line = self.low[start:end].strip()
            if current is not None:
                stop = kind is not None or bool(_HARD_BREAK.match(self.low, start))
                if not stop and line and prev_end_char in ";.:":
                    first = self.norm[body] if body < self.n else ""
                    bullet = self.low[start:body].strip() != ""
                    stop = not (bullet or first.islower() or _HEAD_RE.match(self.low, body))
                if stop:
                    regions.append((current[0], start, current[1]))
                    current = None
            if kind is not None:
                current = (start, kind)
            if line:
                prev_end_char = line[-1]
        if current is not None:
            regions.append((current[0], self.n, current[1]))
        return regions

    def role_at(self, pos: int) -> str:
        k = bisect.bisect_right(self.region_starts, pos) - 1
        if k >= 0 and pos < self.regions[k][1]:
            return self.regions[k][2]
        return "body"

    def region_start(self, pos: int) -> int | None:
        k = bisect.bisect_right(self.region_starts, pos) - 1
        if k >= 0 and pos < self.regions[k][1]:
            return self.regions[k][0]
        return None

    def _own_keys(self) -> set[str]:
        """Keys of the text's own "Số: …" numbers: the draft citing itself is no citation."""
        own = set()
        for m in _OWN_NUMBER.finditer(self.low):
            num = _NUM_RE.match(self.norm, m.end())
            if num:
                canonical, _ = _canonical_number(num)
                if canonical:
                    own.add(number_key(canonical))
        return own

    # small parsers -------------------------------------------------------------------------
    def number_at(self, pos: int):
        """A number at pos, after an optional "số"/"số:": (end, canonical, code) or None."""
        p = _NUMBER_PREFIX.match(self.low, pos).end()
        num = _NUM_RE.match(self.norm, p)
        if not num:
            if p == pos:
                return None
            lower = _NUM_LOWER.match(self.norm, p)
            parsed = parse_number(re.sub(r"\s+", "", lower.group(0)).upper()) if lower else None
            return (lower.end(), parsed.canonical, parsed.code) if parsed else None
        canonical, code = _canonical_number(num)
        if canonical is None:
            return None
        return num.end(), canonical, code

    def date_at(self, pos: int, allow_year: bool = False):
        p = _DATE_PREFIX.match(self.low, pos).end()
        d = _DATE_RE.match(self.low, p)
        if d:
            return d.end(), _iso(d), self.norm[d.start() : d.end()], _date_year(d)
        if allow_year:
            y = _YEAR_RE.match(self.low, pos)
            if y:
                return y.end(), None, self.norm[y.start() : y.end()].strip(), int(y.group(1))
        return None

    def issuer_at(self, pos: int):
        m = _ISSUER_START.match(self.low, pos)
        if not m:
            return None
        begin = m.start(1)
        limit = min(self.n, begin + 160)
        stop = _ISSUER_STOP.search(self.low, m.end(1), limit)
        end = stop.start() if stop else limit
        text = " ".join(self.norm[begin:end].split())
        if not text:
            return None
        return begin + len(self.norm[begin:end].rstrip()), text

    def effective_at(self, pos: int):
        m = _EFFECTIVE_RE.match(self.low, pos)
        if not m:
            return None
        d = _DATE_RE.match(self.low, m.end())
        if not d:
            return None
        return d.end(), _iso(d)

    def name_at(self, pos: int, doc_type: str, basis: bool, lowercase_ok: bool = False):
        """A law's name starting at pos: (start, end, text) or None."""
        p = _WS.match(self.low, pos).end()
        if p >= self.n or not self.low[p].isalpha() or p == pos:
            return None
        amending = bool(_AMENDING_NAME.match(self.low, p))
        if not (self.norm[p].isupper() or amending or lowercase_ok or doc_type in ("Bộ luật", "Hiến pháp")):
            return None
        if _SELF.match(self.low, p - 1):
            return None
        limit = min(self.n, p + 700)
        end = self._stop(p, limit, _AMENDING_STRONG_STOP if amending else _STRONG_STOP, wrap=True)
        if not (basis or amending):
            end = self._stop(p, end, _SOFT_STOP, wrap=False)
        words = self.norm[p:end].split()
        if not words or len(words) > (_MAX_AMENDING_NAME_WORDS if amending else _MAX_NAME_WORDS):
            return None
        while words and fold(words[-1]).lower().strip(",") in _TRAILING:
            words.pop()
        if not words:
            return None
        end = p
        for _, m in zip(range(len(words)), _WORD.finditer(self.norm, p)):
            end = m.end()
        return p, end, " ".join(words).rstrip(",")

    def _stop(self, p: int, limit: int, pattern: re.Pattern, wrap: bool) -> int:
        """The first stop of `pattern` in [p, limit), skipping wrapped line breaks and capitalised words."""
        q = p
        while q < limit:
            stop = pattern.search(self.low, q, limit)
            if not stop:
                return limit
            s = stop.start()
            if self.low[s] == "\n" and wrap:
                nxt = _WS.match(self.low, s).end()
                if nxt < self.n and self.norm[nxt].islower():
                    q = nxt
                    continue
                return s
            word = s + len(stop.group(0)) - len(stop.group(0).lstrip(" ,\t"))
            if pattern is _SOFT_STOP and word < self.n and self.norm[word].isupper():
                q = stop.end()
                continue
            return s
        return limit

    def title_at(self, pos: int):
        m = _TITLE_START.match(self.low, pos)
        if not m:
            return None
        return self._title_from(m.start("kw"))

    def _title_from(self, begin: int):
        limit = min(self.n, begin + _MAX_TITLE)
        end = limit
        q = begin
        while q < limit:
            stop = _TITLE_STOP.search(self.low, q, limit)
            if not stop:
                break
            s = stop.start()
            if self.low[s] == "\n":
                nxt = _WS.match(self.low, s).end()
                if nxt < self.n and (self.norm[nxt].islower() or _CONTINUED_NUMBER.match(self.low, nxt)):
                    q = nxt
                    continue
            if self.low[s] == ")" and self.low.count("(", begin, s) > self.low.count(")", begin, s):
                q = stop.end()
                continue
            end = s
            break
        text = " ".join(self.norm[begin:end].split()).rstrip(" ,")
        return (begin, end, text) if text else None

    def locator_before(self, pos: int) -> tuple[int, list[ArticleRef]] | None:
        window_start = max(0, pos - 160)
        m = _LOC_RE.search(self.low, window_start, pos)
        if not m or m.end() != pos:
            return None
        refs = parse_locator(self.norm[m.start() : pos])
        return (m.start(), refs) if refs else None

    # one citation --------------------------------------------------------------------------
    def parse_head(self, start: int, end: int, words: str | None) -> _Draft | None:
        """The citation whose type word spans [start, end) — or, with words=None, a bare number."""
        basis = self.role_at(start) == "basis"
        if words is None:
            got = self.number_at(start)
            if not got or _NOT_A_DOCUMENT_BEFORE.search(self.low, max(0, start - 30), start):
                return None
            num_end, canonical, code = got
            type_code = _type_code(code)
            if not (type_code or _ISSUER_ONLY.match(code or "")):
                return None
            draft = _Draft(
                start=start,
                end=num_end,
                number=canonical,
                number_code=code,
                doc_type=_CODE_TYPES.get(type_code.upper()) if type_code else None,
            )
            return self._tail(draft, num_end)

        doc_type = _TYPE_WORDS[words]
        if _SELF.match(self.low, end):
            return None
        draft = _Draft(start=start, end=end, doc_type=doc_type)
        after = end
        got = self.number_at(after)
        if got:
            draft.end = after = got[0]
            draft.number, draft.number_code = got[1], got[2]
            if doc_type is None:
                tc = _type_code(draft.number_code)
                draft.doc_type = _CODE_TYPES.get(tc.upper(), "Công văn") if tc else "Công văn"
        if doc_type in _LAW_TYPES:
            if draft.number:
                # "Luật số 38/2019/QH14 Luật Quản lý thuế", "Luật 99/2015/QH13 Tổ chức cơ quan …"
                m = _LAW_HEAD_RE.match(self.low, after)
                if m or not _TITLE_START.match(self.low, after):
                    got_name = self.name_at(m.end() if m else after, doc_type, basis, lowercase_ok=bool(m))
                    if got_name and not _AMENDING_NAME.match(self.low, got_name[0]):
                        draft.name = f"{doc_type} {got_name[2]}"
                        draft.end = after = got_name[1]
            elif self.norm[start].isupper():
                got_name = self.name_at(after, doc_type, basis)
                if got_name is None and not self.low.startswith(("nay", "khac"), _WS.match(self.low, after).end()):
                    got_name = self.name_at(after, doc_type, basis, lowercase_ok=True)
                    if got_name and not (
                        self.locator_before(start)
                        or self.date_at(got_name[1], allow_year=True)
                        or self.number_at(got_name[1])
                    ):
                        got_name = None
                if got_name:
                    draft.name = f"{doc_type} {got_name[2]}"
                    draft.end = after = got_name[1]
                    got = self.number_at(after)
                    if got:
                        draft.end = after = got[0]
                        draft.number, draft.number_code = got[1], got[2]
                elif doc_type == "Hiến pháp":
                    draft.name = "Hiến pháp"
            if not (draft.number or draft.name):
                return None
        elif not draft.number:
            return None
        return self._tail(draft, after)

    def _tail(self, draft: _Draft, after: int) -> _Draft:
        """Date, issuer, effective date and trích yếu after the number or the name."""
        law_like = draft.doc_type in _LAW_TYPES
        got = self.date_at(after, allow_year=law_like and not draft.number)
        if got:
            draft.end = after = got[0]
            draft.date, draft.date_text, draft.year = got[1], got[2], got[3]
        got = self.issuer_at(after)
        if got:
            draft.end = after = got[0]
            draft.issuer = got[1]
            if not draft.date_text:
                got = self.date_at(after)
                if got:
                    draft.end = after = got[0]
                    draft.date, draft.date_text, draft.year = got[1], got[2], got[3]
        got = self.effective_at(after)
        if got:
            draft.end = after = got[0]
            draft.effective = got[1]
        title = self.title_at(after)
        if title is None and draft.number and not draft.name:
            # pháp điển style: "Thông tư số 33/2018/TT-BTC Quy định mức thu … ngày 30/03/2018 của Bộ Tài chính"
            m = re.compile(r"[ \t]+(?=[A-ZĐ])").match(self.norm, after)
            if m and not _HEAD_RE.match(self.low, m.end()) and not _BASIS_WORDS.match(self.low, m.end()):
                title = self._title_from(m.end())
        if title:
            begin, end, text = title
            draft.title = text
            draft.title_span = (begin, end)
            if not draft.date_text:
                self._date_in_title(draft)
        return draft

    def _date_in_title(self, draft: _Draft) -> None:
        """A trích yếu written before the date ("… ngày 30/03/2018 của Bộ Tài chính"): when the body named
        after that date is the one the number names, the date is the document's own."""
        begin, end = draft.title_span
        limit = min(self._logical_line_end(begin), begin + 2 * _MAX_TITLE)
        best = None
        for d in _DATE_RE.finditer(self.low, begin, limit):
            issuer = _ISSUER_START.match(self.low, d.end())
            if not issuer or not _issuer_compatible(
                draft.number_code, self.low[issuer.start(1) : issuer.start(1) + 40]
            ):
                continue
            if _AFTER_NUMBER.search(self.norm, max(0, d.start() - 40), d.start()):
                continue  # "… Nghị định số 33/2020/NĐ-CP ngày 17 tháng 3 năm 2020": that document's date
            best = d
            if self.low.startswith(")", self._skip_issuer(d.end())) or _EFFECTIVE_RE.match(
                self.low, self._skip_issuer(d.end())
            ):
                break
        if best is not None:
            d = best
            got = self.issuer_at(d.end())
            draft.date, draft.date_text, draft.year = _iso(d), self.norm[d.start() : d.end()], _date_year(d)
            draft.issuer = got[1] if got else draft.issuer
            prefix = re.compile(r"\s*,?\s*(?:(?:duoc\s+)?ban\s+hanh\s*)?$").search(self.low, begin, d.start())
            cut = prefix.start() if prefix else d.start()
            draft.title = " ".join(self.norm[begin:cut].split()).rstrip(" ,") or None
            draft.title_span = (begin, cut) if draft.title else None
            draft.end = got[0] if got else d.end()
            eff = self.effective_at(draft.end)
            if eff:
                draft.end, draft.effective = eff

    def _logical_line_end(self, pos: int) -> int:
        """The end of the line at pos, going on over wrapped lines (a next line starting in lowercase)."""
        while True:
            nl = self.low.find("\n", pos)
            if nl == -1:
                return self.n
            nxt = _WS.match(self.low, nl).end()
            if nxt < self.n and self.norm[nxt].islower():
                pos = nxt
                continue
            return nl

    def _skip_issuer(self, pos: int) -> int:
        got = self.issuer_at(pos)
        return got[0] if got else pos

    # the whole text ---------------------------------------------------------------------------
    def heads(self, begin: int, end: int) -> list[tuple[int, int, str | None]]:
        found = [(m.start(), m.end(), m.group(0)) for m in _HEAD_RE.finditer(self.low, begin, end)]
        found += [(m.start(), m.end(), None) for m in _NUM_RE.finditer(self.norm, begin, end)]
        found.sort(key=lambda h: (h[0], h[2] is None))
        return found

    def scan(self, begin: int, end: int, parent: int | None, out: list[_Draft]) -> None:
        consumed = begin
        for start, head_end, words in self.heads(begin, end):
            if start < consumed:
                continue
            draft = self.parse_head(start, head_end, words)
            if draft is None:
                continue
            if draft.number and number_key(draft.number) in self.own_keys:
                consumed = draft.end
                continue
            if parent is not None:
                if not (draft.number or draft.date or draft.year):
                    continue
                draft.end = min(draft.end, end)
            loc = self.locator_before(start)
            if loc and loc[0] >= consumed:
                draft.start, draft.articles = loc[0], loc[1]
            elif not (draft.number or draft.date_text or draft.effective) and not self._basis_head(start, consumed):
                continue  # a law by name alone counts as a legal basis only ("Căn cứ Luật X;")
            draft.parent = parent
            draft.role = self.role_at(draft.start)
            out.append(draft)
            index = len(out) - 1
            consumed = draft.end
            if draft.title_span:
                t_begin, t_end = draft.title_span
                self.scan(t_begin, t_end, index, out)
                consumed = max(consumed, t_end)
                # a citation named inside this one's trích yếu lies within it
                draft.end = max([draft.end] + [c.end for c in out[index + 1 :] if c.parent == index])

    def _basis_head(self, start: int, consumed: int) -> bool:
        region = self.region_start(start)
        if region is None or self.role_at(start) != "basis":
            return False
        gap = self.low[max(region, consumed) : start].strip(" \t\n-+•*")
        return gap == "" or re.search(r"(?:can\s+cu(?:\s+vao)?|[;,:]|(?<!\w)va|(?<!\w)cac)$", gap) is not None


def extract_citations(text: str) -> list[Citation]:
    """Every citation of another document in `text`, in order (see the module docstring)."""
    if not isinstance(text, str) or not text.strip():
        return []
    sc = _Scanner(text)
    drafts: list[_Draft] = []
    sc.scan(0, sc.n, None, drafts)
    _link_chains(sc, drafts)
    _share_dates(sc, drafts)
    citations: list[Citation] = []
    for i, d in enumerate(drafts):
        start, end = sc.t.span(d.start, max(d.end, d.start + 1))
        citations.append(
            Citation(
                start=start,
                end=end,
                raw=text[start:end],
                doc_type=d.doc_type,
                number=d.number,
                name=d.name,
                title=d.title,
                date=d.date,
                date_text=d.date_text,
                year=d.year or (int(d.date[:4]) if d.date else None),
                issuer=d.issuer,
                effective=d.effective,
                articles=list(d.articles),
                role=d.role,
                amends=d.amends,
                parent=d.parent,
                index=i,
            )
        )
    return citations


def _link_chains(sc: _Scanner, drafts: list[_Draft]) -> None:
    """ "Luật X …, đã được sửa đổi, bổ sung bởi Luật số A và Luật số B": A and B amend X."""
    prev: int | None = None
    for i, d in enumerate(drafts):
        d.amends = None
        if d.parent is not None:
            continue
        if prev is not None:
            p = drafts[prev]
            gap_from = max(p.end, p.title_span[1] if p.title_span else 0)
            gap = sc.low[gap_from : d.start]
            if len(gap) < 200 and not _BASIS_WORDS.search(gap) and ". " not in gap:
                if _CHAIN_RE.search(gap):
                    d.amends = prev
                elif p.amends is not None and re.fullmatch(r"[\s,]*(?:va\s+|hoac\s+)?(?:cac\s+)?", gap):
                    d.amends = p.amends
            if d.amends is not None and d.role == "basis":
                d.role = "amending"
        prev = i


def _share_dates(sc: _Scanner, drafts: list[_Draft]) -> None:
    """ "Luật Tổ chức Chính phủ và Luật Tổ chức chính quyền địa phương ngày 19 tháng 6 năm 2015": the date
    written once is the date of both."""
    for a, b in zip(drafts, drafts[1:]):
        if a.number or a.date_text or not a.name or not b.name or b.number or not b.date:
            continue
        if b.parent != a.parent or a.doc_type != b.doc_type:
            continue
        if re.fullmatch(r"\s+va\s+", sc.low[a.end : b.start]):
            a.date, a.date_text, a.year = b.date, b.date_text, b.year


# --- helpers ------------------------------------------------------------------------------------


def _canonical_number(m: re.Match) -> tuple[str | None, str | None]:
    if m.group("kh3"):
        return f"{m.group('so')}-{m.group('kh3')}", m.group("kh3")
    if m.group("kh2"):
        code = f"{m.group('kh2')}/{m.group('org')}"
        return f"{m.group('so')}-{code}", code
    parsed = parse_number(re.sub(r"\s+", "", m.group(0)))
    if parsed is None:
        return None, None
    return parsed.canonical, parsed.code


def _type_code(code: str | None) -> str | None:
    """'NĐ-CP' -> 'NĐ'; 'QĐ/BGD&ĐT' -> 'QĐ'; 'NQ/TW' -> 'NQ'; 'QH15' or 'CP' -> None."""
    if not code:
        return None
    parts = re.split(r"[-/]", code)
    if len(parts) > 1 and parts[0].upper() in _CODE_TYPES:
        return parts[0]
    return None


def is_party_number(number: str | None) -> bool:
    """A Party document ("27-NQ/TW", "123-KL/TW"): outside the state legal system and the knowledge base."""
    if not number:
        return False
    last = re.split(r"[-/]", number)[-1]
    return last.upper() in PARTY_CODES and ("-" in number.split("/")[0] or "/" in number)


def _issuer_compatible(code: str | None, issuer_low: str) -> bool:
    if not code:
        return True
    for pattern, words in _ISSUER_COMPAT:
        if pattern.search(code):
            return issuer_low.startswith(words)
    return True


def _iso(m: re.Match) -> str | None:
    if m.group(1):
        d, mo, y = m.group(1), m.group(2), m.group(3)
    else:
        d, mo, y = m.group(4), m.group(6), m.group(7)
    try:
        return dt.date(int(y), int(mo), int(d)).isoformat()
    except ValueError:
        return None


def _date_year(m: re.Match) -> int | None:
    year = m.group(3) or m.group(7)
    return int(year) if year else None


def parse_locator(text: str) -> list[ArticleRef]:
    """Provisions named in "điểm a, b khoản 2 Điều 5 và Điều 7" (a relation note, a citation's prefix)."""
    if not isinstance(text, str) or not text:
        return []
    t = _Text(text)
    refs: list[ArticleRef] = []
    points: list[str] = []
    clauses: list[str] = []
    last: str | None = None
    for m in _LOC_TOKEN.finditer(t.low):
        if m.group(1):
            kind, value = m.group(1), t.norm[m.start(2) : m.end(2)]
        elif last is not None:
            kind, value = last, t.norm[m.start(3) : m.end(3)]
            if (kind == "diem") != value.isalpha():
                continue
        else:
            continue
        if kind == "diem":
            points.append(value)
        elif kind == "khoan":
            clauses.append(value)
        else:
            if clauses:
                for clause in clauses:
                    if points and len(clauses) == 1:
                        refs.extend(ArticleRef(value, clause, p) for p in points)
                    else:
                        refs.append(ArticleRef(value, clause))
            else:
                refs.append(ArticleRef(value))
            points, clauses = [], []
        last = kind
    return refs
