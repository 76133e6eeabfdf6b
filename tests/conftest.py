"""Test set-up: one suite, run once on SQLite (a real file) and once on PostgreSQL.

The Makefile runs the suite twice. The PostgreSQL pass sets
``BESTBY_DATABASE_URL`` to ``$BESTBY_TEST_POSTGRES_URL`` and
``BESTBY_TEST_PASS=postgres``; in that pass only tests that use the database
run (the others do not depend on it and already ran). If the server cannot be
reached the pass fails under ``CI=true`` and is skipped with a warning
elsewhere (a laptop without PostgreSQL can still run the suite).
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from bestby import clock

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def postgres_pass() -> bool:
    return os.environ.get("BESTBY_TEST_PASS") == "postgres"


def pytest_sessionstart(session):
    if not postgres_pass():
        return
    import psycopg

    url = os.environ.get("BESTBY_DATABASE_URL", "")
    try:
        psycopg.connect(url, connect_timeout=5).close()
    except Exception as exc:  # noqa: BLE001 - any failure to connect means the same
        message = f"PostgreSQL at {url} is unreachable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.exit(message + " (CI=true: this is a failure)", returncode=1)
        session.config._bestby_skip_pg = message


def _uses_db(item) -> bool:
    if item.get_closest_marker("own_database") is not None:  # makes a database of its own on the pass's server
        return True
    return item.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db", "django_db_setup", "live_server", "client", "admin_client"} & set(getattr(item, "fixturenames", ()))
    )


def pytest_collection_modifyitems(config, items):
    if not postgres_pass():
        return
    skip_reason = getattr(config, "_bestby_skip_pg", None)
    keep, drop = [], []
    for item in items:
        (keep if _uses_db(item) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    if skip_reason:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=skip_reason))


@pytest.fixture
def shared_data() -> Path:
    """The public sample data sets beside the repository (never copied into it)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(f"{SHARED_DATA} is missing: the tests need ../shared/data beside the repository")
    return SHARED_DATA


@pytest.fixture
def frozen_clock():
    """``freeze(instant)``: bestby's clock (``bestby.clock.now``) reads ``instant`` until the test ends.

    Call it again to move the clock. It applies to every thread, so a live
    server and a browser test see the same instant. A test whose outcome
    depends on the day freezes the clock, so it never depends on the day it runs.
    """
    blocks = contextlib.ExitStack()

    def freeze(instant):
        return blocks.enter_context(clock.frozen(instant))

    with blocks:
        yield freeze
