"""Learn the abbreviation table (index/abbreviations.py) from the legal corpora.

    .venv/bin/python bench/abbreviations.py [--shared ../shared] [--min-count 20] [--write]

1. Upper-case words of 3 to 6 letters that the article texts use (at least 3 times): "BHYT", "UBND".
2. Each article's folded syllables give a string of initials, one letter per syllable; every place
   where an abbreviation's letters appear in it is a phrase whose initials spell it.
3. Phrases are counted in the articles that also use the abbreviation itself (an article that
   writes "thẻ BHYT" usually writes "bảo hiểm y tế" too; "USD" and "uống sau đây" never meet). An
   abbreviation is kept with its most frequent such phrase when that phrase is found in at least
   `--min-count` of them and at least `--dominance` times as often as the next one.
Read from alqac_articles.jsonl, zalo21_articles.jsonl.gz and extra_articles.jsonl.gz (no questions).
"""

from __future__ import annotations

import argparse
import gzip
import json
import re
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from index.abbreviations import DATA  # noqa: E402
from index.analysis import fold_syllable, syllables  # noqa: E402

FILES = ("alqac_articles.jsonl", "zalo21_articles.jsonl.gz", "extra_articles.jsonl.gz")
UPPER = re.compile(r"(?<![\w/.-])([A-ZĐ]{3,6})(?![\w/-])")


def texts(corpus: Path):
    for name in FILES:
        opener = gzip.open if name.endswith(".gz") else open
        with opener(corpus / name, "rt", encoding="utf-8") as handle:
            for line in handle:
                record = json.loads(line)
                yield f"{record.get('title') or ''}. {record.get('text') or ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", default=str(ROOT.parent / "shared"))
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--dominance", type=float, default=3.0)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    corpus = Path(args.shared) / "corpus"
    started = time.perf_counter()
    used = Counter()
    for text in texts(corpus):
        used.update(fold_syllable(m.lower()) for m in UPPER.findall(text))
    roman = re.compile(r"[ivxlcdm]+")  # "XXV" numbers a chapter
    wanted = {a for a, c in used.items() if c >= 3 and a.isalpha() and not roman.fullmatch(a)}
    print(f"{len(wanted)} upper-case words used 3 times or more ({time.perf_counter() - started:.0f} s)")
    finder = re.compile("(?=(" + "|".join(sorted(wanted, key=len, reverse=True)) + "))")  # where any may start
    phrases: dict[str, Counter] = defaultdict(Counter)
    for text in texts(corpus):
        here = {fold_syllable(m.lower()) for m in UPPER.findall(text)} & wanted
        if not here:
            continue
        folded = [fold_syllable(s) for s in syllables(text)]
        initials = "".join(s[0] for s in folded)
        seen = set()
        for m in finder.finditer(initials):
            at = m.start()
            for abbr in {initials[at : at + n] for n in range(3, 7)} & here:
                words = folded[at : at + len(abbr)]
                if all(w.isalpha() for w in words):
                    seen.add((abbr, " ".join(words)))
        for abbr, phrase in seen:
            phrases[abbr][phrase] += 1
    print(f"phrases counted ({time.perf_counter() - started:.0f} s)")
    table, report = {}, []
    for abbr in sorted(wanted):
        top = phrases[abbr].most_common(2)
        if not top:
            continue
        (best, count), second = top[0], (top[1][1] if len(top) > 1 else 0)
        keep = count >= args.min_count and count >= args.dominance * max(1, second)
        report.append(f"{'+' if keep else ' '} {abbr:7} {used[abbr]:6}  {best} ({count}; next {top[1:] or '-'})")
        if keep:
            table[abbr] = best
    print("\n".join(report))
    print(f"{len(table)} kept")
    if args.write:
        with open(DATA, "w", encoding="utf-8") as handle:
            json.dump(
                {
                    "by": "bench/abbreviations.py",
                    "min_count": args.min_count,
                    "dominance": args.dominance,
                    "expansions": table,
                },
                handle,
                ensure_ascii=False,
                indent=0,
                sort_keys=True,
            )
        print(f"wrote {DATA}")


if __name__ == "__main__":
    main()
