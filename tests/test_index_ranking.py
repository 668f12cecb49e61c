"""Pruned ranking (index/ranking.py) gives exactly the top k of exhaustive scoring.

A generated corpus (Zipf-distributed Vietnamese syllables, so that common words are in most
articles and rare ones in a few, as in legal text) is indexed once; random queries of every class
(words, phrases, questions, named articles, filters, excluded words, both units, deeper pages) are
run through SearchService with pruning and with every record scored, and must give the same hits,
scores and totals. The pruning must also have skipped work on some of them, or the test proves
nothing.
"""

import random

import numpy as np
import pytest

from index import build, ranking
from index.query import parse
from index.search import SearchService
from kb.model import Document
from kb.store import Store

SYLLABLES = (
    "của và các được trong cho người theo quy định này đơn vị hành chính nhà nước tổ chức cơ quan "
    "quyền hạn nhiệm vụ ngân sách địa phương thuế phí lệ đất đai xây dựng giáo dục y tế bảo hiểm xã hội "
    "lao động việc làm tài sản công chức viên kỷ luật khen thưởng thanh tra khiếu nại tố cáo hộ tịch "
    "quốc phòng an ninh trật tự giao thông đường bộ thủy lợi rừng khoáng sản môi trường nước sạch điện "
    "doanh nghiệp đầu tư hợp đồng bồi thường giải phóng mặt bằng tái định cư trẻ em người cao tuổi"
).split()


def _text(rng: random.Random, words: int) -> str:
    weights = [1 / (rank + 1) for rank in range(len(SYLLABLES))]
    return " ".join(rng.choices(SYLLABLES, weights=weights, k=words))


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    rng = random.Random(17)
    root = tmp_path_factory.mktemp("ranking")
    store = Store(root / "kb.sqlite")
    docs = []
    for i in range(300):
        kind = rng.choice(["Luật", "Nghị định", "Thông tư", "Nghị quyết"])
        articles = [
            {"number": str(n), "heading": _text(rng, rng.randint(2, 8)), "text": _text(rng, rng.randint(15, 120))}
            for n in range(1, rng.randint(3, 12))
        ]
        docs.append(
            Document.from_dict(
                {
                    "uid": f"test:{i}",
                    "number": f"{i + 1}/{2000 + i % 25}/QH14",
                    "title": f"{kind} {_text(rng, rng.randint(3, 9))}",
                    "issuer": "Quốc hội",
                    "issued": f"{2000 + i % 25}-0{1 + i % 9}-15",
                    "doc_type": kind,
                    "status": "Còn hiệu lực",
                    "articles": articles,
                }
            )
        )
    store.upsert_many(docs)
    build.rebuild(store, root / "index", procs=1)
    return root / "index"


def _queries(rng: random.Random) -> list[tuple[str, dict, str, int]]:
    out = []
    for _ in range(60):
        words = rng.sample(SYLLABLES, rng.randint(1, 4))
        shape = rng.random()
        if shape < 0.2:
            q = f'"{" ".join(words[:2])}"' + (f" {words[2]}" if len(words) > 2 else "")
        elif shape < 0.4:  # a question: many words, a share of them is enough
            q = " ".join(rng.sample(SYLLABLES, rng.randint(8, 16))) + " như thế nào?"
        elif shape < 0.5:
            q = f"Điều {rng.randint(1, 6)} " + " ".join(words)
        elif shape < 0.6 and len(words) > 1:
            q = f"{words[0]} -{words[1]}"
        else:
            q = " ".join(words)
        filters = {"doc_type": [rng.choice(["Luật", "Nghị định"])]} if rng.random() < 0.2 else {}
        out.append((q, filters, rng.choice(["document", "article"]), rng.choice([1, 1, 1, 3])))
    return out


def test_pruned_top_k_is_the_exhaustive_top_k(service):
    pruned, exhaustive = SearchService(service, prune=True), SearchService(service, prune=False)
    rng = random.Random(3)
    skipped = 0
    for q, filters, unit, page in _queries(rng):
        a = pruned.search(q, filters=filters, unit=unit, page=page, per_page=5)
        stats = dict(pruned.last_stats)
        b = exhaustive.search(q, filters=filters, unit=unit, page=page, per_page=5)
        assert [(h.uid, h.anchor, h.score) for h in a.hits] == [(h.uid, h.anchor, h.score) for h in b.hits], q
        assert (a.total, a.facets) == (b.total, b.facets), q
        if stats and stats["scored"] < stats["matched"]:
            skipped += 1
    assert skipped >= 10  # the pruning did skip records on many queries


def test_top_k_equals_sorting_every_score(service):
    """The function itself, on k values small and large, against combine(parts(every record))."""
    svc = SearchService(service)
    svc.search("khởi động")
    table = svc._state().table
    w = svc.weights
    rng = random.Random(5)
    for _ in range(25):
        parsed = parse(" ".join(rng.sample(SYLLABLES, rng.randint(1, 10))))
        units = ranking.plan(w, parsed, lambda t: 1.0)
        matched = ranking.match(table, w, parsed, strict=rng.random() < 0.5)
        named = np.zeros(table.n, dtype=bool)
        artref = np.zeros(table.n, dtype=bool)
        every = ranking.parts(table, w, units)
        every["named"], every["artref"] = named, artref
        totals = ranking.combine(w, every, matched)
        rows = np.nonzero(matched)[0]
        expected = rows[np.lexsort((rows, -totals[rows]))]
        for k in (1, 5, 40, 400):
            got, scores = ranking.top_k(table, w, units, matched, named, artref, k)
            assert got.tolist() == expected[:k].tolist()
            assert scores.tolist() == totals[expected[:k]].tolist()


def test_a_bound_is_never_below_what_a_unit_gives(service):
    svc = SearchService(service)
    svc.search("khởi động")
    table = svc._state().table
    w = svc.weights
    for word in SYLLABLES[:40]:
        for unit in ranking.plan(w, parse(f"{word} {SYLLABLES[-1]}"), lambda t: 1.0):
            given = w.coefficient(unit.part) * unit.factor * ranking._unit_scores(table, w, unit, None)
            assert float(given.max(initial=0.0)) <= ranking.unit_bound(table, w, unit)


def test_by_default_only_a_large_index_is_pruned(service, monkeypatch):
    from index import search

    svc = SearchService(service)
    svc.search("của")
    assert "scored" not in svc.last_stats  # ~2,000 records: every matched record scored
    monkeypatch.setattr(search, "PRUNE_FROM", 1000)
    svc.search("của")
    assert svc.last_stats["matched"] > svc.last_stats["scored"] > 0
