"""Choosing the ranking weights on both question sets at once, cross-validated.

    .venv/bin/python bench/tune_ranking.py features --workdir W --boilerplate 0.03 [--numbers 0] [--unaccented]
        [--feedback prf|heading|docs [--base N] [--extra N]]
    .venv/bin/python bench/tune_ranking.py grid --workdir W [--folds 5]

`features` runs every question of both sets (ALQAC, Zalo 2021 dev half; indexes built by
bench/eval_quality.py under W) once through the search code's own parts
(`SearchService._components`, `SearchService.rerank_features`) for the settings that change the
parts themselves (the boilerplate discount's strength, the weight of bare numbers); each fold's
questions get the prior learned from the other folds. For every question it keeps the parts of its
200 best candidates and their re-rank features, in a pickle under W/features/. With `--feedback`,
a second candidate pass (bench/expansion.py) adds `--extra` candidates after the first stage's best
`--base` (issue 16, session 6); bench/ltr.py then re-ranks them in that order (`--depth` base + extra).

`grid` then re-ranks those candidates for every combination of the linear weights (`GRID`) with
`index.search.combine` and the re-rank formula of `SearchService._rerank`, prints R@10 and MRR@10
on both sets per value of each weight (the others at their best), and chooses per fold the
combination best on the other folds (mean over the two sets of (R@10 + MRR@10) / 2): the "k-fold"
lines are figures on questions no choice was made on. The chosen weights are then confirmed
through the real search path (bench/eval_quality.py), which is what docs/PERFORMANCE.md reports.
"""

from __future__ import annotations

import argparse
import math
import pickle
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import expansion  # noqa: E402
from bench.eval_quality import SETS, ensure_index, fold_of, load_queries  # noqa: E402
from index import abbreviations, rerank  # noqa: E402
from index.analysis import bigrams, folded_syllables  # noqa: E402
from index.boilerplate import QuestionPrior  # noqa: E402
from index.query import parse  # noqa: E402
from index.ranking import is_long  # noqa: E402
from index.search import KIND_ARTICLE, WEIGHTS, SearchService, Weights, combine  # noqa: E402
from kb.dates import today_vn  # noqa: E402
from kb.text import fold  # noqa: E402

POOL = 200
RERANK_TOP = 100
# the weights that pick each question's candidates (the pool): the kept weights. A pool picked by
# other weights under-rates settings far from them (the first run's pools, picked with session 2's
# title weight 1.0, gave 0.854 R@10 on Zalo for the kept weights; the real search path gives 0.864).
BASE = WEIGHTS

GRID = {
    "title": [0.0, 0.3, 0.6, 1.0, 1.5],
    "title_cap": [0.0, 0.25, 0.5, 1.0],
    "head": [0.25, 0.5, 1.0],
    "body": [1.0],
    "bigram": [1.0, 2.0, 3.0, 4.0],
    "accent": [0.0, 0.3, 0.6],
    "intent": [0.0, 1.0, 2.0, 3.0],
    "article_ref": [0.5],
    "named_doc": [0.0, 0.25, 0.5, 1.0],
    "rerank": [0.0, 0.5, 1.0, 1.5, 2.0],
    "rerank_head": [0.0, 0.1, 0.2, 0.3],
    "rerank_exact": [True, False],
}
# where the ascent starts: session 2's weights (tuned on ALQAC)
SESSION_START = replace(
    WEIGHTS,
    title=1.0,
    title_cap=0.0,
    head=0.5,
    bigram=2.0,
    accent=0.3,
    intent=2.0,
    named_doc=0.0,
    rerank=1.0,
    rerank_head=0.3,
    rerank_exact=True,
)


def features(args) -> None:
    corpus = Path(args.shared) / "corpus"
    workdir = Path(args.workdir)
    names = list(SETS)
    queries = {name: load_queries(corpus, name) for name in names}
    weights = replace(BASE, boilerplate=args.boilerplate, numbers=args.numbers, abbreviations=args.abbreviations)
    services = {name: SearchService(ensure_index(corpus, workdir, name), weights=weights) for name in names}
    k = args.folds
    feedback = args.feedback
    transform = fold if args.unaccented else (lambda q: q)
    out = {name: {} for name in names}
    started = time.perf_counter()
    for f in range(k):
        prior = QuestionPrior.from_questions(
            *[[q["query"] for q in items if fold_of(q["qid"], k) != f] for items in queries.values()]
        )
        for name, items in queries.items():
            service = services[name]
            service.prior = prior
            for item in items:
                if fold_of(item["qid"], k) == f:
                    out[name][item["qid"]] = one(
                        service, transform(item["query"]), set(item["relevant"]), feedback, args.base, args.extra
                    )
        print(f"fold {f} done ({time.perf_counter() - started:.0f} s)", flush=True)
    target = workdir / "features" / f"{tag(args)}.pkl"
    target.parent.mkdir(exist_ok=True)
    with open(target, "wb") as handle:
        pickle.dump({"weights": asdict(weights), "folds": k, "feedback": feedback, "sets": out}, handle)
    print(f"wrote {target}")


def tag(args) -> str:
    return f"b{args.boilerplate}-n{args.numbers}{args.tag}" + ("-unacc" if args.unaccented else "")


def one(
    service: SearchService, query: str, relevant: set[str], feedback: str = "", base: int = 0, extra: int = 25
) -> dict:
    """The parts and re-rank features of a question's best POOL article candidates. With `feedback`
    ("prf", "heading" or "docs", bench/expansion.py), the best `base` (0: `rerank_depth`) are followed
    by the `extra` candidates of that second pass, then the rest: the order is then fixed ("fixed"), not the
    first-stage scores' order."""
    state = service._state()
    table = state.table
    text = abbreviations.expand(query) if service.weights.abbreviations else query
    parsed = parse(text)
    ref = service._resolve(state, table.on_date(today_vn().isoformat()), parsed)
    parts, matched = service._components(table, parsed, strict=True, ref=ref)
    matched &= table.kind == KIND_ARTICLE
    if not matched.any():
        parts, matched = service._components(table, parsed, strict=False, ref=ref)
        matched &= table.kind == KIND_ARTICLE
    total = combine(service.weights, parts, matched)
    rows = np.nonzero(matched)[0]
    rows = rows[np.lexsort((rows, -total[rows]))][:POOL]
    pinned = service._pinned(table, ref) if ref is not None else []
    pinned = [r for r in pinned if table.kind[r] == KIND_ARTICLE]
    rows = np.concatenate([np.array(pinned, dtype=rows.dtype), rows[~np.isin(rows, pinned)]])
    fixed = False
    if feedback and is_long(service.weights, parsed):
        npin = len(pinned)
        first = rows[npin : npin + (base or service.weights.rerank_depth)]
        taken = np.concatenate([first, np.array(pinned, dtype=rows.dtype)])
        added = second_pass(service, state, parsed, parts, total, rows[npin:], taken, feedback, extra)
        rest = rows[npin + first.size :]
        rows = np.concatenate([rows[: npin + first.size], added.astype(rows.dtype), rest[~np.isin(rest, added)]])
        fixed = True
    top = rows[:RERANK_TOP]
    exact, heads = service.rerank_features(state.searcher, table, top, parsed, exact=True, headings=True)
    approx, _ = service.rerank_features(state.searcher, table, top, parsed, exact=False, headings=False)
    labels = [f"{table.uid[r]}:{table.labels['artnum'][table.codes['artnum'][r]]}" for r in rows]
    return {
        "parts": {key: value[rows] for key, value in parts.items()},
        "exact": exact,
        "approx": approx,
        "heads": heads,
        "rel": np.array([label in relevant for label in labels]),
        "nrel": len(relevant),
        "pinned": len(pinned),
        "fixed": fixed,  # rows in the candidates' order (feedback's extras after the best rerank_depth)
        "rows": rows,  # index rows, for features computed later from the same index (bench/ltr.py)
        "query": text,  # as parsed (abbreviations spelled out)
    }


def second_pass(
    service: SearchService,
    state,
    parsed,
    parts: dict,
    total: np.ndarray,
    order: np.ndarray,
    taken,
    kind: str,
    extra: int,
) -> np.ndarray:
    """The `extra` candidates a second pass (bench/expansion.py) adds after the first stage's: `order`
    is the first stage's (unpinned, best first), `taken` the candidates already chosen."""
    table = state.table
    w = service.weights
    allowed = (table.kind == KIND_ARTICLE) & table.live
    if kind == "docs":  # the other articles of the best documents
        return expansion.sibling_candidates(table, order, total + parts["word_head"], allowed, taken, extra=extra)
    if kind == "heading":  # heading associations, built once per index generation
        assoc = table.shared.get("heading_associations")
        if assoc is None:
            assoc = expansion.HeadingAssociations.of(state.searcher, table, KIND_ARTICLE)
            table.shared["heading_associations"] = assoc
        n = max(1, table.postings.live_count)
        weighted = {}
        for term in set(bigrams(folded_syllables(parsed.text))):
            df = table.postings.df("body_b", term)
            if df >= 2:
                weighted[term] = service._prior(table, term) * math.log(n / (df + 1))
        return expansion.extra_candidates(total, assoc.scores(table.postings, weighted), allowed, taken, 0.3, extra)
    fb = expansion.FEEDBACK  # "prf": relevance feedback from the best few candidates
    best = order[: fb.docs]
    lines = [line for _, line, _ in rerank.texts(state.searcher, table, best)]
    terms = expansion.expansion_terms(lines, total[best], set(folded_syllables(parsed.text)), table.postings)
    scores = expansion.feedback_scores(table, terms, w.k1, w.b_body, w.idf_floor)
    return expansion.extra_candidates(total, scores, allowed, taken, fb.weight, extra)


def rank(w: Weights, item: dict) -> tuple[float, float]:
    """(R@10, RR@10) of one question under weights `w`, re-ranked from its cached candidates."""
    parts = item["parts"]
    n = item["rel"].size
    if n == 0:
        return 0.0, 0.0
    total = combine(w, parts, np.ones(n, dtype=bool))
    pinned = item["pinned"]
    rest = np.arange(pinned, n)
    order = rest[np.lexsort((rest, -total[rest]))]
    depth = min(w.rerank_depth, order.size)
    if depth >= 2 and (w.rerank > 0 or w.rerank_head > 0):
        top = order[:depth]
        inside = top < RERANK_TOP
        triples = np.where(
            inside, (item["exact"] if w.rerank_exact else item["approx"])[np.minimum(top, RERANK_TOP - 1)], 0
        )
        heads = np.where(inside, item["heads"][np.minimum(top, RERANK_TOP - 1)], 0)
        best = float(total[top[0]]) or 1.0
        boosted = total[top] + best * (w.rerank * triples + w.rerank_head * heads)
        order = np.concatenate([top[np.argsort(-boosted, kind="stable")], order[depth:]])
    order = np.concatenate([np.arange(pinned), order])[:10]
    rel = item["rel"][order]
    first = np.nonzero(rel)[0]
    return float(rel.sum()) / item["nrel"], (1.0 / (first[0] + 1) if first.size else 0.0)


def grid(args) -> None:
    workdir = Path(args.workdir)
    suffix = "-unacc" if args.unaccented else ""
    files = {
        f.stem: pickle.load(open(f, "rb"))
        for f in sorted((workdir / "features").glob("*.pkl"))
        if f.stem.endswith("-unacc") == bool(suffix)
    }
    k = args.folds
    memo: dict[tuple, dict] = {}

    def run(stem: str, values: tuple) -> dict:
        key = (stem, values)
        if key not in memo:
            data = files[stem]
            w = replace(Weights(**data["weights"]), **dict(zip(GRID, values)))
            memo[key] = {
                name: {qid: rank(w, item) for qid, item in items.items()} for name, items in data["sets"].items()
            }
        return memo[key]

    def score(per: dict, keep) -> dict[str, tuple[float, float]]:
        out = {}
        for name, rows in per.items():
            chosen = [v for qid, v in rows.items() if keep(qid)]
            out[name] = (sum(r for r, _ in chosen) / len(chosen), sum(m for _, m in chosen) / len(chosen))
        return out

    def objective(per: dict, keep) -> float:
        return sum((r + rr) / 2 for r, rr in score(per, keep).values()) / len(per)

    start_values = tuple(getattr(SESSION_START, key) for key in GRID)
    stems = sorted(files)

    def ascend(keep) -> tuple[str, tuple]:
        """Coordinate ascent over the features files and each weight's values, two passes."""
        stem, values = stems[0], start_values
        for _ in range(2):
            stem = max(stems, key=lambda st: objective(run(st, values), keep))
            for i, key in enumerate(GRID):
                options = [values[:i] + (v,) + values[i + 1 :] for v in GRID[key]]
                values = max(options, key=lambda vs: objective(run(stem, vs), keep))
        return stem, values

    started = time.perf_counter()
    everything = lambda q: True  # noqa: E731
    stem, values = ascend(everything)
    print(f"best on all questions (not cross-validated): {stem} {describe(values)}")
    print(f"   {fmt(score(run(stem, values), everything))}")
    print("each weight varied alone around it (R@10 / MRR@10, all questions of each set):")
    for other in stems:
        print(f"  {other:22} {fmt(score(run(other, values), everything))}")
    for i, key in enumerate(GRID):
        for v in GRID[key]:
            vs = values[:i] + (v,) + values[i + 1 :]
            mark = " *" if v == values[i] else ""
            print(f"  {key}={v!s:17} {fmt(score(run(stem, vs), everything))}{mark}")
    held = {name: [] for name in files[stem]["sets"]}
    for f in range(k):
        train = lambda q, f=f: fold_of(q, k) != f  # noqa: E731
        test = lambda q, f=f: fold_of(q, k) == f  # noqa: E731
        fstem, fvalues = ascend(train)
        per = run(fstem, fvalues)
        print(f"fold {f}: chose {fstem} {describe(fvalues)}")
        print(f"   on the fold: {fmt(score(per, test))}")
        for name, rows in per.items():
            held[name].extend(v for qid, v in rows.items() if fold_of(qid, k) == f)
    for name, rows in held.items():
        r10 = sum(r for r, _ in rows) / len(rows)
        mrr = sum(m for _, m in rows) / len(rows)
        print(
            f"{name}{suffix} {k}-fold (weights chosen on the other folds): n={len(rows)} R@10 {r10:.3f} MRR@10 {mrr:.3f}"
        )
    print(f"({len(memo)} combinations, {time.perf_counter() - started:.0f} s)")


def describe(values: tuple) -> str:
    return " ".join(f"{key}={v}" for key, v in zip(GRID, values))


def fmt(m: dict[str, tuple[float, float]]) -> str:
    return "  ".join(f"{name} {r:.3f}/{rr:.3f}" for name, (r, rr) in m.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("features", "grid"))
    parser.add_argument("--workdir", default="/tmp/eval-quality")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--boilerplate", type=float, default=0.0)
    parser.add_argument("--numbers", type=float, default=1.0)
    parser.add_argument("--unaccented", action="store_true")
    parser.add_argument("--tag", default="", help="appended to the features file's name")
    parser.add_argument("--abbreviations", action="store_true", help="questions' abbreviations spelled out too")
    parser.add_argument(
        "--feedback",
        choices=("", "prf", "heading", "docs"),
        default="",
        help="extra candidates: relevance feedback, heading associations, other articles of the best documents",
    )
    parser.add_argument(
        "--base", type=int, default=0, help="with --feedback: first-stage candidates kept (0: rerank_depth)"
    )
    parser.add_argument("--extra", type=int, default=25, help="with --feedback: candidates the second pass adds")
    args = parser.parse_args()
    features(args) if args.mode == "features" else grid(args)


if __name__ == "__main__":
    main()
