"""The first stage of ranking: which records match a query, and their scores, exhaustively or pruned.

A query becomes a *plan*: a list of scoring units, each one term of one index field (or several that
must all be present: the adjacent pairs of a phrase or of a heading a question's kind points to),
with the factor it is discounted by (question boilerplate, bare numbers) and the part of the score
it adds to ("word_body", "accent_head", "pair_title", "intent"). `combine` weighs the parts.

Which records match is decided apart from the scores, by set operations over the terms' postings
(every word, or a share of a question's words, in any field). Scoring then has two forms that give
the same numbers, bit for bit, for the records they score:

- `components`: every record (arrays over the whole index). bench/tune_ranking.py caches these
  parts, and tests use it as the reference.
- `top_k`: MaxScore pruning (Turtle and Flood, 1995). Each unit has an upper bound of what it can
  add to any record (BM25 at the largest term frequency and the shortest field of its postings, or
  of each of its posting blocks). The records of the most selective units are scored first; the
  k-th best of them is a threshold θ; the units whose bounds sum to less than θ cannot lift a record
  they alone hold into the top k, so only the records of the other units are scored. The result is
  the exact top k of exhaustive scoring (ties by record number), with the work bounded by the
  postings of the selective terms rather than by the size of the index.

Named documents and named articles ("Điều 9 Luật …") get a share of the best score; they are always
scored. Title terms are indexed on the document record and count for each of its articles.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from index.analysis import bigrams, fold_syllable, folded_syllables
from index.intents import article_refs, heading_hints, is_question
from index.query import Clause, ParsedQuery

FIELDS = ("title", "head", "body")


@dataclass
class Weights:
    """Ranking parameters, chosen on both question sets at once (ALQAC and the Zalo 2021
    development half) by bench/tune_ranking.py; figures per weight in docs/PERFORMANCE.md."""

    title: float = 0.3  # the document title's words (1.0 before: titles outvoted the article body)
    head: float = 0.5  # article heading
    body: float = 1.0
    accent: float = 0.6  # share of a field's weight added for the exact accented syllable
    bigram: float = 2.0  # share added for two query words side by side
    k1: float = 0.9
    b_body: float = 0.75
    b_short: float = 0.3  # titles and headings are short: little length normalisation
    idf_floor: float = 1.0
    article_ref: float = 0.5  # share of the best score added to the article a query names ("Điều 6")
    intent: float = 3.0  # weight of the heading a question's kind points to ("… là gì?")
    rerank: float = 1.0  # share of the best score added for the query's word triples found in order
    rerank_head: float = 0.3  # share of the best score for the article heading's words in the query
    rerank_title: float = 0.5  # … where a heading word also in the document's title counts this much
    rerank_depth: int = 75  # how many top candidates the second stage re-scores
    rerank_exact: bool = True  # triples checked in the stored text (False: both pairs present suffices)
    rerank_model: bool = True  # re-rank with the learned model (index/rerank.py) when it is shipped
    abbreviations: bool = False  # "BHYT" also searches "bảo hiểm y tế" (index/abbreviations.py; measured, not kept)
    restore: bool = True  # a question typed without diacritics is searched with them put back (index/diacritics.py)
    long_query: int = 6  # more words than this make a question, not a keyword search …
    min_share: float = 0.3  # … and a question needs only this share of its words to match
    boilerplate: float = 0.03  # strength of the question-boilerplate discount (index/boilerplate.py)
    numbers: float = 1.0  # weight of a question's bare numbers ("tháng 7/2020", "18 tuổi")
    title_cap: float = 0.0  # a title's score may add at most this share of the article's own (0: no cap)
    named_doc: float = 0.5  # share of the best score added to the articles of a document the query names

    def b(self, field: str) -> float:
        return self.b_body if field == "body" else self.b_short

    def coefficient(self, part: str) -> float:
        """What `combine` multiplies a part by (before a title cap, which only lowers it)."""
        if part == "intent":
            return self.intent
        kind, field = part.split("_")
        weight = {"title": self.title, "head": self.head, "body": self.body}[field]
        return weight * {"word": 1.0, "accent": self.accent, "pair": self.bigram}[kind]


WEIGHTS = Weights()


@dataclass(frozen=True)
class Unit:
    """One scoring unit: a term of an index field (or terms that must all be present)."""

    part: str  # the part of the score it adds to
    field: str  # the index field: "body_f", "head_b", "title_a", …
    terms: tuple[str, ...]
    factor: float  # boilerplate discount × weight of bare numbers
    b: float  # BM25 length normalisation of the field

    @property
    def title(self) -> bool:
        return self.field.startswith("title_")


def is_long(w: Weights, parsed: ParsedQuery) -> bool:
    return len(parsed.groups) > w.long_query or is_question(parsed.text)


def plan(w: Weights, parsed: ParsedQuery, prior: Callable[[str], float]) -> list[Unit]:
    """The scoring units of a query, in the order `components` adds them (which fixes the float
    rounding both forms of scoring share). `prior(term)` is a term's boilerplate discount."""
    units: list[Unit] = []
    question = is_long(w, parsed)
    for group in parsed.groups:
        for clause in group:
            factor = prior(clause.folded[0]) if len(clause.folded) == 1 else 1.0
            if question and clause.folded[0].isdigit() and len(clause.folded) == 1:
                factor *= w.numbers
            for f in FIELDS:
                if len(clause.folded) == 1:
                    units.append(Unit(f"word_{f}", f"{f}_f", (clause.folded[0],), factor, w.b(f)))
                else:
                    units.append(Unit(f"word_{f}", f"{f}_b", tuple(bigrams(clause.folded)), factor, w.b(f)))
    if parsed.accented:
        for syl in sorted({s for c in parsed.clauses for s in c.syllables}):
            factor = prior(fold_syllable(syl))
            units.extend(Unit(f"accent_{f}", f"{f}_a", (syl,), factor, w.b(f)) for f in FIELDS)
    free = [s for group in parsed.groups for c in group if not c.phrase for s in c.folded]
    for pair in sorted(set(bigrams(free))):
        factor = prior(pair)
        units.extend(Unit(f"pair_{f}", f"{f}_b", (pair,), factor, w.b(f)) for f in FIELDS)
    for heading in heading_hints(parsed.text):
        pairs = tuple(bigrams(folded_syllables(heading)))
        if pairs:
            units.append(Unit("intent", "head_b", pairs, 1.0, w.b_short))
    return units


# --- which records match --------------------------------------------------------------------------


def _present(table, field: str, term: str) -> np.ndarray:
    """Records holding `term` in `field` (a title term: every record of a document holding it)."""
    ids = table.postings.ids(field, term)
    if field.startswith("title_"):
        docs = np.zeros(table.n + 1, dtype=bool)
        docs[ids] = True
        return docs[table.doc_of]
    mask = np.zeros(table.n, dtype=bool)
    mask[ids] = True
    return mask


def clause_mask(table, clause: Clause) -> np.ndarray:
    """Records where a word (any field) or a phrase (all its adjacent pairs in one field) occurs."""
    if len(clause.folded) == 1:
        mask = np.zeros(table.n, dtype=bool)
        for f in FIELDS:
            mask |= _present(table, f"{f}_f", clause.folded[0])
        return mask
    mask = np.zeros(table.n, dtype=bool)
    for f in FIELDS:
        here = np.ones(table.n, dtype=bool)
        for pair in bigrams(clause.folded):
            here &= _present(table, f"{f}_b", pair)
        mask |= here
    return mask


def match(table, w: Weights, parsed: ParsedQuery, strict: bool) -> np.ndarray:
    """Strict: every word (group) must match, except in long questions, where a share `min_share`
    of the words is enough (ranking then prefers the passages sharing most of them); loose: any word.
    Excluded words remove records; only live records match."""
    hits = np.zeros(table.n, dtype=np.int16)
    for group in parsed.groups:
        group_mask = np.zeros(table.n, dtype=bool)
        for clause in group:
            group_mask |= clause_mask(table, clause)
        hits += group_mask
    groups = len(parsed.groups)
    if not strict:
        need = 1
    elif is_long(w, parsed):
        need = max(1, int(np.ceil(w.min_share * groups)))
    else:
        need = groups
    matched = hits >= need
    for clause in parsed.excluded:
        matched &= ~clause_mask(table, clause)
    return matched & table.live


# --- scores ----------------------------------------------------------------------------------------


def _bm25(
    table, w: Weights, unit: Unit, term: str, rows: np.ndarray | None, present: bool = True, docs=None
) -> tuple[np.ndarray, np.ndarray | None]:
    """(contributions, present) of one term for `rows` (None: every record), each record scored by
    its own field or, for a title term, its document's. The same arithmetic, element by element,
    as Postings.bm25, so a record's contribution does not depend on which records are scored.
    present=False: every record's mask is not needed (None instead: two arrays over the index less).
    docs: `_documents(table, rows)`, when the caller scores several title units for the same rows."""
    postings = table.postings
    if rows is None:
        ids, contrib = postings.bm25(unit.field, term, w.k1, unit.b, w.idf_floor)
        scores = np.zeros(table.n + 1, dtype=np.float32)
        scores[ids] = contrib
        mask = None
        if present:
            mask = np.zeros(table.n + 1, dtype=bool)
            mask[ids] = True
            mask = mask[table.doc_of] if unit.title else mask[: table.n]
        return (scores[table.doc_of] if unit.title else scores[: table.n]), mask
    target = table.doc_of[rows] if unit.title else rows
    out = np.zeros(rows.size, dtype=np.float32)
    df = postings.df(unit.field, term)
    if df == 0 or rows.size == 0:
        return out, np.zeros(rows.size, dtype=bool)
    if unit.title:  # documents' rows, unsorted, n for records without one
        wanted, back = docs if docs is not None else _documents(table, rows)
        found = np.zeros(wanted.size + 1, dtype=np.float32)
        found[:-1] = _tfs(postings, unit.field, term, wanted)
        tf = found[back]
    else:
        tf = _tfs(postings, unit.field, term, target)
    present = tf > 0
    tf = tf[present]
    idf = max(0.0, math.log(postings.live_count / (df + 1))) + w.idf_floor
    lengths = postings.lengths(unit.field)[target[present]]
    norm = w.k1 * (1 - unit.b + unit.b * lengths / postings.average_length(unit.field))
    out[present] = (idf * tf * (w.k1 + 1) / (tf + norm)).astype(np.float32)
    return out, present


def _tfs(postings, field: str, term: str, rows: np.ndarray) -> np.ndarray:
    """Term frequencies of the sorted `rows`: from the whole decoded postings (cached, and one
    binary search) — decoding only the blocks that hold the rows (session 4's `tfs_of`, removed)
    visits every segment for every unit and cost more at 10× (19 segments) than decoding the term once."""
    ids, tfs = postings.get(field, term)
    out = np.zeros(rows.size, dtype=np.float32)
    if ids.size and rows.size:
        at = np.minimum(np.searchsorted(ids, rows), ids.size - 1)
        hit = ids[at] == rows
        out[hit] = tfs[at[hit]]
    return out


def _documents(table, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the sorted document records of `rows`, each row's index into them; records without a
    document point one past the end)."""
    wanted, back = np.unique(table.doc_of[rows], return_inverse=True)
    if wanted.size and wanted[-1] == table.n:
        wanted = wanted[:-1]
        back = np.where(back == wanted.size, wanted.size, back)
    return wanted, back


def _unit_scores(table, w: Weights, unit: Unit, rows: np.ndarray | None, docs=None) -> np.ndarray:
    """A unit's unweighted contribution to `rows` (None: every record)."""
    if len(unit.terms) == 1:
        return _bm25(table, w, unit, unit.terms[0], rows, present=False, docs=docs)[0]
    size = table.n if rows is None else rows.size
    contrib = np.zeros(size, dtype=np.float32)
    here = np.ones(size, dtype=bool)
    for term in unit.terms:
        add, present = _bm25(table, w, unit, term, rows, docs=docs)
        contrib += add
        here &= present
    contrib[~here] = 0
    return contrib


def parts(table, w: Weights, units: list[Unit], rows: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """The unweighted parts of the score of `rows` (None: every record)."""
    size = table.n if rows is None else rows.size
    out = {f"{kind}_{f}": np.zeros(size, dtype=np.float32) for kind in ("word", "accent", "pair") for f in FIELDS}
    out["intent"] = np.zeros(size, dtype=np.float32)
    # every title unit looks its rows' documents up: once for all of them
    docs = _documents(table, rows) if rows is not None and any(u.title for u in units) else None
    for unit in units:
        out[unit.part] += unit.factor * _unit_scores(table, w, unit, rows, docs)
    return out


def combine(w: Weights, parts: dict[str, np.ndarray], matched: np.ndarray) -> np.ndarray:
    """The first-stage score: the parts weighted. A title's evidence may be capped at a share
    of the article's own (`title_cap`), so that a document whose title shares the question's
    words cannot outvote the article that answers it. A named document's articles and a named
    article get a share of the best score among `matched`."""
    field_weight = {"title": w.title, "head": w.head, "body": w.body}

    def field(f: str) -> np.ndarray:
        return field_weight[f] * (parts[f"word_{f}"] + w.accent * parts[f"accent_{f}"] + w.bigram * parts[f"pair_{f}"])

    total = field("head") + field("body")
    titles = field("title")
    if w.title_cap > 0:
        titles = np.minimum(titles, w.title_cap * total)
    total += titles
    total += w.intent * parts["intent"]
    if matched.any():
        if w.named_doc > 0 and parts["named"].any():
            total[parts["named"]] += w.named_doc * float(total[matched].max())
        if parts["artref"].any():
            total[parts["artref"]] += w.article_ref * float(total[matched].max())
    return total


def named_masks(table, parsed: ParsedQuery, named_rows: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(records of the documents the query names, records of the articles it names by number)."""
    named = np.zeros(table.n, dtype=bool)
    if named_rows:
        named = np.isin(table.parent, table.parent[named_rows])
    artref = np.zeros(table.n, dtype=bool)
    refs = article_refs(parsed.text)
    if refs:
        wanted = [i for i, label in enumerate(table.labels["artnum"]) if label in refs]
        artref = np.isin(table.codes["artnum"], wanted)
    return named, artref


def components(
    table, w: Weights, parsed: ParsedQuery, prior: Callable[[str], float], strict: bool, named_rows: list[int]
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Every record's parts and the match mask: the exhaustive form (bench/tune_ranking.py caches it)."""
    matched = match(table, w, parsed, strict)
    out = parts(table, w, plan(w, parsed, prior))
    named, artref = named_masks(table, parsed, named_rows)
    out["named"], out["artref"] = named & matched, artref & matched
    return out, matched


# --- pruned top k ------------------------------------------------------------------------------------


def _term_bound(table, w: Weights, unit: Unit, term: str) -> float:
    """The largest BM25 contribution of `term` to any record, from the per-block largest frequency
    and shortest field (index/sidecar.py keeps them; Whoosh's blocks have them too)."""
    postings = table.postings
    cache = postings.__dict__.setdefault("_bounds", {})
    key = (unit.field, term, unit.b, w.k1, w.idf_floor)
    if key in cache:
        return cache[key]
    _, tfs, lengths = postings.block_bounds(unit.field, term)
    df = postings.df(unit.field, term)
    if df == 0 or len(tfs) == 0:
        cache[key] = 0.0
        return 0.0
    idf = max(0.0, math.log(postings.live_count / (df + 1))) + w.idf_floor
    tfs = np.asarray(tfs, dtype=np.float64)
    norm = w.k1 * (1 - unit.b + unit.b * np.asarray(lengths, dtype=np.float64) / postings.average_length(unit.field))
    bound = float((idf * tfs * (w.k1 + 1) / (tfs + norm)).max())
    cache[key] = bound
    return bound


def unit_bound(table, w: Weights, unit: Unit) -> float:
    """The most a unit can add to a record's first-stage score (before the named boosts), with a
    margin for float32 rounding."""
    coefficient = w.coefficient(unit.part) * unit.factor
    return coefficient * sum(_term_bound(table, w, unit, t) for t in unit.terms) * (1 + 1e-4) + 1e-6


def _unit_rows(table, unit: Unit, matched: np.ndarray) -> np.ndarray:
    """Matched records a unit can score (for a phrase: those holding its rarest pair)."""
    postings = table.postings
    term = min(unit.terms, key=lambda t: postings.df(unit.field, t))
    ids = postings.ids(unit.field, term)
    if unit.title:
        docs = np.zeros(table.n + 1, dtype=bool)
        docs[ids] = True
        return np.nonzero(docs[table.doc_of] & matched)[0]
    return ids[matched[ids]]


def _score(table, w: Weights, units: list[Unit], rows: np.ndarray, named: np.ndarray, artref: np.ndarray):
    """Exact scores of `rows` (named, artref: masks over every record, or empty for none)."""
    out = parts(table, w, units, rows)
    none = np.zeros(rows.size, dtype=bool)
    out["named"] = named[rows] if named.size else none
    out["artref"] = artref[rows] if artref.size else none
    return combine(w, out, np.ones(rows.size, dtype=bool))


_NONE = np.zeros(0, dtype=bool)
_MARGIN = 1e-4  # relative slack between the float64 bounds and float32 scores


def _candidates(table, w: Weights, units: list[Unit], matched: np.ndarray, forced: np.ndarray, k: int) -> np.ndarray:
    """The matched records that can be among the k best (a superset of them; module docstring).

    Units are taken from the largest bound down, with a lower bound of each record's score (the
    sum of what the units taken so far give it) and θ, a k-th best score: the exact scores of the
    best records by lower bound at checkpoints (after ⅛ of the units, then 4× as many), and the
    k-th largest lower bound once only candidates are updated. While the units
    left could still lift a record nobody has seen into the top k, each unit's records join the
    candidates; after that, the units only add to the candidates, and a candidate whose lower bound
    plus everything left is below θ is dropped."""
    bounds = np.array([unit_bound(table, w, u) for u in units])
    order = np.argsort(-bounds, kind="stable")
    rest = np.concatenate([np.cumsum(bounds[order][::-1])[::-1], [0.0]])  # rest[j]: units j.. in order
    lower = np.zeros(table.n, dtype=np.float64)
    seen = np.zeros(table.n, dtype=bool)
    seen[forced] = True
    is_forced = np.zeros(table.n, dtype=bool)
    is_forced[forced] = True
    theta, j = 0.0, 0

    def kth(values: np.ndarray) -> float:
        return float(np.partition(values, values.size - k)[values.size - k]) if values.size >= k else 0.0

    checkpoint = max(1, len(units) // 8)  # then 4×, 16×, …: exact scoring costs a pass over every unit
    while j < len(units) and rest[j] * (1 + _MARGIN) >= theta:
        unit = units[order[j]]
        weight = w.coefficient(unit.part) * unit.factor
        if len(unit.terms) == 1 and not unit.title:
            ids, contrib = table.postings.bm25(unit.field, unit.terms[0], w.k1, unit.b, w.idf_floor)
            keep = matched[ids]
            rows, contrib = ids[keep], contrib[keep]
        else:
            rows = _unit_rows(table, unit, matched)
            contrib = _unit_scores(table, w, unit, rows)
        lower[rows] += weight * contrib.astype(np.float64)
        seen[rows] = True
        j += 1
        if j == checkpoint:
            # θ from the exact scores of the best records so far: a real k-th score, far above the
            # k-th sum of the units taken so far, so the switch to adding-only comes much earlier
            checkpoint *= 4
            rows = np.nonzero(seen)[0]
            if rows.size >= k:
                best = rows[np.argpartition(-lower[rows], k - 1)[: 2 * k]] if rows.size > 2 * k else rows
                exact = _score(table, w, units, np.sort(best), _NONE, _NONE).astype(np.float64)
                theta = max(theta, kth(exact))
    rows = np.nonzero(seen)[0]
    floor = theta * (1 - _MARGIN)
    while j < len(units) and rows.size > k:
        rows = rows[(lower[rows] * (1 + _MARGIN) + rest[j] >= floor) | is_forced[rows]]
        unit = units[order[j]]
        weight = w.coefficient(unit.part) * unit.factor
        lower[rows] += weight * _unit_scores(table, w, unit, rows).astype(np.float64)
        j += 1
        theta = max(theta, kth(lower[rows]))
        floor = theta * (1 - _MARGIN)
    if j >= len(units):
        rows = rows[(lower[rows] * (1 + _MARGIN) >= floor) | is_forced[rows]]
    return rows


def top_k(
    table,
    w: Weights,
    units: list[Unit],
    matched: np.ndarray,
    named: np.ndarray,
    artref: np.ndarray,
    k: int,
    stats: dict | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(rows, scores) of the k best matched records, best first, ties by row: the same as sorting
    `combine(parts(every record))` over `matched`, without scoring every record (module docstring).
    `named` and `artref` must already be restricted to `matched`."""
    forced = np.nonzero(named | artref)[0]
    total = int(matched.sum())
    if total <= max(2 * k, 256) or not units or w.title_cap > 0:  # a cap breaks the bounds' sum: no pruning
        scored = np.nonzero(matched)[0]
    else:
        scored = _candidates(table, w, units, matched, forced, k)
    scores = _score(table, w, units, scored, named, artref)
    if stats is not None:
        stats.update(matched=total, scored=int(scored.size), units=len(units))
    best = np.lexsort((scored, -scores))[:k]
    return scored[best], scores[best]
