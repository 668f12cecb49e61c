"""One status everywhere (issue 15): for random documents, relations and dates, the status read AS RENDERED —
the document page (HTML), the API JSON, a built index's facet and hit badges, and `kb check --json` — equals
kb.legal.validity's, including dates crossed after the index was built (the index holds timelines)."""

import datetime as dt
import json
import os
import tempfile
from collections import Counter
from pathlib import Path

from bs4 import BeautifulSoup
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index import build
from index.search import SearchService
from kb import config as kbconfig
from kb import vocab
from kb.dates import today_vn
from kb.legal.validity import validity
from kb.model import Document
from kb.store import Store
from kbcli.main import cli
from web import create_app

DAYS = st.integers(min_value=0, max_value=6000).map(lambda n: (dt.date(2012, 1, 1) + dt.timedelta(days=n)).isoformat())
RELATION_TYPES = st.sampled_from(
    [vocab.REL_REPLACES, vocab.REL_REPEALS, vocab.REL_SUSPENDS, vocab.REL_AMENDS, vocab.REL_GUIDES]
)


@st.composite
def corpora(draw):
    """3 to 5 laws with random dates and source statuses, random relations between them, a random date."""
    count = draw(st.integers(min_value=3, max_value=5))
    docs = []
    for i in range(count):
        effective = draw(st.one_of(st.none(), DAYS))
        expires = draw(st.one_of(st.none(), DAYS))
        if effective and expires and expires <= effective:
            expires = None
        docs.append(
            {
                "uid": f"t:{i}",
                "number": f"{10 + i}/2015/QH13",
                "title": f"Luật thử nghiệm số {i} về ngân sách",
                "doc_type": "Luật",
                "issuer": "Quốc hội",
                "issued": "2011-06-01",
                "effective": effective,
                "expires": expires,
                "status": draw(st.sampled_from(vocab.STATUSES)),
                "source_updated": draw(st.one_of(st.none(), DAYS)),
                "text": "Luật này quy định về ngân sách.",
                "relations": [],
            }
        )
    for _ in range(draw(st.integers(min_value=0, max_value=5))):
        a, b = draw(st.integers(0, count - 1)), draw(st.integers(0, count - 1))
        if a != b:
            note = draw(st.sampled_from([None, None, "Điều 2"]))
            docs[a]["relations"].append(
                {"type": draw(RELATION_TYPES), "target_number": docs[b]["number"], "note": note}
            )
    return docs, draw(st.one_of(DAYS, st.just(None)))


def _instance(folder: Path, docs: list[dict]) -> kbconfig.Config:
    conf = kbconfig.load(folder, environ={})
    with Store(conf.db_path) as store:
        for data in docs:
            store.upsert(Document.from_dict(data))
        build.rebuild(store, conf.index_dir)
    return conf


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(corpora())
def test_the_status_rendered_everywhere_is_the_one_validity_gives(case):
    docs, on = case
    day = on or today_vn().isoformat()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "instance"
        conf = _instance(folder, docs)
        with Store(conf.db_path) as store:
            expected = {d["uid"]: validity(store, store.get(d["uid"]), day).status for d in docs}

        client = create_app({"INSTANCE": str(folder), "TESTING": True, "SITE_URL_SET": False}).test_client()
        suffix = f"?taingay={on}" if on else ""
        for uid, status in expected.items():
            page = BeautifulSoup(client.get(f"/van-ban/{uid}{suffix}").get_data(as_text=True), "html.parser")
            assert page.select_one(".doc-status .badge").get_text(strip=True) == status, uid
            api = client.get(f"/api/documents/{uid}{suffix}").get_json()
            assert (api["status"], api["validity"]["on"]) == (status, day), uid

        service = SearchService(conf.index_dir)
        try:
            result = service.search("ngân sách", on=on)
            assert result.on == day
            assert dict(result.facets["status"]) == dict(Counter(expected.values()))
            assert {h.uid: h.status for h in result.hits} == expected
            for status in set(expected.values()):
                found = service.search(f'ngân sách hieuluc:"{status}"', on=on, per_page=100)
                assert sorted(h.uid for h in found.hits) == sorted(u for u, s in expected.items() if s == status)
        finally:
            service.close()

        draft = "\n".join(f"Căn cứ Luật số {d['number']};" for d in docs)
        env = {"KB_INSTANCE": str(folder)}
        old = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("KB_")}
        try:
            out = CliRunner(env=env).invoke(cli, ["check", "-", "--json", "--on", day], input=draft)
        finally:
            os.environ.update(old)
        assert out.exit_code in (0, 3), out.output
        report = json.loads(out.output)
        rendered = {c["document"]["uid"]: c["document"]["status"] for c in report["citations"] if c["document"]}
        assert rendered == expected
        assert (out.exit_code == 3) == (report["counts"]["error"] > 0)
