"""Lookup suites: every written form of every document of the pháp điển corpus, rank 1 per form.

    .venv/bin/python bench/lookups.py --index DIR [--shared ../shared] [--limit N]

DIR is an index of phapdien_articles.jsonl.gz (e.g. bench/eval_quality.py --workdir W builds one in
W/phapdien/index). The queries are written from the corpus *fields* (doc_id, doc_number,
doc_type, doc_title, issued_date, article_id) with plain string operations, never through the
search code's number parser, and so is the expected answer:

- number forms: as written, lowercase, unaccented, dashes (83-2015-QH13), dots, spaces, a space
  inside the code (QH 13, NĐ CP): the documents with that number first;
- missing year (163/NĐ-CP), type code first (NĐ 163/2016, TT 342/2016/BTC), type name first
  (Nghị định 163/2016), type code and number only (QĐ 1636): every document that fits first
  (they fit several: the set of the first hits must be the set that fits);
- an article by number (Điều 9 83/2015/QH13) and by name (Điều 9 Luật Ngân sách nhà nước,
  unaccented and lowercase too): that article of the newest fitting document first;
- a name alone (Luật Viên chức; with its year): the documents of that name first, newest first.
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import time
from collections import defaultdict
from pathlib import Path

from index.search import SearchService
from kb.text import fold, slug

ROOT = Path(__file__).resolve().parent.parent
NAMED = ("Luật", "Bộ luật", "Pháp lệnh", "Hiến pháp")
# what a type code names (a colloquial "NĐ 163" means a Nghị định numbered 163, whatever its code)
TYPE_OF_CODE = {
    "NĐ": "Nghị định",
    "TT": "Thông tư",
    "TTLT": "Thông tư liên tịch",
    "QĐ": "Quyết định",
    "NQ": "Nghị quyết",
    "NQLT": "Nghị quyết liên tịch",
    "CT": "Chỉ thị",
    "VBHN": "Văn bản hợp nhất",
    "PL": "Pháp lệnh",
}


def documents(path: Path) -> dict[str, dict]:
    """doc uid -> its fields and article numbers, from the article records."""
    docs: dict[str, dict] = {}
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            rec = json.loads(line)
            if not rec.get("doc_number") or not rec.get("doc_id"):
                continue
            uid = f"phapdien:{slug(rec['doc_id'])}"  # the id as kb.jsonl stores it (ASCII)
            doc = docs.setdefault(
                uid,
                {
                    "uid": uid,
                    "number": rec["doc_number"].strip().lstrip("'"),
                    "type": rec.get("doc_type") or "",
                    "title": rec.get("doc_title") or "",
                    "issued": rec.get("issued_date") or "",
                    "articles": [],
                },
            )
            if rec.get("article_id"):
                doc["articles"].append(rec["article_id"])
    return docs


def parts(number: str) -> tuple[str, str, str] | None:
    """('83', '2015', 'QH13') or ('163', '', 'NĐ-CP'); None for forms outside số/năm/ký hiệu."""
    pieces = number.split("/")
    # a unit suffix in brackets ("04/TT-BCA(X13)") is not part of the number the store keeps
    pieces = re.sub(r"\(.*?\)$", "", number).split("/")
    if len(pieces) >= 3 and pieces[0].isdigit() and re.fullmatch(r"(19|20)\d\d", pieces[1]):
        return pieces[0], pieces[1], "/".join(pieces[2:])
    if len(pieces) == 2 and pieces[0].isdigit():
        return pieces[0], "", pieces[1]
    old = re.fullmatch(r"(\d+)-(.+)", number)  # before the 1990s: "73-CP", "21-TC/TCT"
    if old:
        return old.group(1), "", old.group(2)
    return None


def type_code(code: str) -> str | None:
    """'NĐ' of 'NĐ-CP', 'TTLT' of 'TTLT/BQP-BTC'; None for 'QH13'."""
    parts_ = re.split(r"[-/]", code, maxsplit=1)
    return parts_[0] if len(parts_) == 2 else None


def _name(title: str) -> str:
    words = re.sub(r"\(.*?\)", " ", title).split()
    while words and re.fullmatch(r"(19|20)\d\d", words[-1]):
        words.pop()
    return " ".join(words)


def _code_space(code: str) -> str:
    spaced = re.sub(r"(?<=[^\W\d_])(?=\d)", " ", code)
    return spaced if spaced != code else code.replace("-", " ")


def _norm(s: str) -> str:
    """Folded, lowercase, letters and digits only ("NĐ_CP" and "NĐ-CP" are the same code)."""
    return re.sub(r"[\W_]", "", fold(s).lower())


def cases(docs: dict[str, dict]):
    """(form, query, expected uids as a set for the first hits, expected article or None)."""
    by_number: dict[str, set[str]] = defaultdict(set)
    by_so_code: dict[tuple, set[str]] = defaultdict(set)
    by_so_year_type: dict[tuple, set[str]] = defaultdict(set)
    by_so_type: dict[tuple, set[str]] = defaultdict(set)
    by_name: dict[str, list[dict]] = defaultdict(list)
    for doc in docs.values():
        by_number[_norm(doc["number"])].add(doc["uid"])
        p = parts(doc["number"])
        if p:
            so, year, code = p
            by_so_code[(so.lstrip("0"), _norm(code))].add(doc["uid"])
            by_so_year_type[(so.lstrip("0"), year, doc["type"])].add(doc["uid"])
            tc = type_code(code)
            for key in {_norm(tc) if tc else None, _norm(doc["type"])} - {None}:
                by_so_type[(so.lstrip("0"), key)].add(doc["uid"])
        if doc["type"] in NAMED and doc["title"]:
            by_name[_name(doc["title"]).lower()].append(doc)
    for doc in docs.values():
        number = doc["number"]
        same = by_number[_norm(number)]
        for form, query in (("as written", number), ("lowercase", number.lower()), ("unaccented", fold(number))):
            yield form, query, same, None
        p = parts(number)
        if p:
            so, year, code = p
            if year:
                yield "dashes", f"{so}-{year}-{code}", same, None
                yield "dots", f"{so}.{year}.{code}", same, None
                yield "spaces", f"{so} {year} {code}", same, None
                yield "space inside the code", f"{so}/{year}/{_code_space(code)}", same, None
                yield "missing year", f"{so}/{code}", by_so_code[(so.lstrip("0"), _norm(code))], None
                yield (
                    "type name first",
                    f"{doc['type']} {so}/{year}",
                    by_so_year_type[(so.lstrip("0"), year, doc["type"])],
                    None,
                )
                tcode = type_code(code)
                if tcode:
                    issuer = re.split(r"[-/]", code, maxsplit=1)[1]
                    tc = by_so_type[(so.lstrip("0"), _norm(tcode))]
                    if tcode in TYPE_OF_CODE:
                        tc = tc | by_so_type[(so.lstrip("0"), _norm(TYPE_OF_CODE[tcode]))]
                    fits = {u for u in tc if (parts(docs[u]["number"]) or ("", "", ""))[1] == year}
                    yield "type code first", f"{tcode} {so}/{year}", fits, None
                    yield "type code first, issuer", f"{tcode} {so}/{year}/{issuer}", same, None
                    yield "type code, number only", f"{tcode} {so}", tc, None
        if doc["articles"]:
            art = doc["articles"][len(doc["articles"]) // 2]
            yield "Điều N + number", f"Điều {art} {number}", same, art
    for group in by_name.values():
        newest = max(group, key=lambda d: d["issued"])
        title = _name(newest["title"])
        uids = {d["uid"] for d in group}
        yield "name", title, uids, None
        yield "name unaccented", fold(title).lower(), uids, None
        if newest["issued"][:4]:
            dated = {d["uid"] for d in group if d["issued"][:4] == newest["issued"][:4]}
            yield "name + year", f"{title} {newest['issued'][:4]}", dated, None
        if newest["articles"]:
            art = newest["articles"][len(newest["articles"]) // 2]
            yield "Điều N + name", f"Điều {art} {title}", {newest["uid"]}, art
            yield "Điều N + name unaccented", fold(f"điều {art} {title}").lower(), {newest["uid"]}, art


def run_suites(index_dir: Path, corpus_file: Path, limit: int = 0) -> dict[str, tuple[int, int]]:
    service = SearchService(index_dir)
    docs = documents(corpus_file)
    tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    misses: dict[str, list[str]] = defaultdict(list)
    started = time.perf_counter()
    for n, (form, query, expected, article) in enumerate(cases(docs)):
        if limit and n >= limit:
            break
        k = max(1, len(expected))
        result = service.search(query, per_page=min(100, k), facets=False, snippets=False)
        hits = result.hits[:k]
        if article is not None:
            ok = bool(hits) and hits[0].uid in expected and hits[0].article_number == article
        else:
            ok = {h.uid for h in hits} == expected and (not hits or hits[0].kind == "doc")
        tally[form][0] += ok
        tally[form][1] += 1
        if not ok and len(misses[form]) < 5:
            misses[form].append(f"{query!r} -> {[(h.number, h.article_number) for h in hits[:3]]}")
    took = time.perf_counter() - started
    for form, (good, total) in tally.items():
        print(f"lookup {form:28} rank-1 {good}/{total} = {good / total:.4f}")
        for miss in misses[form]:
            print(f"    miss {miss}")
    print(f"({took:.0f} s)")
    return {form: (g, t) for form, (g, t) in tally.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", required=True, help="an index of phapdien_articles.jsonl.gz")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--limit", type=int, default=0, help="stop after this many queries")
    args = parser.parse_args()
    run_suites(Path(args.index), Path(args.shared) / "corpus" / "phapdien_articles.jsonl.gz", args.limit)


if __name__ == "__main__":
    main()
