"""Django settings: everything comes from the environment through bestby.config."""

from __future__ import annotations

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
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
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

# Django's cache holds the sign-in throttle's counters. It lives in the database
# (a table made by `createcachetable`, which `bestby migrate` and the test
# database setup run) so that every worker process of `bestby serve --workers N`
# counts the same failures; an in-process cache would give an attacker N times
# the tries. The pages' own caches are in-process on purpose (bestby.web.fragments).
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
