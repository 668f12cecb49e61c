"""The search page: one box, the whole state in the URL, hits, facets, dates, sort, pages, the
no-results page, a số ký hiệu going straight to its document, the help panel, CSV export."""

import csv
import io
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from web_fixtures import (  # noqa: F401
    AMENDMENT,
    DECREE,
    FILLERS,
    LAW,
    REPLACEMENT,
    RESOLUTION,
    XSS,
    XSS_TEXT,
    app,
    client,
    kb_instance,
    page,
    texts,
)

from index.query import parse


def hits(tree):
    return tree.select("ol.hits > li.hit")


def numbers(tree):
    return texts(tree.select("li.hit .hit-number"))


def query_of(url: str) -> dict:
    return parse_qs(urlsplit(url).query)


def test_home_lists_every_document_with_focus_in_the_search_box(client):
    tree = page(client, "/")
    box = tree.select_one("form.search-form input[name=q]")
    assert box.has_attr("autofocus") and box["type"] == "search"
    assert tree.select_one("form.search-form")["method"] == "get"
    assert "Tất cả 31 văn bản" in tree.select_one(".results-count").get_text()
    assert len(hits(tree)) == 20
    assert tree.select_one("nav.pagination a[rel=next]")


def test_hit_shows_number_type_issuer_date_status_and_snippet_linking_to_the_article(client):
    tree = page(client, "/tim-kiem?q=khung+học+phí")
    first = {n: h for n, h in zip(numbers(tree), hits(tree))}
    hit = first["43/2019/QH14"]
    assert hit.select_one(".hit-title a")["href"] == f"/van-ban/{LAW}"
    assert hit.select_one(".hit-type").get_text() == "Luật"
    assert hit.select_one(".hit-issuer").get_text() == "Quốc hội"
    assert hit.select_one(".hit-issued time").get_text() == "14/06/2019"
    badge = hit.select_one(".badge")
    assert badge.get_text() == "Còn hiệu lực" and "badge-in-force" in badge["class"]
    excerpt = hit.select_one("a.excerpt")
    assert excerpt["href"] == f"/van-ban/{LAW}#dieu-99"
    assert "Điều 99" in excerpt.select_one(".excerpt-article").get_text()
    marks = [m.get_text().lower() for m in excerpt.select(".snippet mark")]
    assert "khung học phí" in marks  # consecutive marked syllables share one <mark>


def test_status_badges_have_one_colour_class_per_status(client):
    tree = page(client, "/tim-kiem?q=học+phí")
    classes = {b.get_text(): [c for c in b["class"] if c.startswith("badge-")] for b in tree.select("li.hit .badge")}
    assert classes["Hết hiệu lực một phần"] == ["badge-partly"]
    assert classes["Hết hiệu lực toàn bộ"] == ["badge-expired"]
    assert classes["Chưa có hiệu lực"] == ["badge-not-yet"]


def test_state_lives_in_the_url_and_the_form_echoes_it(client):
    url = "/tim-kiem?q=học+phí&loai=Nghị+quyết&tu=2023-01-01&den=2024-12-31&sort=issued&unit=article"
    tree = page(client, url)
    form = tree.select_one("form.search-form")
    assert form.select_one("input[name=q]")["value"] == "học phí"
    assert form.select_one("input[type=hidden][name=loai]")["value"] == "Nghị quyết"
    assert form.select_one("input[name=tu]")["value"] == "01/01/2023"
    assert form.select_one("input[name=den]")["value"] == "31/12/2024"
    assert form.select_one("select[name=sort] option[selected]")["value"] == "issued"
    assert form.select_one("input[name=unit][checked]")["value"] == "article"
    chips = texts(tree.select("ul.chips a.chip"))
    assert any("Nghị quyết" in c for c in chips) and any("2023-01-01" in c for c in chips)


def test_facets_have_counts_and_combine_with_the_query(client):
    tree = page(client, "/tim-kiem?q=học+phí")
    facet = tree.select_one('section.facet[data-facet="loai"]')
    values = {
        a.select_one(".facet-label").get_text(): int(a.select_one(".count").get_text())
        for a in facet.select("a.facet-value")
    }
    assert values == {"Nghị quyết": 3, "Luật": 1, "Nghị định": 1}
    link = next(a for a in facet.select("a.facet-value") if "Nghị quyết" in a.get_text())
    assert query_of(link["href"]) == {"q": ["học phí"], "loai": ["Nghị quyết"]}

    narrowed = page(client, link["href"])
    assert sorted(numbers(narrowed)) == ["05/2023/NQ-HĐND", "12/2024/NQ-HĐND", "20/2025/NQ-HĐND"]
    selected = narrowed.select_one('section.facet[data-facet="loai"] a.facet-value.selected')
    assert "Nghị quyết" in selected.get_text() and selected["aria-current"] == "true"
    assert query_of(selected["href"]) == {"q": ["học phí"]}  # clicking again removes it
    status = {
        a.select_one(".facet-label").get_text(): int(a.select_one(".count").get_text())
        for a in narrowed.select('section.facet[data-facet="hieuluc"] a.facet-value')
    }
    assert status == {"Còn hiệu lực": 1, "Chưa có hiệu lực": 1, "Hết hiệu lực toàn bộ": 1}


def test_two_facets_and_a_scope_facet(client):
    tree = page(client, "/tim-kiem?q=học+phí&phamvi=Trung+ương&hieuluc=Còn+hiệu+lực")
    assert numbers(tree) == ["43/2019/QH14"]


def test_facet_value_unknown_gives_a_normal_page_with_no_results(client):
    tree = page(client, "/tim-kiem?q=học+phí&loai=Không+có+loại+này")
    assert not hits(tree)
    assert "Không tìm thấy" in tree.select_one(".results-count").get_text()
    selected = tree.select_one('section.facet[data-facet="loai"] a.facet-value.selected')
    assert "Không có loại này" in selected.get_text()  # still shown, so it can be removed
    suggestion = tree.select_one("li.suggestion-nofilters a")
    assert query_of(suggestion["href"]) == {"q": ["học phí"]}


def test_date_range_filters_on_ngay_ban_hanh(client):
    tree = page(client, "/tim-kiem?q=học+phí&tu=01/01/2023&den=31/12/2024")
    assert sorted(numbers(tree)) == ["05/2023/NQ-HĐND", "12/2024/NQ-HĐND"]
    only_from = page(client, "/tim-kiem?q=học+phí&tu=2024-01-01")
    assert sorted(numbers(only_from)) == ["12/2024/NQ-HĐND", "20/2025/NQ-HĐND"]


def test_sort_by_date(client):
    tree = page(client, "/tim-kiem?q=học+phí&sort=issued")
    assert numbers(tree) == ["20/2025/NQ-HĐND", "12/2024/NQ-HĐND", "05/2023/NQ-HĐND", "81/2021/NĐ-CP", "43/2019/QH14"]


def test_article_unit_lists_articles_with_anchors(client):
    tree = page(client, "/tim-kiem?q=học+phí&unit=article")
    links = [a["href"] for a in tree.select("li.hit a.excerpt")]
    assert f"/van-ban/{LAW}#dieu-99" in links and f"/van-ban/{LAW}#dieu-100" in links
    assert "điều" in tree.select_one(".results-count").get_text()


def test_pagination_keeps_the_state(client):
    first = page(client, "/tim-kiem?q=bến+xe&loai=Quyết+định")
    assert f"Tìm thấy {FILLERS} văn bản" in first.select_one(".results-count").get_text()
    assert len(hits(first)) == 20
    nxt = first.select_one("nav.pagination a[rel=next]")["href"]
    assert query_of(nxt) == {"q": ["bến xe"], "loai": ["Quyết định"], "page": ["2"]}
    second = page(client, nxt)
    assert len(hits(second)) == FILLERS - 20
    assert second.select_one("ol.hits")["start"] == "21"
    assert not set(numbers(first)) & set(numbers(second))
    assert second.select_one("nav.pagination .current").get_text() == "2"
    assert second.find("link", rel="prev")


def test_page_past_the_end_says_so(client):
    tree = page(client, "/tim-kiem?q=bến+xe&page=9")
    assert not hits(tree)
    notice = [n for n in tree.select("p.notice") if "Trang 9 không có kết quả" in n.get_text()]
    assert notice and notice[0].a["href"] == "/tim-kiem?q=b%E1%BA%BFn+xe"


def test_a_number_goes_straight_to_the_document(client):
    for query in ("05/2023/NQ-HĐND", "05/2023/nq-hdnd", "số 05/2023/NQ-HĐND"):
        response = client.get("/tim-kiem", query_string={"q": query})
        assert response.status_code == 302, query
        assert response.headers["Location"] == f"/van-ban/{RESOLUTION}"


def test_a_number_with_filters_shows_the_exact_match_box(client):
    tree = page(client, "/tim-kiem?q=05/2023/NQ-HĐND&nam=2023")
    exact = tree.select_one("div.exact a")
    assert exact["href"] == f"/van-ban/{RESOLUTION}"


def test_a_number_not_stored_is_a_normal_search(client):
    tree = page(client, "/tim-kiem?q=77/2015/QH13")
    assert not tree.select("div.exact")


def test_fallback_says_that_not_every_word_matched(client):
    tree = page(client, "/tim-kiem?q=học+phí+xyzzyq")
    assert tree.select_one("p.fallback")
    assert hits(tree)


def test_no_results_suggests_without_diacritics_and_fewer_words(client):
    tree = page(client, '/tim-kiem?q="học+phí+bến+xe"')
    assert not hits(tree)
    no_results = tree.select_one("div.no-results")
    assert no_results.select_one(".query").get_text() == '"học phí bến xe"'
    plain = no_results.select_one("li.suggestion-nodiacritics a")
    assert query_of(plain["href"]) == {"q": ['"hoc phi ben xe"']}
    fewer = {
        query_of(a["href"])["q"][0]: a.find_next_sibling("span").get_text()
        for a in no_results.select("li.suggestion-fewer a")
    }
    assert fewer == {"học phí": "(5 kết quả)"}  # the only shorter query whose every word is found
    narrower = page(client, no_results.select_one("li.suggestion-fewer a")["href"])
    assert len(narrower.select("li.hit")) == 5 and not narrower.select("p.fallback")
    assert not no_results.select("li.suggestion-unquoted")  # unquoted, no document has all four words
    assert not tree.select(".exports")  # nothing to export


def test_no_results_for_a_phrase_suggests_the_words(client):
    tree = page(client, '/tim-kiem?q="phí+học"')
    unquoted = tree.select_one("li.suggestion-unquoted a")
    assert query_of(unquoted["href"]) == {"q": ["phí học"]}
    assert tree.select_one("li.suggestion-unquoted span").get_text() == "(5 kết quả)"


def test_no_results_because_of_filters_suggests_removing_them(client):
    tree = page(client, "/tim-kiem?q=học+phí&nam=2018")
    assert not hits(tree)
    suggestion = tree.select_one("li.suggestion-nofilters")
    assert query_of(suggestion.a["href"]) == {"q": ["học phí"]}
    assert suggestion.span.get_text() == "(5 kết quả)"


def test_help_panel_explains_the_syntax_and_its_examples_parse(client):
    tree = page(client, "/")
    help_panel = tree.select_one("details.help")
    assert "Cách viết câu tìm kiếm" in help_panel.summary.get_text()
    examples = [c.get_text() for c in help_panel.select("code")]
    for needle in ('"hội đồng nhân dân"', 'học phí -"mầm non"', "nam:2020..2025", 'loai:"Nghị quyết"'):
        assert needle in examples
    for example in examples:
        parse(example)  # no QueryError: every example the help shows works
        assert client.get("/tim-kiem", query_string={"q": example}).status_code in (200, 302)


def test_head_advertises_the_feed_the_json_and_opensearch(client):
    tree = page(client, "/tim-kiem?q=học+phí&loai=Luật")
    feed = tree.find("link", rel="alternate", type="application/atom+xml")
    assert urlsplit(feed["href"]).path == "/tim-kiem.atom"
    assert query_of(feed["href"]) == {"q": ["học phí"], "loai": ["Luật"]}
    assert tree.find("link", rel="search")["href"] == "/opensearch.xml"
    assert urlsplit(tree.find("link", rel="alternate", type="application/json")["href"]).path == "/api/search"


def test_scraped_html_is_shown_as_text(client):
    tree = page(client, "/tim-kiem?q=tham+quan")
    assert not tree.find("script", src=False)
    assert not tree.find("b", string="danh thắng") and not tree.find("img", src="x")
    hit = next(h for h in hits(tree) if h.select_one(".hit-title a")["href"] == f"/van-ban/{XSS}")
    assert XSS_TEXT in hit.select_one(".hit-title").get_text()
    assert XSS_TEXT in hit.select_one(".snippet").get_text()
    assert {m.get_text() for m in hit.select(".snippet mark")} == {"tham quan"}


def test_csv_export_of_the_result_list(client):
    response = client.get("/tim-kiem.csv?q=bến+xe")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")  # Excel reads UTF-8 only with a BOM
    rows = list(csv.DictReader(io.StringIO(body[1:])))
    assert len(rows) == FILLERS  # every result, not one page
    assert list(rows[0])[:3] == ["Số ký hiệu", "Loại văn bản", "Trích yếu"]  # columns named for people
    assert rows[0]["Loại văn bản"] == "Quyết định"
    assert rows[0]["Địa chỉ trên trang"].startswith("http://localhost/van-ban/vbpl:9")
    articles = list(
        csv.DictReader(io.StringIO(client.get("/tim-kiem.csv?q=học+phí&unit=article").get_data(as_text=True)[1:]))
    )
    law_rows = [r for r in articles if r["Số ký hiệu"] == "43/2019/QH14"]
    assert {r["Điều"] for r in law_rows} >= {"99", "100"}
    assert any(r["Địa chỉ trên trang"].endswith("#dieu-99") for r in law_rows)


def test_csv_cells_never_start_a_formula(client, app):
    from kb.tables import safe_cell

    assert safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)" and safe_cell("15/2025/NQ-HĐND") == "15/2025/NQ-HĐND"


@pytest.mark.parametrize("link_text", ["Tải CSV", "Nguồn tin Atom", "JSON"])
def test_export_links_answer(client, link_text):
    tree = page(client, "/tim-kiem?q=học+phí")
    link = tree.select_one(".exports").find("a", string=link_text)
    assert client.get(link["href"]).status_code == 200


def test_a_question_typed_without_diacritics_is_searched_with_them_and_says_so(client):
    """A long question without any diacritic is searched as the restored question (index/diacritics.py):
    the page says how it was read, the hit is the article that answers it, and the box keeps what was typed."""
    typed = "Hoi dong nhan dan cap tinh quyet dinh khung hoc phi doi voi co so giao duc nao?"
    tree = page(client, "/tim-kiem?" + urlencode({"q": typed, "unit": "article"}))
    notice = tree.select_one("p.notice.restored")
    assert notice is not None
    assert "Hội đồng nhân dân cấp tỉnh quyết định khung học phí" in notice.get_text()
    assert tree.select_one("input[name=q]")["value"] == typed
    assert "Điều 99" in hits(tree)[0].get_text()
    short = page(client, "/tim-kiem?" + urlencode({"q": "hoc phi"}))
    assert short.select_one("p.notice.restored") is None  # keywords are matched folded, not guessed at
    data = client.get("/api/search?" + urlencode({"q": typed})).get_json()
    assert data["restored"].startswith("Hội đồng nhân dân cấp tỉnh")
    assert client.get("/api/search?" + urlencode({"q": "hoc phi"})).get_json()["restored"] == ""
    # a query with search operators is left as typed (their names and values are not guessed at)
    operators = client.get("/api/search?" + urlencode({"q": typed + " loai:luat"})).get_json()
    assert operators["restored"] == "" and operators["total"] >= 1
