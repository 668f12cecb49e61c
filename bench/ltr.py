"""Learning to rank the second stage on both question sets, cross-validated (index/rerank.py).

    .venv/bin/python bench/ltr.py features --workdir W [--pickle W/features/b0.03-n1.0.pkl]
    .venv/bin/python bench/ltr.py train --workdir W [--folds 5] [--write]

`features` reads the candidates cached by `bench/tune_ranking.py features` (each question's 200
best first-stage candidates with their score parts, picked with the kept weights, the boilerplate
prior learned off the question's fold), orders them by the kept weights as the search does, and
computes `index.rerank.features` for the best `rerank_depth` of them from the same indexes (the
function the search runs). It writes W/ltr/features.pkl.

`train` fits LightGBM LambdaMART models (pip install lightgbm; a training tool only: the search
evaluates the trees with numpy) per fold on the *other* folds of both sets, and scores each fold
with its own model: R@10 and MRR@10 per set and per fold, beside the lexical re-rank of the kept
weights on the same candidates. Several settings (`SETTINGS`) are run and all printed. `--write`
trains the kept setting on every question of both sets and writes index/rerank_model.json
(`--semantic`: features with bench/semantic.py's columns, index/rerank_semantic.json).
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_quality import ensure_index, fold_of  # noqa: E402
from bench.tune_ranking import rank  # noqa: E402
from index import rerank, semantic  # noqa: E402
from index.query import parse  # noqa: E402
from index.search import WEIGHTS, SearchService, combine  # noqa: E402

SETTINGS = {
    # name: (LightGBM parameters, boosting rounds, weight of a Zalo question relative to an ALQAC one)
    "lm-small": (dict(num_leaves=7, learning_rate=0.05, min_data_in_leaf=50), 200, 1.0),
    "lm-mid": (dict(num_leaves=15, learning_rate=0.05, min_data_in_leaf=50), 300, 1.0),
    "lm-mid-zalo3": (dict(num_leaves=15, learning_rate=0.05, min_data_in_leaf=50), 300, 3.0),
    "lm-big": (dict(num_leaves=31, learning_rate=0.03, min_data_in_leaf=30), 500, 1.0),
    # session 5 (issue 16): training choices around the kept setting, fixed before any was run
    "z3-trunc10": (
        dict(num_leaves=15, learning_rate=0.05, min_data_in_leaf=50, lambdarank_truncation_level=10),
        300,
        3.0,
    ),
    "z3-trunc75": (
        dict(num_leaves=15, learning_rate=0.05, min_data_in_leaf=50, lambdarank_truncation_level=75),
        300,
        3.0,
    ),
    "z3-xendcg": (dict(num_leaves=15, learning_rate=0.05, min_data_in_leaf=50, objective="rank_xendcg"), 300, 3.0),
    "z3-binary": (
        dict(num_leaves=15, learning_rate=0.05, min_data_in_leaf=50, objective="binary", metric="auc"),
        300,
        3.0,
    ),
    "z3-slow": (dict(num_leaves=15, learning_rate=0.025, min_data_in_leaf=50), 600, 3.0),
}
# kept: each Zalo question weighs 3 ALQAC questions (1,465 / 468 ≈ 3.1), so that both sets count
# alike in training as they do in the objective (mean over the sets of (R@10 + MRR@10) / 2)
KEPT = "lm-mid-zalo3"


def build_features(args) -> None:
    workdir = Path(args.workdir)
    source = Path(args.pickle) if args.pickle else workdir / "features" / "b0.03-n1.0.pkl"
    cached = pickle.load(open(source, "rb"))
    corpus = Path(args.shared) / "corpus"
    out = {"folds": cached["folds"], "sets": {}}
    started = time.perf_counter()
    for name, items in cached["sets"].items():
        service = SearchService(ensure_index(corpus, workdir, name), weights=WEIGHTS)
        state = service._state()
        table = state.table
        rarity: dict = {}
        rows_out = {}
        for qid, item in items.items():
            rows_out[qid] = one(service, state, table, item, rarity, args.depth)
        out["sets"][name] = rows_out
        print(f"{name}: {len(items)} questions ({time.perf_counter() - started:.0f} s)", flush=True)
    target = workdir / "ltr" / f"features{args.tag}.pkl"
    target.parent.mkdir(exist_ok=True)
    with open(target, "wb") as handle:
        pickle.dump(out, handle)
    print(f"wrote {target}")


def one(service, state, table, item: dict, rarity: dict, depth: int = WEIGHTS.rerank_depth) -> dict:
    """The order the search's first stage gives (pinned first), and the features of its best
    `rerank_depth` unpinned candidates."""
    n = item["rel"].size
    base = {"rel": item["rel"], "nrel": item["nrel"], "pinned": item["pinned"], "item": item}
    if n == 0:
        return dict(base, order=np.arange(0), x=np.zeros((0, len(rerank.FEATURES))))
    total = combine(WEIGHTS, item["parts"], np.ones(n, dtype=bool))
    pinned = item["pinned"]
    rest = np.arange(pinned, n)
    # "fixed": the candidates are cached in the search's order (feedback's extras after the first stage's own)
    order = rest if item.get("fixed") else rest[np.lexsort((rest, -total[rest]))]
    depth = min(depth, order.size)
    top = order[:depth]
    parsed = parse(item["query"])  # as the first stage parsed it (abbreviations spelled out or not)
    x = rerank.features(
        state.searcher, table, item["rows"][top], total[top].astype(np.float64), parsed, table.postings, rarity
    )
    return dict(base, order=order, x=x)


def metrics(q: dict, scores: np.ndarray | None) -> tuple[float, float]:
    """(R@10, RR@10) with the top candidates re-ordered by `scores` (None: first-stage order)."""
    order = q["order"]
    depth = q["x"].shape[0]
    if scores is not None and depth >= 2:
        top = order[:depth]
        order = np.concatenate([top[np.argsort(-scores, kind="stable")], order[depth:]])
    order = np.concatenate([np.arange(q["pinned"]), order])[:10]
    if q["rel"].size == 0:
        return 0.0, 0.0
    rel = q["rel"][order]
    first = np.nonzero(rel)[0]
    return float(rel.sum()) / q["nrel"], (1.0 / (first[0] + 1) if first.size else 0.0)


def train_model(questions: list[tuple[str, dict]], setting: str, seed: int = 7):
    import lightgbm as lgb

    params, rounds, zalo_weight = SETTINGS[setting]
    xs, ys, groups, weights = [], [], [], []
    for name, q in questions:
        depth = q["x"].shape[0]
        if depth < 2:
            continue
        rel = q["rel"][q["order"][:depth]]
        if not rel.any():
            continue  # no relevant candidate: nothing to learn from its order
        xs.append(q["x"])
        ys.append(rel.astype(int))
        groups.append(depth)
        weights.append(np.full(depth, zalo_weight if name == "zalo21" else 1.0))
    data = lgb.Dataset(np.vstack(xs), label=np.concatenate(ys), group=groups, weight=np.concatenate(weights))
    full = dict(
        objective="lambdarank",
        metric="ndcg",
        eval_at=[10],
        lambdarank_truncation_level=20,
        feature_fraction=0.9,
        bagging_fraction=0.8,
        bagging_freq=1,
        num_threads=1,  # two threads spin against each other on a loaded 2-core machine
        verbose=-1,
        seed=seed,  # of the bagging and feature sampling: the figures move with it (--seeds)
        deterministic=True,
        force_row_wise=True,
    )
    full.update(params)
    return lgb.train(full, data, num_boost_round=rounds)


def train(args) -> None:
    data = pickle.load(open(Path(args.workdir) / "ltr" / f"features{args.tag}.pkl", "rb"))
    # --semantic: the features carry bench/semantic.py's three columns (index/semantic.py)
    names = rerank.FEATURES + semantic.FEATURES if args.semantic else rerank.FEATURES
    path = rerank.SEMANTIC_MODEL_PATH if args.semantic else rerank.MODEL_PATH
    k = args.folds
    sets = data["sets"]
    for items in sets.values():  # candidates beyond --depth are left in the first stage's order
        for q in items.values():
            q["x"] = q["x"][: args.depth]
    every = [(name, qid, q) for name, items in sets.items() for qid, q in items.items()]
    lexical = {
        (name, qid): rank(WEIGHTS, q["item"]) for name, qid, q in every
    }  # the kept lexical re-rank on the same candidates

    def report(label: str, per: dict) -> None:
        line = []
        for name in sets:
            vals = [v for (n, _), v in per.items() if n == name]
            line.append(f"{name} {np.mean([r for r, _ in vals]):.3f}/{np.mean([m for _, m in vals]):.3f}")
        folds = []
        for f in range(k):
            cells = []
            for name in sets:
                vals = [v for (n, qid), v in per.items() if n == name and fold_of(qid, k) == f]
                cells.append(f"{np.mean([r for r, _ in vals]):.3f}/{np.mean([m for _, m in vals]):.3f}")
            folds.append(" ".join(cells))
        print(f"{label:28} {'  '.join(line)}   per fold (alqac zalo21): {'; '.join(folds)}", flush=True)

    report("lexical re-rank (kept)", lexical)
    report("first stage only", {(name, qid): metrics(q, None) for name, qid, q in every})
    settings = [] if args.settings == "none" else args.settings.split(",") if args.settings else list(SETTINGS)
    seeds = [int(s) for s in args.seeds.split(",")]
    for setting in settings:
        started = time.perf_counter()
        runs = []
        for seed in seeds:
            held = {}
            for f in range(k):
                model = train_model([(n, q) for n, qid, q in every if fold_of(qid, k) != f], setting, seed)
                for name, qid, q in every:
                    if fold_of(qid, k) == f:
                        scores = model.predict(q["x"]) if q["x"].shape[0] >= 2 else None
                        held[(name, qid)] = metrics(q, scores)
            report(f"{setting} {k}-fold" + (f" seed {seed}" if len(seeds) > 1 else ""), held)
            runs.append(held)
        if len(runs) > 1:  # each question's figures averaged over the seeds' models
            report(
                f"{setting} mean of {len(runs)} seeds",
                {key: tuple(np.mean([r[key] for r in runs], axis=0)) for key in runs[0]},
            )
        print(f"   ({time.perf_counter() - started:.0f} s)", flush=True)
    if args.write_folds:  # for bench/eval_quality.py --fold-models: the real search path, cross-validated
        for f in range(k):
            chosen = [(n, q) for n, qid, q in every if fold_of(qid, k) != f]
            model = train_model(chosen, args.write_setting, *([args.write_seed] if args.write_seed is not None else []))
            seed = f"-s{args.write_seed}" if args.write_seed is not None else ""
            target = Path(args.workdir) / "ltr" / f"fold{f}{args.tag}{seed}.json"
            info = {"setting": args.write_setting, "fold": f, "folds": k, "by": "bench/ltr.py"}
            with open(target, "w", encoding="utf-8") as handle:
                json.dump(rerank.from_lightgbm(model.dump_model(), info, names), handle, separators=(",", ":"))
            print(f"wrote {target}", flush=True)
    if args.write:
        model = train_model([(n, q) for n, _, q in every], args.write_setting)
        converted = rerank.from_lightgbm(
            model.dump_model(),
            info={
                "setting": args.write_setting,
                "trained_on": {name: len(items) for name, items in sets.items()},
                "by": "bench/ltr.py",
            },
            features=names,
        )
        ours = rerank.Model(converted, names)
        sample = np.vstack([q["x"] for _, _, q in every[:200] if q["x"].shape[0]])
        gap = float(np.abs(ours.predict(sample) - model.predict(sample)).max())
        print(f"numpy trees vs LightGBM on {sample.shape[0]} candidates: largest difference {gap:.2e}")
        assert gap < 1e-6
        with open(path, "w", encoding="utf-8") as handle:
            json.dump(converted, handle, separators=(",", ":"))
        report("written model, all questions", {(n, qid): metrics(q, ours.predict(q["x"])) for n, qid, q in every})
        importance = model.feature_importance("gain")
        for name, gain in sorted(zip(names, importance), key=lambda t: -t[1]):
            print(f"   {name:16} {gain:10.0f}")
        print(f"wrote {path} ({path.stat().st_size} bytes)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("features", "train"))
    parser.add_argument("--workdir", default="/tmp/eval-quality")
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--pickle", default="")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--depth", type=int, default=WEIGHTS.rerank_depth, help="candidates re-ranked per question")
    parser.add_argument("--tag", default="", help="appended to the features file's name")
    parser.add_argument("--write-folds", action="store_true", help="also write each fold's model to W/ltr/")
    parser.add_argument(
        "--write-seed", type=int, default=None, help="--write-folds with this seed, into fold<f><tag>-s<seed>.json"
    )
    parser.add_argument("--settings", default="", help="comma-separated names of SETTINGS (default all; none: skip)")
    parser.add_argument(
        "--seeds", default="7", help="comma-separated LightGBM seeds: each setting is cross-validated with each"
    )
    parser.add_argument("--write", action="store_true")
    parser.add_argument(
        "--semantic",
        action="store_true",
        help="the features have the sentence model's columns: write rerank_semantic.json",
    )
    parser.add_argument("--write-setting", default=KEPT)
    args = parser.parse_args()
    build_features(args) if args.mode == "features" else train(args)


if __name__ == "__main__":
    main()
