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
``BESTBY_HTTPS``           ``1`` when users reach bestby over HTTPS (directly or
                           through a proxy): session and CSRF cookies are sent
                           only over HTTPS (``Secure``), plain HTTP is
                           redirected to HTTPS, and browsers are told to use
                           HTTPS only (HSTS). Default off, for a laptop on
                           http://127.0.0.1
``BESTBY_HSTS_SECONDS``    how long browsers keep to HTTPS after a visit, in
                           seconds (default 31536000, a year; with
                           ``BESTBY_HTTPS=1`` only). Start low (3600) on a new
                           host name: a browser refuses plain HTTP for as long
``BESTBY_PROXY_SSL_HEADER`` the header by which a TLS-terminating proxy in
                           front of bestby says the request came over HTTPS,
                           e.g. ``X-Forwarded-Proto`` (its value must then be
                           ``https``) or ``X-Forwarded-Ssl=on``. Set it only
                           when the proxy always sets or strips that header:
                           a client could otherwise claim HTTPS (default none)
``BESTBY_LOG_FILE``        a file that also receives the server's error log
                           (500s with their traceback, refused requests); the
                           log always goes to standard error (default none)
``BESTBY_MAX_UPLOAD_MB``   the largest upload the import page takes, in MB: the
                           request is refused before more is stored
                           (default 500)
``BESTBY_MAX_IMPORT_MB``   the largest file an import reads (each CSV or
                           Parquet file, from the command line or unpacked
                           from an upload) and the most an uploaded zip may
                           unpack to in all, in MB (default 2048)
``BESTBY_NOW``             freeze bestby's clock at this instant for the
                           process: ``2026-01-15T09:00:00Z`` (``Z`` or an
                           offset), or a date (midnight UTC); for a demo on a
                           chosen day or replaying a report (default: the real
                           time; see ``bestby.clock``)
=========================  =====================================================

Files and folders are private to the user who runs bestby (see
:func:`secure_store`): the database and its ``-wal`` and ``-shm`` files, the
secret key, uploads and backups are mode 0600, their folders 0700.
"""

from __future__ import annotations

import os
import re
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
    #: BESTBY_HOME was set (a folder of bestby's own, made private); else the current directory, left as it is
    home_given: bool = False
    https: bool = False
    hsts_seconds: int = 31_536_000
    #: (Django's META key, value), e.g. ("HTTP_X_FORWARDED_PROTO", "https"), or None
    proxy_ssl_header: tuple[str, str] | None = None
    log_file: Path | None = None
    max_upload_mb: int = 500
    max_import_mb: int = 2048

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
        from bestby.private import private_dir

        private_dir(self.home, tighten=False)  # created 0700 when missing
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
    if not (fy.isascii() and fy.isdigit()) or not 1 <= int(fy) <= 12:
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
        home_given=bool(env.get("BESTBY_HOME")),
        https=_flag(env, "BESTBY_HTTPS"),
        hsts_seconds=_whole(env, "BESTBY_HSTS_SECONDS", 31_536_000, low=0, high=10 * 31_536_000),
        proxy_ssl_header=_proxy_header(env.get("BESTBY_PROXY_SSL_HEADER") or ""),
        log_file=Path(env["BESTBY_LOG_FILE"]).expanduser().resolve() if env.get("BESTBY_LOG_FILE") else None,
        max_upload_mb=_whole(env, "BESTBY_MAX_UPLOAD_MB", 500, low=1, high=1 << 20),
        max_import_mb=_whole(env, "BESTBY_MAX_IMPORT_MB", 2048, low=1, high=1 << 20),
    )


def _flag(env, name: str) -> bool:
    """An on/off variable: 1/true/yes/on or 0/false/no/off (empty: off); ConfigError naming it otherwise."""
    text = (env.get(name) or "").strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("", "0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name}={text!r}: use 1 (on) or 0 (off)")


def _whole(env, name: str, default: int, *, low: int, high: int) -> int:
    text = (env.get(name) or "").strip()
    if not text:
        return default
    if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
        raise ConfigError(f"{name}={text!r}: use a whole number from {low} to {high}")
    return int(text)


_HEADER = re.compile(r"^[A-Za-z0-9-]+$")


def _proxy_header(text: str) -> tuple[str, str] | None:
    """``X-Forwarded-Proto`` (value ``https``) or ``X-Forwarded-Ssl=on`` -> Django's SECURE_PROXY_SSL_HEADER."""
    text = text.strip()
    if not text:
        return None
    name, _, value = text.partition("=")
    name, value = name.strip(), (value.strip() or "https")
    if not _HEADER.match(name) or any(ch.isspace() or ord(ch) < 32 for ch in value):
        raise ConfigError(f"BESTBY_PROXY_SSL_HEADER={text!r}: use a header name such as X-Forwarded-Proto, "
                          "optionally with the value that means HTTPS: X-Forwarded-Ssl=on")
    return "HTTP_" + name.upper().replace("-", "_"), value


def sqlite_path(cfg: Config) -> Path | None:
    """The SQLite database file of ``cfg`` (None for PostgreSQL or an in-memory database)."""
    if not cfg.is_sqlite:
        return None
    import dj_database_url

    name = dj_database_url.parse(cfg.database_url).get("NAME") or ""
    return Path(name) if name and name != ":memory:" else None


def secure_store(cfg: Config) -> list[str]:
    """Make the workspace's files private before anything opens them; the notes of what was tightened.

    ``BESTBY_HOME``, when given, is made 0700 (the current directory, the
    default home, keeps its mode: it is not bestby's own). The SQLite database
    is created empty with mode 0600 before SQLite opens it, because SQLite
    creates the ``-wal`` and ``-shm`` files with the mode of the database
    file; a store made by an older version (0644) is tightened, with its
    ``-wal`` and ``-shm`` files, and the note says so. Its folder is made
    0700 when bestby creates it. See :mod:`bestby.private`.
    """
    from bestby.private import private_dir, private_file

    notes = [private_dir(cfg.home, tighten=cfg.home_given)]
    secret = cfg.home / "secret_key"
    if secret.is_file():
        notes.append(private_file(secret))
    db = sqlite_path(cfg)
    if db is not None:
        notes.append(private_dir(db.parent, tighten=db.parent == cfg.home and cfg.home_given))
        notes.append(private_file(db))
        for suffix in ("-wal", "-shm", "-journal"):
            side = db.with_name(db.name + suffix)
            if side.is_file():
                notes.append(private_file(side))
    if cfg.log_file is not None:
        notes.append(private_dir(cfg.log_file.parent, tighten=False))
        notes.append(private_file(cfg.log_file))
    return [n for n in notes if n]


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
