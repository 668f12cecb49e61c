"""Speed of the derived legal data on a real instance (kb/legal/derived.py): the full recomputation, an
incremental update after one document changed, and what a user waits for — the page "Giao HĐND quy
định" (first load after start and the next), GET /api/delegations and `kb delegations` (in process, and
as a new process, Python's start-up included).

    .venv/bin/kb -i /tmp/pd import --allow-rejects ../shared/corpus/phapdien_articles.jsonl.gz \\
        ../shared/corpus/codes_full_text.jsonl.gz ../shared/corpus/extra_articles.jsonl.gz
    .venv/bin/python bench/derived.py /tmp/pd [--rebuild]

Prints one line per measurement (seconds). --rebuild also times `kb derived rebuild` (tens of seconds).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from click.testing import CliRunner  # noqa: E402

from kb import config as kbconfig  # noqa: E402
from kb.legal import derived  # noqa: E402
from kb.legal.delegation import DERIVATION, stored_delegations  # noqa: E402
from kb.store import Store  # noqa: E402
from kbcli.main import cli  # noqa: E402
from web import create_app  # noqa: E402


def timed(label: str, fn):
    start = time.perf_counter()
    result = fn()
    print(f"{label:<58} {time.perf_counter() - start:8.3f} s", flush=True)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", type=Path)
    parser.add_argument("--rebuild", action="store_true", help="also time the full recomputation")
    args = parser.parse_args()
    conf = kbconfig.load(args.instance)
    province = conf.get("province", "name")
    with Store(conf.db_path) as store:
        print(f"instance {args.instance}: {store.count()} documents, province {province}")
        if args.rebuild:
            timed("full recomputation (derived.rebuild)", lambda: derived.rebuild(store))
        timed("bring up to date (nothing changed)", lambda: derived.refresh(store))
        uid = next(r.uid for r in derived.rows(store, DERIVATION, prefix="clause:"))
        doc = store.get(uid)
        doc.title += " (bench)"  # a change the store records (then undone)
        store.upsert(doc)
        timed("incremental update after one delegating document changed", lambda: derived.refresh(store))
        doc.title = doc.title.removesuffix(" (bench)")
        store.upsert(doc)
        derived.refresh(store)
        st = derived.state(store, DERIVATION)
        print(f"rows: {st.rows}; current: {st.current}")
        items = timed("stored_delegations (join of the stored rows)", lambda: stored_delegations(store, province))
        print(f"delegations: {len(items)} ({sum(d.status == 'answered' for d in items)} answered)")
    app = create_app({"INSTANCE": str(args.instance)})
    client = app.test_client()
    for label in ("page /giao-hdnd-quy-dinh, first load after start", "page /giao-hdnd-quy-dinh, next load"):
        response = timed(label, lambda: client.get("/giao-hdnd-quy-dinh"))
        assert response.status_code == 200, response.status_code
    timed("GET /api/delegations?status=open", lambda: client.get("/api/delegations?status=open"))
    runner = CliRunner()
    result = timed(
        "kb delegations (in process)", lambda: runner.invoke(cli, ["--instance", str(args.instance), "delegations"])
    )
    assert result.exit_code == 0, result.output
    kb = Path(sys.executable).with_name("kb")
    timed(
        "kb delegations (new process, start-up included)",
        lambda: subprocess.run([str(kb), "--instance", str(args.instance), "delegations"], capture_output=True),
    )
    timed(
        "python -c 'import kbcli.main' (start-up alone)",
        lambda: subprocess.run([sys.executable, "-c", "import kbcli.main"]),
    )


if __name__ == "__main__":
    main()
