"""Django settings: everything comes from the environment through bestby.config."""

from __future__ import annotations

import sys
from pathlib import Path

import dj_database_url

from bestby import config as _config

CONFIG = _config.load()
BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = CONFIG.secret_key()
DEBUG = CONFIG.debug
ALLOWED_HOSTS = list(CONFIG.allowed_hosts) + (["testserver"] if DEBUG else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "bestby.people",
    "bestby.pipeline",
    "bestby.accounts",
    "bestby.commerce",
    "bestby.activities",
    "bestby.goals",
    "bestby.audit",
    "bestby.clearance",
    "bestby.cadences",
    "bestby.web",
    "bestby.api", "ninja",  # the REST API; "ninja" serves Swagger UI from the package (no CDN)
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "bestby.web.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "bestby.web.nul.RefuseNulMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "bestby.urls"
WSGI_APPLICATION = "bestby.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": dj_database_url.parse(CONFIG.database_url, conn_max_age=60)}
if CONFIG.is_sqlite:
    # The embedded store's SQLite settings, each on purpose (docs/operations.md, "The SQLite store"):
    # * journal_mode=WAL: readers (pages, API, the engine's backup copy) and the one writer never block each other.
    # * synchronous=FULL: a commit is acknowledged only once the WAL is on disk, so an acknowledged write survives
    #   a power cut too (NORMAL, the WAL's usual setting, may lose the last commits then, never the file's
    #   integrity). It costs one fsync of the WAL per commit: milliseconds for a page's write, once for an
    #   import (one transaction).
    # * busy timeout 20 s (Django's "timeout", sqlite3's busy handler): a writer waits up to 20 s for another
    #   process's write to end before "database is locked"; transactions BEGIN IMMEDIATE take the write lock at
    #   their start, so two readers that both want to write cannot deadlock on the upgrade.
    # * wal_autocheckpoint=1000 pages (SQLite's default, about 4 MB): the commit that grows the WAL past it copies
    #   the WAL into the database (PASSIVE: never waits for readers); journal_size_limit=64 MB truncates the WAL
    #   after a checkpoint, so a big import's WAL does not keep its size on disk.
    # * foreign_keys=ON: references are checked by the database as on PostgreSQL.
    # One SQLite library per process: nothing but Python's sqlite3 ever opens this file in a bestby process
    # (the engine reads a private copy: bestby.engine.store).
    # Django's backend with a converter that reads a stored number out of its column's range instead of raising
    # on every page that lists the row (bestby.sqlite_backend).
    DATABASES["default"]["ENGINE"] = "bestby.sqlite_backend"
    DATABASES["default"]["OPTIONS"] = {
        "init_command": ("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; "
                         "PRAGMA wal_autocheckpoint=1000; PRAGMA journal_size_limit=67108864;"),
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # Tests run on a real SQLite file beside the database, never in memory.
    _db_path = Path(DATABASES["default"]["NAME"])
    DATABASES["default"]["TEST"] = {"NAME": str(_db_path.with_name(_db_path.stem + "_test.sqlite3"))}

# The store's files are private (0600, folders 0700) before the first connection opens them: SQLite gives
# its -wal and -shm files the database file's mode. An older, world-readable store is tightened here, on
# every start (settings load: bestby migrate, serve, demo, each server worker), and says so on stderr.
for _note in _config.secure_store(CONFIG):
    print(f"bestby: {_note}", file=sys.stderr)

# Django's cache holds the backtest and report documents (bestby.goals.cache). It
# lives in the database (a table made by `createcachetable`, which `bestby migrate`
# and the test database setup run) so that every worker process of `bestby serve
# --workers N` shares them. The sign-in throttle's counters have a table of their
# own (bestby.web.throttle: the cache has no atomic increment). The pages' own
# caches are in-process on purpose (bestby.web.fragments).
CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "bestby_cache"}}

AUTH_USER_MODEL = "people.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# A deployment behind HTTPS (BESTBY_HTTPS=1, see bestby.config): cookies only over HTTPS, plain HTTP
# redirected, HSTS; BESTBY_PROXY_SSL_HEADER names the header by which a TLS-terminating proxy says so.
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = CONFIG.https
SECURE_HSTS_SECONDS = CONFIG.hsts_seconds if CONFIG.https else 0
SECURE_PROXY_SSL_HEADER = CONFIG.proxy_ssl_header
# /healthz answers a load balancer's plain-HTTP probe instead of redirecting it
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Content-Security-Policy on every response (bestby.web.csp): scripts, styles, images, fonts and requests
# from this site only; no inline script, no eval, no plugins, no framing, forms post to this site only.
# The pages carry no inline script or style (HTMX is configured by a <meta> tag and keeps its indicator
# styles in bestby.css; share bars are SVG); Django's admin and Swagger UI pass the same policy. The setting
# has the name and shape of Django 6.0's own SECURE_CSP, so moving to its built-in middleware is one line.
SECURE_CSP = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'none'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}

# Uploads (the import page): a request body past BESTBY_MAX_UPLOAD_MB is refused while it arrives
# (bestby.web.uploads), before more of it is stored; an import reads no file past BESTBY_MAX_IMPORT_MB.
BESTBY_MAX_UPLOAD_BYTES = CONFIG.max_upload_mb * 2**20
BESTBY_MAX_IMPORT_BYTES = CONFIG.max_import_mb * 2**20
FILE_UPLOAD_HANDLERS = [
    "bestby.web.uploads.CappedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# Operators see errors: an unhandled exception (a 500) is logged with its traceback to standard error,
# which `bestby serve` passes on (each gunicorn worker), and to BESTBY_LOG_FILE when set
# (a WatchedFileHandler: logrotate may move the file; it is created 0600). Refused requests
# (django.security: a bad host, a CSRF failure) and bestby's own notes go the same way.
_LOG_HANDLERS = ["stderr"] + (["file"] if CONFIG.log_file else [])
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [pid %(process)d] %(message)s"},
    },
    "handlers": {
        "stderr": {"class": "logging.StreamHandler", "formatter": "plain"},
        **({"file": {"class": "logging.handlers.WatchedFileHandler", "filename": str(CONFIG.log_file),
                     "formatter": "plain", "encoding": "utf-8"}} if CONFIG.log_file else {}),
    },
    "loggers": {
        "django.request": {"handlers": _LOG_HANDLERS, "level": "ERROR", "propagate": False},
        "django.security": {"handlers": _LOG_HANDLERS, "level": "WARNING", "propagate": False},
        "bestby": {"handlers": _LOG_HANDLERS, "level": "INFO", "propagate": False},
    },
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = CONFIG.time_zone
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = None  # nothing to collect: WhiteNoise serves from the package
# Static files come from the installed package through WhiteNoise's finders, so
# `bestby serve` needs no collectstatic step and no CDN.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

BESTBY_CURRENCY = CONFIG.currency
BESTBY_FISCAL_YEAR_START = CONFIG.fiscal_year_start
BESTBY_COUNTRY = CONFIG.country
BESTBY_COUNTRY_REGION = CONFIG.country_region
