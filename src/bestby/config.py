"""Workspace configuration, read from the environment.

Every setting has an environment variable and a sensible default, so that a
fresh laptop runs bestby with no configuration file at all:

=========================  =====================================================
``BESTBY_HOME``            folder of the embedded database and the secret key
                           (default: the current directory)
``BESTBY_DATABASE_URL``    ``sqlite:///path`` or ``postgresql://user@host/db``
                           (default: ``sqlite:///$BESTBY_HOME/bestby.sqlite3``)
``BESTBY_SECRET_KEY``      Django's secret key; when absent, one is generated on
                           first run and kept in ``$BESTBY_HOME/secret_key``
                           (mode 0600) beside the database, never in the repo
``BESTBY_TIME_ZONE``       workspace time zone (default ``UTC``); bare dates in
                           imports are midnight in this zone
``BESTBY_CURRENCY``        workspace currency (default ``USD``)
``BESTBY_COUNTRY``         ISO 3166 code of the country whose public holidays
                           are not business days for cadences, optionally with
                           a region: ``DE``, ``US-CA`` (default: none, only
                           weekends are skipped)
``BESTBY_FISCAL_YEAR_START``  first month of the fiscal year, 1-12 (default 1)
``BESTBY_DEBUG``           ``1`` for Django's debug pages (default off)
``BESTBY_ALLOWED_HOSTS``   comma-separated (default ``127.0.0.1,localhost``)
``BESTBY_NOW``             freeze bestby's clock at this instant for the
                           process: ``2026-01-15T09:00:00Z`` (``Z`` or an
                           offset), or a date (midnight UTC); for a demo on a
                           chosen day or replaying a report (default: the real
                           time; see ``bestby.clock``)
=========================  =====================================================
"""

from __future__ import annotations

import os
import secrets
import zoneinfo
from dataclasses import dataclass
from pathlib import Path


class ConfigError(ValueError):
    """A setting in the environment is unusable; the message says which and why."""


@dataclass(frozen=True)
class Config:
    home: Path
    database_url: str
    time_zone: str
    currency: str
    fiscal_year_start: int
    debug: bool
    allowed_hosts: tuple[str, ...]
    country: str | None = None
    country_region: str | None = None

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    def secret_key(self) -> str:
        """Return the secret key from the environment, or the one kept beside the database."""
        key = os.environ.get("BESTBY_SECRET_KEY")
        if key:
            return key
        path = self.home / "secret_key"
        if path.exists():
            return path.read_text().strip()
        self.home.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(50)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
        return key


def load(environ: dict[str, str] | None = None) -> Config:
    """Read the configuration; raise ConfigError naming the variable on a bad value."""
    env = os.environ if environ is None else environ
    home = Path(env.get("BESTBY_HOME") or os.getcwd()).expanduser().resolve()
    url = env.get("BESTBY_DATABASE_URL") or f"sqlite:///{home / 'bestby.sqlite3'}"
    if not (url.startswith("sqlite:") or url.startswith(("postgres://", "postgresql://"))):
        raise ConfigError(
            f"BESTBY_DATABASE_URL={url!r}: use sqlite:///PATH or postgresql://USER@HOST:PORT/DB"
        )
    tz = env.get("BESTBY_TIME_ZONE") or "UTC"
    try:
        zoneinfo.ZoneInfo(tz)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"BESTBY_TIME_ZONE={tz!r} is not a known time zone (e.g. Europe/Berlin)") from exc
    currency = (env.get("BESTBY_CURRENCY") or "USD").upper()
    if len(currency) != 3 or not currency.isalpha():
        raise ConfigError(f"BESTBY_CURRENCY={currency!r}: use a three-letter ISO 4217 code such as EUR")
    country, region = _country(env.get("BESTBY_COUNTRY") or "")
    fy = env.get("BESTBY_FISCAL_YEAR_START") or "1"
    if not fy.isdigit() or not 1 <= int(fy) <= 12:
        raise ConfigError(f"BESTBY_FISCAL_YEAR_START={fy!r}: use a month number from 1 to 12")
    if (env.get("BESTBY_NOW") or "").strip():
        from bestby.clock import parse_instant

        try:
            parse_instant(env["BESTBY_NOW"].strip(), name="BESTBY_NOW")
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    hosts = tuple(h.strip() for h in (env.get("BESTBY_ALLOWED_HOSTS") or "127.0.0.1,localhost").split(",") if h.strip())
    return Config(
        home=home,
        database_url=url,
        time_zone=tz,
        currency=currency,
        fiscal_year_start=int(fy),
        country=country,
        country_region=region,
        debug=env.get("BESTBY_DEBUG", "") in ("1", "true", "yes"),
        allowed_hosts=hosts,
    )


def _country(text: str) -> tuple[str | None, str | None]:
    """``BESTBY_COUNTRY``: ``DE`` or ``US-CA`` -> (country, region); ConfigError when the holidays package lacks it."""
    text = text.strip().upper()
    if not text:
        return None, None
    country, _, region = text.partition("-")
    import holidays

    try:
        holidays.country_holidays(country, subdiv=region or None)
    except NotImplementedError:
        raise ConfigError(f"BESTBY_COUNTRY={text!r}: use an ISO 3166 code such as DE, or DE-BY, US-CA for a "
                          "region") from None
    return country, region or None
