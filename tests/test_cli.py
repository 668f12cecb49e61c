import json

from conftest import shared_file

from kb.model import Document
from kbcli.main import cli


def test_import_stats_export_round_trip(runner, instance, tmp_path):
    corpus = shared_file("corpus", "alqac_articles.jsonl")
    result = runner.invoke(cli, ["import", str(corpus)])
    assert result.exit_code == 0, result.output
    assert "23 added" in result.output
    result = runner.invoke(cli, ["stats", "--json"])
    data = json.loads(result.output)
    assert (data["documents"], data["articles"]) == (23, 3238)
    out = tmp_path / "all.jsonl"
    assert runner.invoke(cli, ["export", "-o", str(out)]).exit_code == 0
    assert len(out.read_text(encoding="utf-8").splitlines()) == 23
    other = tmp_path / "other"
    result = runner.invoke(cli, ["--instance", str(other), "import", str(out)])
    assert result.exit_code == 0 and "23 added" in result.output
    result = runner.invoke(cli, ["--instance", str(other), "stats"])
    assert "Articles:  3,238" in result.output


def test_rejected_lines_are_reported_with_exit_code_1(runner, tmp_path):
    path = tmp_path / "bad.jsonl"
    good = Document.from_dict({"uid": "t:1", "title": "Văn bản"}).to_json()
    path.write_text(good + "\n{oops\n", encoding="utf-8")
    result = runner.invoke(cli, ["import", str(path)])
    assert result.exit_code == 1
    assert "bad.jsonl:2: rejected: not valid JSON" in result.output
    assert "1 added" in result.output


def test_user_errors_are_short_messages(runner, tmp_path):
    result = runner.invoke(cli, ["import", str(tmp_path / "missing.jsonl")])
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    (tmp_path / "instance").mkdir(exist_ok=True)
    (tmp_path / "instance" / "config.toml").write_text("[x", encoding="utf-8")
    result = runner.invoke(cli, ["stats"])
    assert result.exit_code == 1 and "Lỗi:" in result.output and "config.toml" in result.output
