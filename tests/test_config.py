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
