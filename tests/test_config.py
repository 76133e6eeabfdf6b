import stat

import pytest

from bestby.config import ConfigError, load


def test_defaults_put_sqlite_in_home(tmp_path):
    cfg = load({"BESTBY_HOME": str(tmp_path)})
    assert cfg.database_url == f"sqlite:///{tmp_path / 'bestby.sqlite3'}"
    assert (cfg.time_zone, cfg.currency, cfg.fiscal_year_start) == ("UTC", "USD", 1)


def test_secret_key_generated_once_beside_database_with_private_mode(tmp_path, monkeypatch):
    monkeypatch.delenv("BESTBY_SECRET_KEY", raising=False)
    cfg = load({"BESTBY_HOME": str(tmp_path)})
    key = cfg.secret_key()
    path = tmp_path / "secret_key"
    assert path.read_text().strip() == key and len(key) >= 50
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cfg.secret_key() == key  # kept, not regenerated


def test_secret_key_from_environment_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("BESTBY_SECRET_KEY", "from-env")
    assert load({"BESTBY_HOME": str(tmp_path)}).secret_key() == "from-env"
    assert not (tmp_path / "secret_key").exists()


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("BESTBY_TIME_ZONE", "Mars/Olympus"),
        ("BESTBY_CURRENCY", "EURO"),
        ("BESTBY_FISCAL_YEAR_START", "13"),
        ("BESTBY_FISCAL_YEAR_START", "april"),
        ("BESTBY_FISCAL_YEAR_START", "\u00b2"),  # a digit to str.isdigit, not to int(): once a traceback
        ("BESTBY_MAX_UPLOAD_MB", "\u00b2"),
        ("BESTBY_DATABASE_URL", "mysql://x@y/z"),
        ("BESTBY_COUNTRY", "XX"),
        ("BESTBY_COUNTRY", "DE-ZZ"),
    ],
)
def test_bad_setting_names_the_variable(tmp_path, var, value):
    with pytest.raises(ConfigError, match=var):
        load({"BESTBY_HOME": str(tmp_path), var: value})


def test_country_and_region(tmp_path):
    cfg = load({"BESTBY_HOME": str(tmp_path), "BESTBY_COUNTRY": "us-ca"})
    assert (cfg.country, cfg.country_region) == ("US", "CA")
    assert load({"BESTBY_HOME": str(tmp_path)}).country is None


def test_settings_use_wal_on_sqlite():
    from django.conf import settings

    opts = settings.DATABASES["default"].get("OPTIONS", {})
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        assert "journal_mode=WAL" in opts["init_command"]
