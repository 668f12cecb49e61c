"""The search's learned second stage (index/rerank.py, `SearchService._rerank`): the shipped model, its features, the fallback."""

import json
import sys
from dataclasses import replace

import numpy as np
import pytest

from index import build, rerank
from index.query import parse
from index.search import WEIGHTS, SearchService
from kb.model import Document
from kb.store import Store

LAW = Document.from_dict(
    {
        "uid": "vbpl:bhyt",
        "number": "25/2008/QH12",
        "title": "Luật Bảo hiểm y tế",
        "issuer": "Quốc hội",
        "issued": "2008-11-14",
        "status": "Còn hiệu lực",
        "doc_type": "Luật",
        "articles": [
            {
                "number": "1",
                "heading": "Phạm vi điều chỉnh",
                "text": "Luật này quy định về chế độ, chính sách bảo hiểm y tế.",
            },
            {
                "number": "2",
                "heading": "Giải thích từ ngữ",
                "text": "Trong Luật này, các từ ngữ dưới đây được hiểu như sau: 1. Bảo hiểm y tế là hình thức bảo hiểm "
                "bắt buộc được áp dụng đối với các đối tượng theo quy định của Luật này để chăm sóc sức khỏe.",
            },
            {
                "number": "16",
                "heading": "Thẻ bảo hiểm y tế",
                "text": "Thẻ bảo hiểm y tế được cấp cho người tham gia bảo hiểm y tế và làm căn cứ để được hưởng "
                "các quyền lợi về bảo hiểm y tế. Mỗi người chỉ được cấp một thẻ bảo hiểm y tế.",
            },
            {
                "number": "17",
                "heading": "Cấp thẻ bảo hiểm y tế",
                "text": "Hồ sơ cấp thẻ bảo hiểm y tế gồm văn bản đăng ký tham gia bảo hiểm y tế. Trong thời hạn 05 "
                "ngày làm việc, tổ chức bảo hiểm xã hội phải cấp thẻ bảo hiểm y tế cho người tham gia.",
            },
        ],
    }
)


@pytest.fixture(scope="module")
def index_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rerank")
    store = Store(folder / "kb.sqlite")
    store.upsert(LAW)
    build.rebuild(store, folder / "index")
    store.close()
    return folder / "index"


def articles(service, q):
    return [h.article_number for h in service.search(q, unit="article", facets=False, snippets=False).hits]


def one_split(feature: str, threshold: float, low: float, high: float) -> dict:
    """A model of one tree: candidates whose `feature` is at most `threshold` score `low`, others `high`."""
    dump = {
        "tree_info": [
            {
                "tree_structure": {
                    "split_feature": rerank.FEATURES.index(feature),
                    "threshold": threshold,
                    "decision_type": "<=",
                    "left_child": {"leaf_value": low},
                    "right_child": {"leaf_value": high},
                }
            }
        ]
    }
    return rerank.from_lightgbm(dump)


def test_the_shipped_model_loads_and_matches_the_features():
    model = rerank.load()
    assert model is not None, "index/rerank_model.json is package data and must be present"
    assert model.roots.size > 10 and model.info["by"] == "bench/ltr.py"
    assert set(model.info["trained_on"]) == {"alqac", "zalo21"}
    used = set(model.feature[model.feature >= 0].tolist())
    assert rerank.FEATURES.index("first_score") in used and rerank.FEATURES.index("cover_body") in used


def test_trees_are_evaluated_as_lightgbm_writes_them():
    model = rerank.Model(one_split("cover_head", 0.5, -1.0, 2.0))
    x = np.zeros((3, len(rerank.FEATURES)))
    x[:, rerank.FEATURES.index("cover_head")] = [0.1, 0.5, 0.9]
    assert model.predict(x).tolist() == [-1.0, -1.0, 2.0]  # `<=` goes left, as in LightGBM
    dump = {
        "tree_info": [  # two trees add up
            {
                "tree_structure": {
                    "split_feature": rerank.FEATURES.index("cover_head"),
                    "threshold": 0.5,
                    "decision_type": "<=",
                    "left_child": {"leaf_value": -1.0},
                    "right_child": {"leaf_value": 2.0},
                }
            },
            {
                "tree_structure": {
                    "split_feature": rerank.FEATURES.index("first_rank"),
                    "threshold": 0.0,
                    "decision_type": "<=",
                    "left_child": {"leaf_value": 0.5},
                    "right_child": {"leaf_value": 0.0},
                }
            },
        ]
    }
    x[:, rerank.FEATURES.index("first_rank")] = [0.0, 1.0, 2.0]
    assert rerank.Model(rerank.from_lightgbm(dump)).predict(x).tolist() == [-0.5, -1.0, 2.0]


def test_features_read_the_candidates_text(index_dir):
    service = SearchService(index_dir, check_interval=0, model=None)
    state = service._state()
    table = state.table
    rows = [i for i in range(table.n) if table.kind[i] == 2]
    top = np.array(rows)
    x = rerank.features(
        state.searcher,
        table,
        top,
        np.linspace(1, 0.5, top.size),
        parse("thẻ bảo hiểm y tế được cấp cho ai?"),
        table.postings,
        {},
    )
    col = {name: x[:, i] for i, name in enumerate(rerank.FEATURES)}
    heads = [state.searcher.stored_fields(int(r))["art_heading"] for r in top]
    card = heads.index("Thẻ bảo hiểm y tế")
    scope = heads.index("Phạm vi điều chỉnh")
    assert col["cover_head"][card] > col["cover_head"][scope] == 0.0
    assert col["triples"][card] > 0 and col["pairs"][card] >= col["pairs"][scope]
    assert col["first_score"][0] == 1.0 and col["same_doc"].tolist() == [top.size / rerank.SAME_DOC] * top.size
    assert col["bm25_head"][card] > 0.5 and col["bm25_head"][scope] == 0.0 and col["bm25_head"].max() == 1.0
    assert set(col["doc_type"]) == {rerank.DOC_TYPES.index("Luật") + 1}


def test_a_model_reorders_the_candidates_and_its_absence_falls_back(index_dir, tmp_path):
    q = "cấp thẻ bảo hiểm y tế trong thời hạn bao lâu"
    lexical = articles(SearchService(index_dir, check_interval=0, model=None), q)
    assert lexical[0] == "17"
    # a model that ranks short articles (fewest syllables) first puts article 1 first
    path = tmp_path / "model.json"
    path.write_text(json.dumps(one_split("length", 3.0, 0.0, 0.0)))
    flat = rerank.load(path)
    shortest = rerank.Model(one_split("length", 3.2, 1.0, -1.0))
    assert flat is not None
    assert articles(SearchService(index_dir, check_interval=0, model=flat), q) == lexical  # ties keep the first stage
    assert articles(SearchService(index_dir, check_interval=0, model=shortest), q)[0] == "1"
    # absent, or written for other features: the lexical re-rank
    assert rerank.load(tmp_path / "absent.json") is None
    other = dict(json.loads(path.read_text()), features=["something", "else"])
    path.write_text(json.dumps(other))
    assert rerank.load(path) is None
    assert articles(SearchService(index_dir, check_interval=0, model=rerank.load(path)), q) == lexical


def test_the_shipped_model_ranks_the_answer_first_without_lightgbm(index_dir):
    service = SearchService(index_dir, check_interval=0)
    assert service.model is not None
    assert articles(service, "cấp thẻ bảo hiểm y tế trong thời hạn bao lâu")[0] == "17"
    assert articles(service, "bảo hiểm y tế là gì?")[0] == "2"
    assert "lightgbm" not in sys.modules  # evaluating the trees needs numpy only


def test_definition_questions_point_to_the_definitions_article(index_dir):
    from index.intents import heading_hints
    from kb.text import fold

    for q in ("Thế nào là bảo hiểm y tế?", "Như thế nào là bảo hiểm y tế?", "Khái niệm bảo hiểm y tế", "BHYT là gì?"):
        assert heading_hints(q) == ["giải thích từ ngữ"], q
        assert heading_hints(fold(q)) == ["giải thích từ ngữ"], q  # typed without diacritics
    # "như thế nào là hợp pháp" inside a question asks for conditions, not for a definition
    assert heading_hints("Di chúc của người không biết chữ như thế nào là hợp pháp?") == []
    service = SearchService(index_dir, check_interval=0)
    assert articles(service, "Thế nào là bảo hiểm y tế?")[0] == "2"
    assert articles(service, "Khái niệm bảo hiểm y tế")[0] == "2"


def test_abbreviations_are_searched_spelled_out_too(index_dir):
    from index import abbreviations

    table = {"bhyt": "bảo hiểm y tế", "ubnd": "ủy ban nhân dân"}
    assert abbreviations.expand("Thẻ BHYT cấp ở đâu?", table) == 'Thẻ BHYT OR "bảo hiểm y tế" cấp ở đâu?'
    # inside a số ký hiệu, lower case, or unknown: left alone
    assert abbreviations.expand("Quyết định 12/UBND-NC và NQ-UBND", table) == "Quyết định 12/UBND-NC và NQ-UBND"
    assert abbreviations.expand("bhyt và XYZW", table) == "bhyt và XYZW"
    assert abbreviations.shipped()["bhyt"] == "bao hiem y te"  # learned from the corpora (bench/abbreviations.py)
    spelled = SearchService(index_dir, check_interval=0, weights=replace(WEIGHTS, abbreviations=True))
    assert articles(spelled, "cấp thẻ BHYT trong thời hạn bao lâu")[0] == "17"
    # no article writes "BHYT": as written, nothing matches every word (the search falls back to any word)
    assert SearchService(index_dir, check_interval=0).search("thẻ BHYT", unit="article").fallback  # off by default
    result = spelled.search("thẻ BHYT", unit="article")
    assert not result.fallback and result.hits[0].article_heading == "Thẻ bảo hiểm y tế"


def test_remembered_texts_give_the_same_features_and_stay_bounded(index_dir, monkeypatch):
    service = SearchService(index_dir, check_interval=0, model=None)
    state = service._state()
    table = state.table
    top = np.array([i for i in range(table.n) if table.kind[i] == 2])
    query = parse("hồ sơ cấp thẻ bảo hiểm y tế gồm những gì?")
    scores = np.linspace(1, 0.5, top.size)
    first = rerank.features(state.searcher, table, top, scores, query, table.postings)
    cache = table.shared["rerank_texts"]
    assert set(cache) == {"chars", *map(int, top)} and cache["chars"] > 0
    assert np.array_equal(rerank.features(state.searcher, table, top, scores, query, table.postings), first)
    monkeypatch.setattr(rerank, "CACHE_CHARS", 200)  # about one article: the cache starts again when full
    table.shared.pop("rerank_texts")
    assert np.array_equal(rerank.features(state.searcher, table, top, scores, query, table.postings), first)
    small = table.shared["rerank_texts"]
    assert len(small) == 2 and small["chars"] < 400  # the count and the last article read
