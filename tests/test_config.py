import re
from pathlib import Path

import pytest

from kb import config
from kb.errors import ConfigError


def test_defaults_then_file_then_environment(tmp_path):
    (tmp_path / "config.toml").write_text(
        '[smtp]\nhost = "mail.local"\nport = 2525\n[province]\nname = "Sơn La"\n', encoding="utf-8"
    )
    cfg = config.load(
        tmp_path, environ={"KB_SMTP_PORT": "587", "KB_SMTP_STARTTLS": "true", "KB_SOURCES_ENABLED": "vbpl, congbao"}
    )
    assert cfg.get("smtp", "host") == "mail.local"
    assert cfg.get("smtp", "port") == 587
    assert cfg.get("smtp", "starttls") is True
    assert cfg.get("province", "name") == "Sơn La"
    assert cfg.get("sources", "enabled") == ["vbpl", "congbao"]
    assert cfg.get("http", "delay") == 1.0
    assert cfg.db_path == tmp_path.resolve() / "kb.sqlite"


def test_bad_values_are_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="KB_SMTP_PORT"):
        config.load(tmp_path, environ={"KB_SMTP_PORT": "twenty"})
    (tmp_path / "config.toml").write_text("[smtp\nhost=", encoding="utf-8")
    with pytest.raises(ConfigError, match="config.toml"):
        config.load(tmp_path, environ={})


# --- one typed settings table --------------------------------------------------------------------------
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "toml, key",
    [
        ('[smtp]\nport = "twenty-five"\n', "smtp.port"),
        ("[alerts]\nconfirm_days = 7.5\n", "alerts.confirm_days"),
        ('[refresh]\nattachments = "yes"\n', "refresh.attachments"),
        ('[sources]\nenabled = "vbpl"\n', "sources.enabled"),
        ("[web]\nper_page = true\n", "web.per_page"),
        ('[vbpl]\npage_size = "50"\n', "vbpl.page_size"),
        ("[alerts]\nweekly_day = 8\n", "alerts.weekly_day"),
        ("[http]\ndelay = -1\n", "http.delay"),
    ],
)
def test_a_wrong_type_in_config_toml_is_one_line_naming_the_key_and_the_file(tmp_path, toml, key):
    (tmp_path / "config.toml").write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        config.load(tmp_path, environ={})
    message = str(caught.value)
    assert "\n" not in message
    assert key in message and str(tmp_path / "config.toml") in message
    assert "phải" in message or "không được" in message  # said in Vietnamese


def test_values_are_typed_at_load_from_toml_and_environment(tmp_path):
    (tmp_path / "config.toml").write_text(
        "[http]\ndelay = 2\n[web]\nmax_upload_mb = 5\n[vbpl]\nlocal_agency_ids = [12, 34]\n", encoding="utf-8"
    )
    cfg = config.load(tmp_path, environ={"KB_ALERTS_CONFIRM_DAYS": " 3 ", "KB_WEB_ADMIN_RUNS": "10"})
    assert cfg.get("http", "delay") == 2.0 and isinstance(cfg.get("http", "delay"), float)
    assert cfg.get("web", "max_upload_mb") == 5.0 and isinstance(cfg.get("web", "max_upload_mb"), float)
    assert cfg.get("vbpl", "local_agency_ids") == ["12", "34"]
    assert cfg.get("alerts", "confirm_days") == 3
    assert cfg.get("web", "admin_runs") == 10
    assert cfg.section("gazette")["path"] == "congbao.nsf"  # a source's declared default
    with pytest.raises(ConfigError, match="KB_WEB_PER_PAGE"):
        config.load(tmp_path, environ={"KB_WEB_PER_PAGE": "many"})


def test_a_bad_setting_stops_the_cli_with_one_line(tmp_path):
    from click.testing import CliRunner

    from kbcli.main import cli

    (tmp_path / "config.toml").write_text('[alerts]\nmax_hits = "ba mươi"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--instance", str(tmp_path), "stats"])
    assert result.exit_code != 0
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "alerts.max_hits" in lines[0] and "config.toml" in lines[0], result.output


def test_each_setting_is_declared_once_and_each_source_declares_its_section():
    from scrapers import SOURCES

    names = [s.name for s in config.settings()]
    assert len(names) == len(set(names))
    for name, cls in SOURCES.items():
        info = config.sources()[name]
        assert info.section == cls.config_section
        assert {s.section for s in info.settings} == {info.section}
        if cls.default_base_url:
            assert config.setting(info.section, "base_url").default == cls.default_base_url
    assert not {s.section for s in config.SETTINGS} & {info.section for info in config.sources().values()}


def test_readme_and_docs_are_in_step_with_the_declared_settings():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    docs = readme + "".join(p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md")))
    for declared in config.settings():
        assert f"`{declared.name}`" in docs or f"`{declared.key}`" in docs and declared.variable in docs, declared.name
    table = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    for row in table.splitlines():
        if not row.startswith("| `"):
            continue
        cell = row.split("|")[1]
        section = None
        for name in re.findall(r"`([a-z_.]+)`", cell):
            if not name.startswith("."):
                section, _, key = name.partition(".")
            else:
                key = name[1:]
            assert config.setting(section, key) is not None, f"README names {section}.{key}, which is not declared"
