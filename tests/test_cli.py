import json

from conftest import shared_file

from kb.model import Document
from kbcli.main import cli


def test_import_stats_export_round_trip(runner, instance, tmp_path):
    corpus = shared_file("corpus", "alqac_articles.jsonl")
    result = runner.invoke(cli, ["import", str(corpus)])
    assert result.exit_code == 0, result.output
    assert "thêm 23, thay đổi 0, không đổi 0 văn bản (3.238 điều)" in result.output
    result = runner.invoke(cli, ["stats", "--json"])
    data = json.loads(result.output)
    assert (data["documents"], data["articles"]) == (23, 3238)
    out = tmp_path / "all.jsonl"
    assert runner.invoke(cli, ["export", "-o", str(out)]).exit_code == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 23
    other = tmp_path / "other"
    result = runner.invoke(cli, ["--instance", str(other), "import", str(out)])
    assert result.exit_code == 0 and "thêm 23," in result.output
    result = runner.invoke(cli, ["--instance", str(other), "stats"])
    assert "Điều:    3.238" in result.output
    index_line = result.output.splitlines()[-1]
    assert index_line.startswith("Chỉ mục tìm kiếm: ") and "theo kịp cơ sở dữ liệu" in index_line
    assert "{" not in index_line


def test_rejected_lines_are_reported_with_exit_code_1(runner, tmp_path):
    path = tmp_path / "bad.jsonl"
    good = Document.from_dict({"uid": "t:1", "title": "Văn bản"}).to_json()
    path.write_text(good + "\n{oops\n", encoding="utf-8")
    result = runner.invoke(cli, ["import", str(path)])
    assert result.exit_code == 1
    assert "bad.jsonl, dòng 2: bị từ chối: JSON không hợp lệ ở cột" in result.output
    assert "thêm 1," in result.output


def test_allow_rejects_reports_them_and_exits_0(runner, tmp_path):
    path = tmp_path / "bad.jsonl"
    good = Document.from_dict({"uid": "t:1", "title": "Văn bản"}).to_json()
    path.write_text(good + '\n{"uid": "t:2", "title": "Văn bản\n', encoding="utf-8")
    result = runner.invoke(cli, ["import", "--allow-rejects", str(path)])
    assert result.exit_code == 0, result.output
    assert (
        f"{path}, dòng 2: bị từ chối: JSON không hợp lệ ở cột 25: chuỗi bắt đầu ở đây không có ngoặc kép đóng"
        in result.output
    )
    assert f"{path}: 1 dòng bị từ chối; các dòng khác đã được nhập." in result.output


def test_user_errors_are_short_messages(runner, tmp_path):
    result = runner.invoke(cli, ["import", str(tmp_path / "missing.jsonl")])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    (tmp_path / "instance").mkdir(exist_ok=True)
    (tmp_path / "instance" / "config.toml").write_text("[x", encoding="utf-8")
    result = runner.invoke(cli, ["stats"])
    assert result.exit_code == 1 and "Lỗi:" in result.output and "config.toml" in result.output


def test_import_shows_its_real_phases(runner, tmp_path):
    from kb import jsonl
    from kb.store import Store

    corpus = shared_file("corpus", "alqac_articles.jsonl")
    phases, moved = [], {}

    def phase(name, total):
        phases.append((name, total))
        moved[name] = 0

    def progress(n):
        moved[phases[-1][0]] += n

    with Store(tmp_path / "kb.sqlite") as store:
        jsonl.import_file(store, corpus, progress=progress, phase=phase)
    # bytes while reading, then documents while storing (an article file is stored once it is read)
    assert phases == [("reading", corpus.stat().st_size), ("storing", 23)]
    assert moved == {"reading": corpus.stat().st_size, "storing": 23}

    result = runner.invoke(cli, ["import", str(corpus)])
    assert result.exit_code == 0, result.output
    lines = [line.strip() for line in result.output.splitlines()]
    order = [
        "Đọc alqac_articles.jsonl",
        "Lưu văn bản của alqac_articles.jsonl",
        "Cập nhật dữ liệu dẫn xuất: Nội dung giao HĐND quy định",
        "Lập chỉ mục tìm kiếm (chưa có chỉ mục)",
        "Ghi chỉ mục tìm kiếm xuống đĩa…",
    ]
    found = [next(i for i, line in enumerate(lines) if line.startswith(label)) for label in order]
    assert found == sorted(found), lines


def test_commands_are_registered_explicitly_and_helpers_say_so_by_name():
    import importlib
    import pkgutil

    import click

    import kbcli
    from kbcli import main

    assert set(cli.commands.values()) == set(main.COMMANDS)
    for module in pkgutil.iter_modules(kbcli.__path__):
        if module.name == "main":
            continue
        loaded = importlib.import_module(f"kbcli.{module.name}")
        defined = {
            v
            for v in vars(loaded).values()
            if isinstance(v, click.Command) and v.callback.__module__ == loaded.__name__
        }
        subcommands = {c for g in defined if isinstance(g, click.Group) for c in g.commands.values()}
        if module.name.startswith("_"):
            assert not defined, f"kbcli/{module.name}.py is named as a helper but defines commands"
        else:
            assert defined and defined - subcommands <= set(main.COMMANDS), f"kbcli/{module.name}.py"


def test_stats_count_statuses_as_the_validity_function_derives_them(runner, tmp_path):
    # the source says nothing of 83/2015 ("Chưa xác định"); a stored replacement in force since 2026 ends it:
    # kb stats agrees with the search facet and the document page, not with the label the source printed
    path = tmp_path / "laws.jsonl"
    law = {"title": "Luật Ngân sách nhà nước", "doc_type": "Luật", "issuer": "Quốc hội"}
    records = [
        dict(law, uid="t:83", number="83/2015/QH13", effective="2017-01-01", status="Chưa xác định"),
        dict(
            law,
            uid="t:89",
            number="89/2025/QH15",
            effective="2026-01-01",
            status="Còn hiệu lực",
            relations=[{"type": "thay_the", "target_number": "83/2015/QH13"}],
        ),
    ]
    path.write_text("\n".join(Document.from_dict(r).to_json() for r in records) + "\n", encoding="utf-8")
    assert runner.invoke(cli, ["import", "--no-index", str(path)]).exit_code == 0
    data = json.loads(runner.invoke(cli, ["stats", "--json"]).output)
    assert data["by_status"] == {"Hết hiệu lực toàn bộ": 1, "Còn hiệu lực": 1}
    assert data["by_source_status"] == {"Chưa xác định": 1, "Còn hiệu lực": 1}


def test_each_import_updates_the_index_then_compacts_its_small_segments(runner, instance, tmp_path):
    """A weekly refresh's way: each import commits its documents to the index, and once updates have
    left enough small segments the command rewrites them (index.compaction) and says so."""
    from index import build, compaction

    def write(name: str, docs: list[Document]) -> str:
        path = tmp_path / name
        path.write_text("\n".join(d.to_json() for d in docs) + "\n", encoding="utf-8")
        return str(path)

    base = [
        Document.from_dict({"uid": f"t:{i}", "title": f"Nghị quyết về ngân sách số {i}", "text": "chi ngân sách " * 40})
        for i in range(40)
    ]
    assert runner.invoke(cli, ["import", write("base.jsonl", base)]).exit_code == 0
    outputs = []
    for week in range(compaction.COMPACT_AT):
        changed = Document.from_dict({"uid": f"t:{week}", "title": f"Nghị quyết sửa đổi tuần {week}", "text": "mới"})
        result = runner.invoke(cli, ["import", write(f"w{week}.jsonl", [changed])])
        assert result.exit_code == 0, result.output
        outputs.append(result.output)
    assert not any("Gộp các phân đoạn nhỏ của chỉ mục" in out for out in outputs[:-1])
    assert "Gộp các phân đoạn nhỏ của chỉ mục" in outputs[-1]
    index_dir = instance / "index"
    assert len(build.open_index(index_dir)._segments()) == 2  # the import's and the compacted one
    result = runner.invoke(cli, ["search", "sửa đổi tuần 1"])
    assert result.exit_code == 0 and "tuần 1" in result.output
    assert "theo kịp cơ sở dữ liệu" in runner.invoke(cli, ["stats"]).output
