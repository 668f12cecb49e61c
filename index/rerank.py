"""Second stage, learned: a ranking model over the first stage's best candidates.

The first stage (index/search.py) scores every record with BM25 parts weighted linearly; the best
`Weights.rerank_depth` candidates are then re-ordered here by a LambdaMART model (gradient-boosted
regression trees trained for ranking) over features the bag of words cannot see: how much of the
question (its words weighted by rarity) the article, its heading and its document's title hold,
the question's adjacent pairs and triples found in order, the tightest stretch of the article that
holds most of the question, the article's length, its document's type, how many candidates share
its document, and where the first stage put it.

The model is trained by bench/ltr.py on both question sets (ALQAC and the Zalo 2021 development
half) with LightGBM and shipped as a small JSON file of trees (`rerank_model.json`, package data):
evaluating it needs numpy only, so LightGBM is a training tool, not a dependency. When the file is
absent or unreadable, `load()` returns None and the search keeps the hand-weighted lexical re-rank
(`SearchService._rerank`). The features are computed by the same function at training and at
search time (`features`), from the candidates' stored heading, text and title.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from index.analysis import FOLD, folded_syllables
from index.intents import heading_hints, is_question
from kb.text import nfc

MODEL_PATH = Path(__file__).with_name("rerank_model.json")
# the same features and index/semantic.py's three (its vectors present): bench/ltr.py --semantic
SEMANTIC_MODEL_PATH = Path(__file__).with_name("rerank_semantic.json")
WINDOW = 60  # characters (about 12 syllables): the stretch in which the question's words are looked for together

FEATURES = (
    "first_score",  # first-stage score / the best candidate's
    "first_rank",  # log(1 + rank) in the first stage
    "cover_body",  # idf-weighted share of the question's distinct words in heading + text
    "cover_head",  # … in the article heading
    "cover_title",  # … in the document's title
    "pairs",  # share of the question's adjacent word pairs found adjacent in the article
    "triples",  # share of its word triples found in order
    "window",  # idf-weighted share of the question's words inside the best stretch of WINDOW characters
    "head_named",  # idf-weighted share of the heading's words the question names (the lexical re-rank's)
    "head_hint",  # the heading is the one the question's kind points to ("… là gì?" → "Giải thích từ ngữ")
    "length",  # log(1 + syllables of heading + text)
    "head_length",  # syllables of the heading
    "doc_type",  # code of the document's type (DOC_TYPES)
    "same_doc",  # how many of the first stage's top SAME_DOC candidates are from the same document, / SAME_DOC
    "same_doc_top10",  # how many of the first stage's top 10 are from the same document
    "article_number",  # log(1 + the article's number)
    "query_words",  # distinct words of the question
    "question",  # the query reads as a question
    "bm25_body",  # the question's words' BM25 in the article text (postings), / the candidates' largest
    "bm25_head",  # … in the article heading
    "bm25_title",  # … in the document's title
    "bm25_pairs",  # the question's adjacent pairs' BM25 in the text, / the candidates' largest
)
SAME_DOC = 50
TEXT_CHARS = (
    20000  # of an article's text read for the features (4000, where 5.7 % of articles are longer, cost Zalo 0.006 R@10)
)
CACHE_CHARS = 16_000_000  # characters of candidates' folded texts kept per index generation (~16 MB)
ID_ROWS = 200_000  # candidates' record ids kept per index generation (~20 MB at most)

DOC_TYPES = (
    "Hiến pháp",
    "Bộ luật",
    "Luật",
    "Pháp lệnh",
    "Nghị quyết",
    "Nghị quyết liên tịch",
    "Nghị định",
    "Quyết định",
    "Thông tư",
    "Thông tư liên tịch",
    "Chỉ thị",
    "Văn bản hợp nhất",
)
_DOC_TYPE = {name: i + 1 for i, name in enumerate(DOC_TYPES)}


@dataclass
class Question:
    """What the features need of the question, computed once per search."""

    words: list[str]  # distinct folded words
    idf: np.ndarray  # per word, log(N / (df + 1)), at least 0 (question boilerplate weighs ~0)
    pairs: set[tuple[str, str]]
    triples: set[tuple[str, str, str]]
    hints: list[str]
    question: bool

    @classmethod
    def of(cls, query, postings) -> Question:
        free = [s for group in query.groups for c in group for s in c.folded]
        words = list(dict.fromkeys(free))
        n = max(1, postings.live_count)
        idf = np.array([max(0.0, math.log(n / (postings.get("body_f", s)[0].size + 1))) for s in words])
        return cls(
            words=words,
            idf=idf,
            pairs=set(zip(free, free[1:])),
            triples=set(zip(free, free[1:], free[2:])),
            hints=[" ".join(folded_syllables(h)) for h in heading_hints(query.text)],
            question=is_question(query.text),
        )


@lru_cache(maxsize=4096)
def _title_words(title: str) -> frozenset[str]:
    return frozenset(folded_syllables(title))


_NON_WORD = re.compile(r"\W+")
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


@lru_cache(maxsize=1)
def _line_table() -> dict[int, str | None]:
    """FOLD, and every other non-word character of the Basic Multilingual Plane to a space."""
    word = re.compile(r"\w")
    table = dict(FOLD)
    for code in range(0x10000):
        if code not in table and not word.match(chr(code)):
            table[code] = " "
    return table


def folded_line(text: str) -> str:
    """A text's folded syllables joined by single spaces, with a space at each end (" hoi dong "):
    the same syllables as `folded_syllables`, made with a few passes in C rather than a Python call
    per syllable (folding drops the tone marks, so their placement need not be made canonical).
    One translation folds and blanks punctuation; a text with characters beyond the BMP (which the
    table leaves alone) takes the regular-expression way. Both give the same line."""
    text = nfc(text).lower()
    if _ASTRAL.search(text):
        return f" {_NON_WORD.sub(' ', text.translate(FOLD)).strip()} "
    return f" {' '.join(text.translate(_line_table()).split())} "


def features(
    searcher, table, top: np.ndarray, scores: np.ndarray, query, postings, rarity: dict | None = None
) -> np.ndarray:
    """The feature matrix (len(top) × len(FEATURES)) of the candidates `top`, best first stage
    first; `scores` are their first-stage scores; `rarity` caches heading words' idf among headings
    (default: one cache per index generation, in `table.shared`)."""
    if rarity is None:
        rarity = table.shared.get("rerank_rarity")
        if rarity is None:
            rarity = table.shared.setdefault("rerank_rarity", {})
    q = Question.of(query, postings)
    depth = top.size
    out = np.zeros((depth, len(FEATURES)), dtype=np.float64)
    col = {name: i for i, name in enumerate(FEATURES)}
    best = float(scores[0]) or 1.0
    out[:, col["first_score"]] = scores / best
    out[:, col["first_rank"]] = np.log1p(np.arange(depth))
    parents = table.parent[top]
    head = parents[:SAME_DOC]
    out[:, col["same_doc"]] = (parents[:, None] == head[None, :]).sum(axis=1) / SAME_DOC
    out[:, col["same_doc_top10"]] = (parents[:, None] == parents[None, :10]).sum(axis=1)
    for name, field, rows, terms in (
        ("bm25_body", "body_f", top, q.words),
        ("bm25_head", "head_f", top, q.words),
        ("bm25_title", "title_f", table.doc_of[top], q.words),
        ("bm25_pairs", "body_b", top, list({f"{a}_{b}" for a, b in q.pairs})),
    ):
        values = _bm25(postings, field, terms, rows)
        out[:, col[name]] = values / (values.max() or 1.0)
    out[:, col["query_words"]] = len(q.words)
    out[:, col["question"]] = float(q.question)
    total_idf = float(q.idf.sum()) or 1.0
    word_set = set(q.words)
    probes = [f" {w} " for w in q.words]
    pair_probes = [f" {a} {b} " for a, b in q.pairs]
    triple_probes = [f" {a} {b} {c} " for a, b, c in q.triples]
    finder = re.compile(" (?=(" + "|".join(map(re.escape, q.words)) + ") )") if q.words else None
    idf_list = q.idf.tolist()  # Python floats: the window's loop indexes them per occurrence
    index = {w: j for j, w in enumerate(q.words)}
    doc_types = table.labels["doc_type"]
    type_codes = table.codes["doc_type"]
    artnums = table.labels["artnum"]
    art_codes = table.codes["artnum"]
    lines = texts(searcher, table, top)
    for k, row in enumerate(top):
        row = int(row)
        head_line, line, title_text = lines[k]
        present = np.fromiter((p in line for p in probes), dtype=bool, count=len(probes))
        out[k, col["cover_body"]] = q.idf[present].sum() / total_idf
        in_head = np.fromiter((p in head_line for p in probes), dtype=bool, count=len(probes))
        out[k, col["cover_head"]] = q.idf[in_head].sum() / total_idf
        title = _title_words(title_text)
        in_title = [j for j, w in enumerate(q.words) if w in title]
        out[k, col["cover_title"]] = q.idf[in_title].sum() / total_idf if in_title else 0.0
        if pair_probes and present.any():
            out[k, col["pairs"]] = sum(p in line for p in pair_probes) / len(pair_probes)
            if triple_probes:
                out[k, col["triples"]] = sum(p in line for p in triple_probes) / len(triple_probes)
        if finder is not None and present.any():
            found = [(m.start(), index[m.group(1)]) for m in finder.finditer(line)]
            out[k, col["window"]] = _window(found, idf_list) / total_idf
        heading = head_line.split()
        hint = bool(q.hints) and any(f" {h} " in head_line for h in q.hints)
        out[k, col["head_hint"]] = float(hint)
        if hint:
            out[k, col["head_named"]] = 1.0
        elif len(heading) >= 2:
            weights = []
            for s in heading:
                if s not in rarity:
                    df = postings.get("head_f", s)[0].size
                    rarity[s] = max(0.0, math.log(postings.live_count / (df + 1))) + 1.0
                weights.append(rarity[s] * (0.5 if s in title else 1.0))
            shared = sum(x for s, x in zip(heading, weights) if s in word_set)
            out[k, col["head_named"]] = shared / (sum(weights) or 1.0)
        out[k, col["length"]] = math.log1p(line.count(" ") - 1)
        out[k, col["head_length"]] = len(heading)
        out[k, col["doc_type"]] = _DOC_TYPE.get(doc_types[type_codes[row]], 0)
        number = artnums[art_codes[row]]
        digits = "".join(ch for ch in number[:6] if ch.isdigit())
        out[k, col["article_number"]] = math.log1p(int(digits)) if digits else 0.0
    return out


def texts(searcher, table, top: np.ndarray) -> list[tuple[str, str, str]]:
    """Each candidate's folded heading line, folded heading + text line (the text cut at
    TEXT_CHARS) and title; remembered per index generation (`table.shared`), since the same
    articles come back for many questions."""
    cache = table.shared.get("rerank_texts")
    if cache is None:
        cache = table.shared.setdefault("rerank_texts", {"chars": 0})
    ids = table.shared.get("record_ids")  # read here anyway: index/semantic.py looks its vectors up by them
    if ids is None:
        ids = table.shared.setdefault("record_ids", {})
    out = []
    for row in top:
        row = int(row)
        hit = cache.get(row)
        if hit is None:
            stored = searcher.stored_fields(row)
            if len(ids) < ID_ROWS:
                ids[row] = stored["id"]
            head_line = folded_line(stored.get("art_heading") or "")
            hit = (
                head_line,
                head_line + folded_line((stored.get("content") or "")[:TEXT_CHARS])[1:],
                stored.get("title") or "",
            )
            size = len(hit[1]) + len(hit[2])
            if cache["chars"] + size > CACHE_CHARS:  # full: start again (cheaper than an LRU's bookkeeping)
                cache.clear()
                cache["chars"] = 0
            cache["chars"] += size
            cache[row] = hit
        out.append(hit)
    return out


def _bm25(postings, field: str, terms: list[str], rows: np.ndarray, k1: float = 0.9) -> np.ndarray:
    """The summed BM25 of `terms` in `field` for the records `rows` only (binary searches in each
    term's postings, which the first stage has just read and cached)."""
    out = np.zeros(rows.size, dtype=np.float64)
    b = 0.75 if field.startswith("body") else 0.3
    lengths = postings.lengths(field)
    n = lengths.size
    inside = rows < n
    safe = np.where(inside, rows, 0)
    norm = k1 * (1 - b + b * lengths[safe] / postings.average_length(field))
    for term in terms:
        ids, tfs = postings.get(field, term)
        if ids.size == 0:
            continue
        at = np.minimum(np.searchsorted(ids, safe), ids.size - 1)
        tf = np.where((ids[at] == safe) & inside, tfs[at], 0.0)
        idf = max(0.0, math.log(postings.live_count / (ids.size + 1))) + 1.0
        out += idf * tf * (k1 + 1) / (tf + norm)
    return out


def _window(found: list[tuple[int, int]], idf: list[float]) -> float:
    """The largest idf-weighted count of distinct question words within WINDOW characters
    (`found`: each occurrence's character offset and word, in text order)."""
    if not found:
        return 0.0
    best = 0.0
    counts: dict[int, int] = {}
    weight = 0.0
    start = 0
    for pos, word in found:
        counts[word] = counts.get(word, 0) + 1
        if counts[word] == 1:
            weight += idf[word]
        while found[start][0] < pos - WINDOW:
            old = found[start][1]
            counts[old] -= 1
            if not counts[old]:
                weight -= idf[old]
            start += 1
        if weight > best:
            best = weight
    return float(best)


class Model:
    """Regression trees as flat arrays; a candidate's score is the sum of its leaves' values."""

    def __init__(self, data: dict, features: tuple[str, ...] = FEATURES):
        if tuple(data["features"]) != features:
            raise ValueError("the model was trained on other features")
        feature = np.asarray(data["feature"], dtype=np.int64)  # -1 at a leaf
        leaf = feature < 0
        nodes = np.arange(feature.size)
        # a leaf loops to itself (threshold +inf, either way back to it), so every candidate can
        # take `depth` steps without testing whether it has arrived
        self.feature = np.where(leaf, 0, feature)
        self.threshold = np.where(leaf, np.inf, np.asarray(data["threshold"], dtype=np.float64))
        self.left = np.where(leaf, nodes, np.asarray(data["left"], dtype=np.int64))
        self.right = np.where(leaf, nodes, np.asarray(data["right"], dtype=np.int64))
        self.value = np.asarray(data["value"], dtype=np.float64)
        self.roots = np.asarray(data["roots"], dtype=np.int64)
        self.depth = int(data["depth"])
        self.info = data.get("info", {})

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float64)
        flat = x.ravel()
        offsets = (np.arange(x.shape[0]) * x.shape[1])[:, None]
        node = np.broadcast_to(self.roots, (x.shape[0], self.roots.size))
        for _ in range(self.depth - 1):
            go_left = flat[offsets + self.feature[node]] <= self.threshold[node]
            node = np.where(go_left, self.left[node], self.right[node])
        return self.value[node].sum(axis=1)


def load(path: str | Path | None = None, features: tuple[str, ...] = FEATURES) -> Model | None:
    """The shipped model, or None (no file, or a file for other features): the lexical re-rank."""
    try:
        with open(path or MODEL_PATH, encoding="utf-8") as handle:
            return Model(json.load(handle), features)
    except (OSError, ValueError, KeyError):
        return None


def from_lightgbm(dump: dict, info: dict | None = None, features: tuple[str, ...] = FEATURES) -> dict:
    """A LightGBM model (Booster.dump_model()) as the flat arrays `Model` reads. Only numerical
    `<=` splits are expected (the features are never missing)."""
    feature, threshold, left, right, value, roots = [], [], [], [], [], []
    depth = 0

    def add(node: dict, level: int) -> int:
        nonlocal depth
        depth = max(depth, level)
        i = len(feature)
        feature.append(-1)
        threshold.append(0.0)
        left.append(i)
        right.append(i)
        value.append(0.0)
        if "leaf_value" in node and "split_feature" not in node:
            value[i] = float(node["leaf_value"])
            return i
        if node.get("decision_type", "<=") != "<=":
            raise ValueError(f"unsupported split {node.get('decision_type')}")
        feature[i] = int(node["split_feature"])
        threshold[i] = float(node["threshold"])
        left[i] = add(node["left_child"], level + 1)
        right[i] = add(node["right_child"], level + 1)
        return i

    for tree in dump["tree_info"]:
        roots.append(add(tree["tree_structure"], 0))
    return {
        "features": list(features),
        "feature": feature,
        "threshold": threshold,
        "left": left,
        "right": right,
        "value": value,
        "roots": roots,
        "depth": depth + 1,
        "info": info or {},
    }
