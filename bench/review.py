"""Speed of the rà soát list (kb/legal/review.py, web/review.py) on a synthetic store shaped like a
province's: N own documents (Nghị quyết of the HĐND and Quyết định of the UBND of Lai Châu, each with a
real-shaped preamble citing 2–4 bases by name and date or by number) in a store of M documents (central
laws with replacement and amendment chains, decrees, other provinces' documents as filler).

    .venv/bin/python bench/review.py /tmp/review-bench --own 3000 --total 50000   # builds it once
    .venv/bin/python bench/review.py /tmp/review-bench                             # measures again

Prints one line per measurement (seconds): the full recomputation (`kb review rebuild`), an incremental
update after a replacing law is imported, the page /ra-soat (first load after start and the next, all
3,000 documents and one Ban), the CSV and DOCX exports and `kb review --json` in process.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from kb import config as kbconfig  # noqa: E402
from kb.legal import derived  # noqa: E402
from kb.legal.review import DERIVATION, stored_entries  # noqa: E402
from kb.model import Document  # noqa: E402
from kb.store import Store  # noqa: E402
from kbcli.main import cli  # noqa: E402
from web import create_app  # noqa: E402

FIELDS = ["Tài chính nhà nước", "Giáo dục", "Đất đai", "Y tế", "Đầu tư", "Nội vụ", "Văn hóa", "Nông nghiệp"]


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    print(f"{label:<62} {time.perf_counter() - start:8.3f} s", flush=True)
    return result


def central(n: int) -> list[dict]:
    """Laws in generations: law k of year 2015 replaced by its 2025 successor, some amended; decrees."""
    docs = []
    for k in range(n):
        old, new = f"{100 + k}/2015/QH13", f"{100 + k}/2025/QH15"
        name = f"Luật Lĩnh vực thử {k}"
        docs.append(
            {
                "uid": f"bench:law-{k}",
                "number": old,
                "title": name,
                "doc_type": "Luật",
                "issuer": "Quốc hội",
                "issued": "2015-06-19",
                "effective": "2016-01-01",
                "status": "Còn hiệu lực",
            }
        )
        if k % 3 == 0:
            docs.append(
                {
                    "uid": f"bench:law-{k}-2025",
                    "number": new,
                    "title": name,
                    "doc_type": "Luật",
                    "issuer": "Quốc hội",
                    "issued": "2025-02-19",
                    "effective": "2025-07-01",
                    "status": "Còn hiệu lực",
                    "relations": [{"type": "thay_the", "target_number": old}],
                }
            )
        elif k % 3 == 1:
            docs.append(
                {
                    "uid": f"bench:law-{k}-amend",
                    "number": f"{300 + k}/2022/QH15",
                    "title": f"Luật sửa đổi, bổ sung một số điều của {name}",
                    "doc_type": "Luật",
                    "issuer": "Quốc hội",
                    "issued": "2022-01-11",
                    "effective": "2022-03-01",
                    "status": "Còn hiệu lực",
                    "relations": [{"type": "sua_doi", "target_number": old, "note": "khoản 2 Điều 5"}],
                }
            )
    return docs


def own(i: int, laws: int, rng: random.Random) -> dict:
    kind = "NQ-HĐND" if i % 3 else "QĐ-UBND"
    year = 2016 + i % 9
    bases = rng.sample(range(laws), k=rng.randint(2, 4))
    lines = []
    for j, k in enumerate(bases):
        if j % 2:
            lines.append(f"Căn cứ Luật Lĩnh vực thử {k} ngày 19 tháng 6 năm 2015;")
        else:
            lines.append(f"Căn cứ khoản 2 Điều 5 Luật Lĩnh vực thử {k} số {100 + k}/2015/QH13;")
    if i % 11 == 0:
        lines.append("Căn cứ Luật Không có trong kho số 9999/2019/QH14;")
    issuer = "Hội đồng nhân dân tỉnh Lai Châu" if kind == "NQ-HĐND" else "Ủy ban nhân dân tỉnh Lai Châu"
    text = (
        f"{issuer.upper()}\nSố: {i}/{year}/{kind}\n"
        + ("NGHỊ QUYẾT\n" if kind == "NQ-HĐND" else "QUYẾT ĐỊNH\n")
        + "\n".join(lines)
        + "\nXét Tờ trình số 12/TTr-UBND ngày 01 tháng 11 năm 2016 của Ủy ban nhân dân tỉnh;\n"
        + ("QUYẾT NGHỊ:\n" if kind == "NQ-HĐND" else "QUYẾT ĐỊNH:\n")
        + "Điều 1. Nội dung.\n"
        + "Nội dung quy định chi tiết. " * 60
    )
    return {
        "uid": f"bench:lc-{i}",
        "number": f"{i}/{year}/{kind}",
        "title": f"Quy định thử số {i} trên địa bàn tỉnh Lai Châu",
        "doc_type": "Nghị quyết" if kind == "NQ-HĐND" else "Quyết định",
        "issuer": issuer,
        "province": "Lai Châu",
        "issued": f"{year}-07-10",
        "effective": f"{year}-07-20",
        "status": "Còn hiệu lực",
        "fields": [FIELDS[i % len(FIELDS)]],
        "text": text,
    }


def filler(i: int) -> dict:
    """Central documents, and one in fifty a decision of another province (as a store with
    relevance.provinces of several provinces holds)."""
    other = i % 50 == 0
    code = "QĐ-UBND" if other else ("TT-BTC" if i % 2 else "QĐ-TTg")
    return {
        "uid": f"bench:other-{i}",
        "number": f"{i}/2020/{code}",
        "title": f"Văn bản thử {i}",
        "doc_type": "Quyết định" if code != "TT-BTC" else "Thông tư",
        "issuer": "Ủy ban nhân dân tỉnh Sơn La" if other else ("Bộ Tài chính" if i % 2 else "Thủ tướng Chính phủ"),
        "province": "Sơn La" if other else None,
        "issued": "2020-05-05",
        "status": "Còn hiệu lực",
        "text": "Căn cứ Luật Lĩnh vực thử 1 ngày 19 tháng 6 năm 2015;\nNội dung thử. " * 40,
    }


def build(store: Store, n_own: int, total: int) -> None:
    rng = random.Random(2026)
    laws = 300
    docs = central(laws) + [own(i, laws, rng) for i in range(1, n_own + 1)]
    docs += [filler(i) for i in range(total - len(docs))]
    for start in range(0, len(docs), 2000):
        store.upsert_many(Document.from_dict(d) for d in docs[start : start + 2000])
    print(f"built {store.count()} documents ({n_own} own)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", type=Path)
    parser.add_argument("--own", type=int, default=3000)
    parser.add_argument("--total", type=int, default=50000)
    parser.add_argument("--read-only", action="store_true", help="only the page, the exports and the command")
    args = parser.parse_args()
    conf = kbconfig.load(args.instance, environ={})
    with Store(conf.db_path) as store:
        if store.count() == 0:
            timed("building the store", lambda: build(store, args.own, args.total))
        print(f"instance {args.instance}: {store.count()} documents")
    if not args.read_only:
        measure_updates(conf)
    measure_reading(args.instance)


def measure_updates(conf) -> None:
    with Store(conf.db_path) as store:
        timed("full recomputation (kb review rebuild)", lambda: derived.rebuild(store, [DERIVATION]))
        entries = stored_entries(store)
        print(f"  {len(entries)} local documents, {sum(1 for e in entries if e.listed)} listed")
        timed("bring up to date (nothing changed)", lambda: derived.refresh(store, [DERIVATION]))
        k = 2  # law 2 (k % 3 == 2) has no successor: import one, then take it away again
        replacing = {
            "uid": "bench:law-2-new",
            "number": "102/2026/QH15",
            "title": "Luật Lĩnh vực thử 2",
            "doc_type": "Luật",
            "issuer": "Quốc hội",
            "issued": "2026-01-10",
            "effective": "2026-03-01",
            "status": "Còn hiệu lực",
            "relations": [{"type": "thay_the", "target_number": f"{100 + k}/2015/QH13"}],
        }
        store.upsert(Document.from_dict(replacing))
        timed("incremental update after a replacing law is imported", lambda: derived.refresh(store, [DERIVATION]))
        store.delete("bench:law-2-new")
        derived.refresh(store, [DERIVATION])


def measure_reading(instance: Path) -> None:
    app = create_app({"INSTANCE": str(instance), "TESTING": True})
    client = app.test_client()
    for label, url in (
        ("GET /ra-soat (first load after start)", "/ra-soat"),
        ("GET /ra-soat (next load)", "/ra-soat"),
        ("GET /ra-soat?ban=Ban Văn hóa – Xã hội&sapxep=cu", "/ra-soat?ban=Ban Văn hóa – Xã hội&sapxep=cu"),
        ("GET /ra-soat?page=20", "/ra-soat?page=20"),
        ("GET /ra-soat.csv (every listed document)", "/ra-soat.csv"),
        ("GET /ra-soat.docx (every listed document)", "/ra-soat.docx"),
    ):
        response = timed(label, lambda url=url: client.get(url))
        assert response.status_code == 200, (url, response.status_code)
    runner = CliRunner()
    result = timed(
        "kb review --json (in process)",
        lambda: runner.invoke(cli, ["--instance", str(instance), "review", "--json"]),
    )
    assert result.exit_code == 0, result.output[-500:]
    print(f"  {json.loads(result.output)['count']} documents to review")


if __name__ == "__main__":
    main()
