"""The table behind index/diacritics.py, and how well it puts diacritics back.

    .venv/bin/python bench/diacritics.py write [--min-count 2]     # writes index/diacritics.tsv.gz
    .venv/bin/python bench/diacritics.py measure [--table PATH]

`write` counts the accented syllables and syllable bigrams of the pháp điển corpus (document titles,
article headings and texts; ../shared/corpus/phapdien_articles.jsonl.gz, neither query set's articles),
keeps bigrams seen at least `--min-count` times, and adds those of the questions of both query sets
apart (index/diacritics.py weighs them). `measure` folds every question of both sets, restores it and
prints the share of syllables and of whole questions that come back as written: with legal text alone,
and cross-validated with the questions of the other folds (`off_fold`, what bench/semantic.py uses).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.eval_quality import fold_of  # noqa: E402
from index.analysis import fold_syllable, syllables  # noqa: E402
from index.diacritics import END, QUESTION_WEIGHT, START, TABLE, Restorer  # noqa: E402

QUERY_SETS = ("alqac_qrels.jsonl", "zalo21_dev_qrels.jsonl")


def questions(shared: Path) -> list[tuple[str, str, str]]:
    """(query set file, qid, question) of both query sets."""
    out = []
    for name in QUERY_SETS:
        for line in open(Path(shared) / "corpus" / name, encoding="utf-8"):
            record = json.loads(line)
            out.append((name, record["qid"], record["query"]))
    return out


def count(texts, unigrams: Counter, bigrams: Counter, weight: int = 1) -> None:
    for text in texts:
        words = [START, *syllables(text), END]
        for word in words:
            unigrams[word] += weight
        for pair in zip(words, words[1:]):
            bigrams[pair] += weight


def off_fold(shared: Path, fold: int, k: int = 5, table: Path = TABLE) -> Restorer:
    """The table's legal counts with the questions of every fold but `fold`, as the shipped table
    weighs its questions: what the table restores of questions it has not seen."""
    base = Restorer.load(table, questions=False)
    unigrams, bigrams = Counter(base.unigrams), Counter(base.bigrams)
    count([q for _, qid, q in questions(shared) if fold_of(qid, k) != fold], unigrams, bigrams, QUESTION_WEIGHT)
    return Restorer(dict(unigrams), dict(bigrams))


def write(args) -> None:
    started = time.perf_counter()
    unigrams: Counter[str] = Counter()
    bigrams: Counter[tuple[str, str]] = Counter()
    with gzip.open(Path(args.shared) / "corpus" / "phapdien_articles.jsonl.gz", "rt", encoding="utf-8") as handle:
        texts = (json.loads(line) for line in handle)
        count((r[key] for r in texts for key in ("doc_title", "title", "text") if r.get(key)), unigrams, bigrams)
    kept = sorted((pair, n) for pair, n in bigrams.items() if n >= args.min_count)
    asked_unigrams: Counter[str] = Counter()
    asked_bigrams: Counter[tuple[str, str]] = Counter()
    count([q for _, _, q in questions(Path(args.shared))], asked_unigrams, asked_bigrams)
    with gzip.open(args.table, "wt", encoding="utf-8", compresslevel=9) as out:
        for kind, words in (("u", unigrams), ("qu", asked_unigrams)):
            for word, n in sorted(words.items()):
                out.write(f"{kind}\t{word}\t{n}\n")
        for kind, pairs in (("b", kept), ("qb", sorted(asked_bigrams.items()))):
            for (first, second), n in pairs:
                out.write(f"{kind}\t{first} {second}\t{n}\n")
    size = Path(args.table).stat().st_size
    print(
        f"{len(unigrams)} syllables, {len(kept)} of {len(bigrams)} bigrams; questions: {len(asked_unigrams)}"
        f" syllables, {len(asked_bigrams)} bigrams → {args.table} ({size / 1e6:.2f} MB)"
    )
    print(f"in {time.perf_counter() - started:.1f} s")


def measure(args) -> None:
    started = time.perf_counter()
    legal = Restorer.load(Path(args.table), questions=False)
    print(f"table loaded in {time.perf_counter() - started:.2f} s")
    asked = questions(Path(args.shared))
    folds = {f: off_fold(Path(args.shared), f, args.folds, Path(args.table)) for f in range(args.folds)}
    for label, model_of in (
        ("legal text only", lambda qid: legal),
        (f"{args.folds}-fold, questions of the other folds", lambda qid: folds[fold_of(qid, args.folds)]),
    ):
        for name in QUERY_SETS:
            right = total = whole = n = 0
            spent = 0.0
            for _, qid, text in (q for q in asked if q[0] == name):
                written = syllables(text)
                started = time.perf_counter()
                restored = model_of(qid).syllables([fold_syllable(s) for s in written])
                spent += time.perf_counter() - started
                good = sum(a == b for a, b in zip(written, restored))
                right, total = right + good, total + len(written)
                whole, n = whole + (good == len(written)), n + 1
            print(
                f"{label}: {name}: syllables {right / total:.4f}, whole questions {whole / n:.3f}"
                f" ({n} questions, {1000 * spent / n:.2f} ms each)"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("write", "measure"))
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--table", default=str(TABLE))
    parser.add_argument("--min-count", type=int, default=2, help="write: bigrams seen fewer times are dropped")
    parser.add_argument("--folds", type=int, default=5)
    args = parser.parse_args()
    {"write": write, "measure": measure}[args.command](args)


if __name__ == "__main__":
    main()
