"""The table behind index/diacritics.py, and how well it puts diacritics back.

    .venv/bin/python bench/diacritics.py write [--min-count 2]     # writes index/diacritics.tsv.gz
    .venv/bin/python bench/diacritics.py measure [--table PATH]

`write` counts the accented syllables and syllable bigrams of the pháp điển corpus (document titles,
article headings and texts; ../shared/corpus/phapdien_articles.jsonl.gz, neither query set's articles)
and keeps bigrams seen at least `--min-count` times. `measure` folds every question of both query sets,
restores it and prints the share of syllables and of whole questions that come back as written.
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

from index.analysis import fold_syllable, syllables  # noqa: E402
from index.diacritics import END, START, TABLE, Restorer  # noqa: E402

QUERY_SETS = ("alqac_qrels.jsonl", "zalo21_dev_qrels.jsonl")


def write(args) -> None:
    started = time.perf_counter()
    unigrams: Counter[str] = Counter()
    bigrams: Counter[tuple[str, str]] = Counter()
    with gzip.open(Path(args.shared) / "corpus" / "phapdien_articles.jsonl.gz", "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            for key in ("doc_title", "title", "text"):
                if record.get(key):
                    words = [START, *syllables(record[key]), END]
                    unigrams.update(words)
                    bigrams.update(zip(words, words[1:]))
    kept = sorted((pair, count) for pair, count in bigrams.items() if count >= args.min_count)
    with gzip.open(args.table, "wt", encoding="utf-8", compresslevel=9) as out:
        for word, count in sorted(unigrams.items()):
            out.write(f"u\t{word}\t{count}\n")
        for (first, second), count in kept:
            out.write(f"b\t{first} {second}\t{count}\n")
    size = Path(args.table).stat().st_size
    print(f"{len(unigrams)} syllables, {len(kept)} of {len(bigrams)} bigrams → {args.table} ({size / 1e6:.2f} MB)")
    print(f"in {time.perf_counter() - started:.1f} s")


def measure(args) -> None:
    started = time.perf_counter()
    model = Restorer.load(Path(args.table))
    print(f"table loaded in {time.perf_counter() - started:.2f} s")
    for name in QUERY_SETS:
        right = total = whole = questions = 0
        spent = 0.0
        for line in open(Path(args.shared) / "corpus" / name, encoding="utf-8"):
            written = syllables(json.loads(line)["query"])
            started = time.perf_counter()
            restored = model.syllables([fold_syllable(s) for s in written])
            spent += time.perf_counter() - started
            good = sum(a == b for a, b in zip(written, restored))
            right, total = right + good, total + len(written)
            whole, questions = whole + (good == len(written)), questions + 1
        print(
            f"{name}: syllables {right / total:.4f}, whole questions {whole / questions:.3f}"
            f" ({questions} questions, {1000 * spent / questions:.2f} ms each)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=("write", "measure"))
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--table", default=str(TABLE))
    parser.add_argument("--min-count", type=int, default=2, help="write: bigrams seen fewer times are dropped")
    args = parser.parse_args()
    {"write": write, "measure": measure}[args.command](args)


if __name__ == "__main__":
    main()
