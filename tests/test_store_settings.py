"""The embedded store's SQLite settings are the documented ones (docs/operations.md, settings.py)."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def _pragma(name: str):
    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA {name}")
        return cursor.fetchone()[0]


def test_every_connection_sets_the_documented_pragmas():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite settings (this pass is PostgreSQL)")
    assert _pragma("journal_mode") == "wal"
    assert _pragma("synchronous") == 2  # FULL: an acknowledged commit is on disk
    assert _pragma("busy_timeout") == 20_000
    assert _pragma("wal_autocheckpoint") == 1000
    assert _pragma("journal_size_limit") == 64 * 1024 * 1024
    assert _pragma("foreign_keys") == 1
