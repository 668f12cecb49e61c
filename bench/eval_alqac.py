"""Search quality on the ALQAC questions: R@1, R@5, R@10 and MRR@10 at article level, with the
questions as written and with their diacritics removed; plus exact số ký hiệu lookups.

    .venv/bin/python bench/eval_alqac.py [--shared ../shared] [--numbers]

Builds a temporary store and index from shared/corpus/alqac_articles.jsonl and runs the 1,465
questions of alqac_qrels.jsonl through the same Python API the web UI uses.
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

from index import build
from index.search import SearchService
from kb.jsonl import import_file
from kb.store import Store
from kb.text import fold

ROOT = Path(__file__).resolve().parent.parent


def evaluate(service: SearchService, queries: list[dict], transform=lambda q: q) -> dict:
    r1 = r5 = r10 = mrr = 0.0
    worst = []
    for item in queries:
        relevant = set(item["relevant"])
        result = service.search(transform(item["query"]), unit="article", per_page=10, facets=False, snippets=False)
        ranked = [f"{h.uid}:{h.article_number}" for h in result.hits]
        rank = next((i for i, aid in enumerate(ranked, 1) if aid in relevant), None)
        found = len(relevant & set(ranked))
        r1 += len(relevant & set(ranked[:1])) / len(relevant)
        r5 += len(relevant & set(ranked[:5])) / len(relevant)
        r10 += found / len(relevant)
        mrr += 1 / rank if rank else 0
        if not rank:
            worst.append(item["qid"])
    n = len(queries)
    return {"queries": n, "R@1": r1 / n, "R@5": r5 / n, "R@10": r10 / n, "MRR@10": mrr / n, "missed": worst}


def number_lookups(service: SearchService, path: Path) -> dict:
    numbers = set()
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            number = json.loads(line).get("doc_number")
            if number:
                numbers.add(number)
    out = {}
    for name, transform in (("as written", lambda s: s), ("lowercased", str.lower), ("without diacritics", fold)):
        top = 0
        for number in numbers:
            result = service.search(transform(number), per_page=1, facets=False, snippets=False)
            first = (result.exact or result.hits)[:1]
            if first and _same(first[0].number, number):
                top += 1
        out[name] = (top, len(numbers))
    return out


def _same(a: str, b: str) -> bool:
    from kb.numbers import number_key

    return number_key(a) == number_key(b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"), help="the shared/ folder")
    parser.add_argument("--numbers", action="store_true", help="also run exact-number lookups on pháp điển")
    parser.add_argument(
        "--numbers-index",
        help="an index of phapdien_articles already built (e.g. by bench/speed.py "
        "--workdir DIR: DIR/index), instead of building one",
    )
    args = parser.parse_args()
    corpus = Path(args.shared) / "corpus"
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "kb.sqlite")
        import_file(store, corpus / "alqac_articles.jsonl")
        build.rebuild(store, Path(tmp) / "index")
        service = SearchService(Path(tmp) / "index")
        queries = [json.loads(line) for line in open(corpus / "alqac_qrels.jsonl", encoding="utf-8")]
        for label, transform in (("as written", lambda q: q), ("without diacritics", fold)):
            started = time.perf_counter()
            scores = evaluate(service, queries, transform)
            took = time.perf_counter() - started
            print(
                f"{label:20} n={scores['queries']}  R@1 {scores['R@1']:.3f}  R@5 {scores['R@5']:.3f}  "
                f"R@10 {scores['R@10']:.3f}  MRR@10 {scores['MRR@10']:.3f}  ({took:.1f} s)"
            )
        if args.numbers:
            index_dir = Path(args.numbers_index) if args.numbers_index else Path(tmp) / "pd-index"
            if not args.numbers_index:
                store = Store(Path(tmp) / "pd.sqlite")
                import_file(store, corpus / "phapdien_articles.jsonl.gz")
                build.rebuild(store, index_dir, procs=2)
            service = SearchService(index_dir)
            for label, (top, total) in number_lookups(service, corpus / "phapdien_articles.jsonl.gz").items():
                print(f"number lookup {label:20} rank-1 {top}/{total} = {top / total:.4f}")
    sys.exit(0)


if __name__ == "__main__":
    main()
