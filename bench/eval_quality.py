"""Search quality on two real question sets, cross-validated, and the lookup suites.

    .venv/bin/python bench/eval_quality.py [--shared ../shared] [--workdir /tmp/evalwd]
        [--variants NAME,...] [--folds 5] [--unaccented] [--lookups [--lookup-index DIR]]
        [--write-prior]

Question sets (article level, through `SearchService.search`, the API of the web UI and `kb search`):
- ALQAC: the 1,465 questions of alqac_qrels.jsonl against alqac_articles.jsonl;
- Zalo 2021, development half: the 468 questions of zalo21_dev_qrels.jsonl against
  zalo21_articles.jsonl.gz (the other half is a test nobody tunes on; it is not here).

Each ranking variant (a set of `Weights`, `VARIANTS` below) is run on every question of both sets.
The questions are split into k folds (a stable hash of the qid); the question-boilerplate prior
(index/boilerplate.py) used for a fold's questions is learned from the questions of the *other*
folds of both sets, never from the fold itself. Then, per fold, the variant with the best mean of
R@10 and MRR@10 over the other folds (both sets weighing equally) is chosen and scored on the fold:
the "k-fold" lines are figures on questions no choice was made on. Figures per variant are printed
too, so a change that helps one set and hurts the other shows.

`--lookups` runs the lookup suites (bench/lookups.py) on a pháp điển index. `--write-prior` learns
the prior from all the questions of both sets and writes index/question_terms.json.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

from index import build, rerank, semantic
from index.boilerplate import QuestionPrior
from index.search import WEIGHTS, SearchService, Weights
from kb.jsonl import import_file
from kb.store import Store
from kb.text import fold, slug

ROOT = Path(__file__).resolve().parent.parent
SETS = {
    "alqac": ("alqac_articles.jsonl", "alqac_qrels.jsonl"),
    "zalo21": ("zalo21_articles.jsonl.gz", "zalo21_dev_qrels.jsonl"),
}

# The variants compared (the first is the kept configuration; the others each question one part).
SESSION2 = replace(
    WEIGHTS,
    title=1.0,
    accent=0.3,
    intent=2.0,
    rerank=1.0,
    boilerplate=0.0,
    named_doc=0.0,
)
VARIANTS: dict[str, Weights] = {
    "kept": WEIGHTS,
    "lexical": replace(WEIGHTS, rerank_model=False),  # session 3: the hand-weighted re-rank, no learned model
    "session2": replace(
        SESSION2, rerank_model=False
    ),  # session 2's weights (tuned on ALQAC alone), with session 3's lookups
    "no-rerank": replace(WEIGHTS, rerank=0.0, rerank_head=0.0, rerank_model=False),
    "postings-triples": replace(WEIGHTS, rerank_exact=False, rerank_model=False),  # no stored text read in the re-rank
    # BM25's own parameters (they change the parts, so tune_ranking.py cannot re-weight them)
    "k1-1.2": replace(WEIGHTS, k1=1.2),
    "k1-0.6": replace(WEIGHTS, k1=0.6),
    "b-0.6": replace(WEIGHTS, b_body=0.6),
    "b-0.9": replace(WEIGHTS, b_body=0.9),
}


def fold_of(qid: str, k: int) -> int:
    return int(hashlib.sha1(qid.encode()).hexdigest(), 16) % k


def load_queries(corpus: Path, name: str) -> list[dict]:
    """The questions of a set, their relevant articles named as the store names them: documents get ASCII
    ids on import ("zalo21:13-2023-nđ-cp:5" is stored as "zalo21:13-2023-nd-cp", article 5)."""
    with open(corpus / SETS[name][1], encoding="utf-8") as handle:
        items = [json.loads(line) for line in handle]
    for item in items:
        item["relevant"] = [stored_label(label) for label in item["relevant"]]
    return items


def stored_label(label: str) -> str:
    """'source:doc id:article' with the document id as kb.jsonl stores it (kb.text.slug)."""
    source, doc_id, article = label.split(":", 2) if label.count(":") >= 2 else ("", label, "")
    return f"{source}:{slug(doc_id)}:{article}" if source else label


def ensure_index(corpus: Path, workdir: Path, name: str) -> Path:
    """The index of one set's articles, built once under `workdir` and reused."""
    folder = workdir / name
    index_dir = folder / "index"
    if not (folder / "done").exists():
        folder.mkdir(parents=True, exist_ok=True)
        store = Store(folder / "kb.sqlite")
        import_file(store, corpus / SETS[name][0])
        build.rebuild(store, index_dir, procs=2)
        (folder / "done").write_text("ok")
    return index_dir


def rank_of(service: SearchService, query: str, relevant: set[str]) -> tuple[float, float, float, float]:
    """(R@1, R@5, R@10, RR@10) of one question."""
    result = service.search(query, unit="article", per_page=10, facets=False, snippets=False)
    ranked = [f"{h.uid}:{h.article_number}" for h in result.hits]
    first = next((i for i, aid in enumerate(ranked, 1) if aid in relevant), None)
    n = len(relevant)
    return (
        len(relevant & set(ranked[:1])) / n,
        len(relevant & set(ranked[:5])) / n,
        len(relevant & set(ranked)) / n,
        1 / first if first else 0.0,
    )


def run_variant(
    indexes: dict[str, Path],
    queries: dict[str, list[dict]],
    weights: Weights,
    k: int,
    transform=lambda q: q,
    fold_models: Path | None = None,
    semantic_tag: str | None = None,
    shared: Path = ROOT.parent / "shared",
) -> dict[str, dict[str, tuple]]:
    """Per set, per qid: the question's metrics, each fold scored with a prior learned off the fold
    (and, with `fold_models`, the re-rank model bench/ltr.py --write-folds trained off the fold;
    otherwise the shipped model, trained on every question). `semantic_tag`: the sentence model's
    vectors are used where made (index/semantic.py), with fold<f><tag>.json from `fold_models`; None: off.
    Questions typed without diacritics get them back from a table learned off the fold's questions
    (bench/diacritics.py)."""
    sys.path.insert(0, str(ROOT))
    from bench import diacritics  # imported here: it imports this module

    restorers = [diacritics.off_fold(shared, f, k) for f in range(k)]

    out: dict[str, dict[str, tuple]] = {name: {} for name in queries}
    meaning = "auto" if semantic_tag is not None else None
    services = {name: SearchService(indexes[name], weights=weights, meaning=meaning) for name in queries}
    routed = 0
    for f in range(k):
        train = [[q["query"] for q in items if fold_of(q["qid"], k) != f] for items in queries.values()]
        prior = QuestionPrior.from_questions(*train)
        model = rerank.load(fold_models / f"fold{f}.json") if fold_models else None
        if fold_models and model is None:
            raise SystemExit(f"no model for fold {f} in {fold_models}")
        with_meaning = None
        if fold_models and semantic_tag is not None:
            names = rerank.FEATURES + semantic.FEATURES
            with_meaning = rerank.load(fold_models / f"fold{f}{semantic_tag}.json", names)
            if with_meaning is None:
                raise SystemExit(f"no sentence-model re-rank for fold {f} in {fold_models}")
        for name, items in queries.items():
            services[name].prior = prior
            if model is not None:
                services[name].model = model
            if with_meaning is not None:
                services[name].semantic_model = with_meaning
            services[name].restorer = restorers[f]  # the fold's questions unseen by its diacritics table
            for item in items:
                if fold_of(item["qid"], k) == f:
                    out[name][item["qid"]] = rank_of(services[name], transform(item["query"]), set(item["relevant"]))
                    routed += bool(services[name].last_stats.get("semantic"))
    if semantic_tag is not None:
        print(f"   questions re-ranked with the sentence model: {routed}", flush=True)
    return out


def summary(rows: list[tuple]) -> dict[str, float]:
    n = max(1, len(rows))
    return {m: sum(r[i] for r in rows) / n for i, m in enumerate(("R@1", "R@5", "R@10", "MRR@10"))}


def line(label: str, s: dict[str, float], n: int) -> str:
    return f"{label:34} n={n:<5} R@1 {s['R@1']:.3f}  R@5 {s['R@5']:.3f}  R@10 {s['R@10']:.3f}  MRR@10 {s['MRR@10']:.3f}"


def objective(results: dict[str, dict[str, tuple]], keep) -> float:
    """Mean over the sets of (R@10 + MRR@10) / 2 over the questions `keep` accepts."""
    values = []
    for rows in results.values():
        chosen = [r for qid, r in rows.items() if keep(qid)]
        s = summary(chosen)
        values.append((s["R@10"] + s["MRR@10"]) / 2)
    return sum(values) / len(values)


def cross_validate(results: dict[str, dict], k: int) -> tuple[dict[str, list[tuple]], list[str]]:
    """Per fold, the variant best on the other folds, scored on the fold."""
    held: dict[str, list[tuple]] = {}
    choices = []
    for f in range(k):
        best = max(results, key=lambda v, f=f: objective(results[v], lambda qid, f=f: fold_of(qid, k) != f))
        choices.append(best)
        for name, rows in results[best].items():
            held.setdefault(name, []).extend(r for qid, r in rows.items() if fold_of(qid, k) == f)
    return held, choices


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"), help="the shared/ folder")
    parser.add_argument("--workdir", default="/tmp/eval-quality", help="indexes are built here once and reused")
    parser.add_argument("--variants", default=",".join(VARIANTS), help="comma-separated names of VARIANTS")
    parser.add_argument("--sets", default=",".join(SETS))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--unaccented", action="store_true", help="also run the questions without diacritics")
    parser.add_argument("--unaccented-only", action="store_true", help="only the questions without diacritics")
    parser.add_argument("--lookups", action="store_true", help="run the lookup suites on pháp điển")
    parser.add_argument("--lookup-index", help="an index of phapdien_articles already built")
    parser.add_argument("--write-prior", action="store_true", help="write index/question_terms.json")
    parser.add_argument("--fold-models", help="a folder of fold<f>.json re-rank models (bench/ltr.py --write-folds)")
    parser.add_argument(
        "--semantic",
        nargs="?",
        const="",
        default=None,
        help="use the sentence model's vectors where made (kb index embed); with --fold-models, its "
        "fold<f>TAG.json models (TAG: this option's value, e.g. -dp)",
    )
    args = parser.parse_args()
    corpus = Path(args.shared) / "corpus"
    workdir = Path(args.workdir)
    names = args.sets.split(",")
    queries = {name: load_queries(corpus, name) for name in names}
    if args.write_prior:
        prior = QuestionPrior.from_questions(*[[q["query"] for q in items] for items in queries.values()])
        prior.save()
        print(f"wrote the prior of {prior.questions} questions, {len(prior.qdf)} terms")
        return
    indexes = {name: ensure_index(corpus, workdir, name) for name in names}
    k = args.folds
    fold_models = Path(args.fold_models) if args.fold_models else None
    transforms = [("as written", lambda q: q)] + ([("unaccented", fold)] if args.unaccented else [])
    if args.unaccented_only:
        transforms = [("unaccented", fold)]
    for label, transform in transforms:
        results = {}
        for variant in args.variants.split(","):
            started = time.perf_counter()
            results[variant] = run_variant(
                indexes, queries, VARIANTS[variant], k, transform, fold_models, args.semantic, Path(args.shared)
            )
            took = time.perf_counter() - started
            for name, rows in results[variant].items():
                print(line(f"{name} {label} {variant}", summary(list(rows.values())), len(rows)))
            print(f"  ({took:.0f} s)", flush=True)
        held, choices = cross_validate(results, k)
        print(f"k-fold ({label}), chosen per fold: {', '.join(choices)}")
        for name, rows in held.items():
            print(line(f"{name} {label} {k}-fold", summary(rows), len(rows)))
            for f in range(k):
                part = [r for qid, r in results[choices[f]][name].items() if fold_of(qid, k) == f]
                print("   " + line(f"fold {f} ({choices[f]})", summary(part), len(part)))
    if args.lookups:
        from bench.lookups import run_suites

        index_dir = Path(args.lookup_index) if args.lookup_index else ensure_index_pd(corpus, workdir)
        run_suites(index_dir, corpus / "phapdien_articles.jsonl.gz")
    sys.exit(0)


def ensure_index_pd(corpus: Path, workdir: Path) -> Path:
    folder = workdir / "phapdien"
    if not (folder / "done").exists():
        folder.mkdir(parents=True, exist_ok=True)
        store = Store(folder / "kb.sqlite")
        import_file(store, corpus / "phapdien_articles.jsonl.gz")
        build.rebuild(store, folder / "index", procs=2)
        (folder / "done").write_text("ok")
    return folder / "index"


if __name__ == "__main__":
    main()
