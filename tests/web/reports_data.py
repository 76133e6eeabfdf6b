"""A small synth store for the report pages' and endpoints' tests, and reading figures back from pages.

300 synth deals (seed 5) give one team, ``North 1``: admin U0000, manager
U0001, reps U0002..U0004 reporting to U0001. :func:`load_store` then moves
U0004 to a team of their own (``South 1``, no manager), so that a manager's
team and another team both exist. The folder is written once per module
(:func:`synth_folder`); each test imports it (under half a second) because
tests that let the engine read the store commit, and the database is emptied
after each of them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from bestby.engine.goals import goals_by_owner
from bestby.engine.periods import parse_period
from bestby.goals.models import Quota
from bestby.importers.canonical import import_canonical
from bestby.people.models import User
from bestby.synth import write_synth

AS_OF = datetime(2025, 11, 15, tzinfo=UTC)
PERIOD = "2025-Q4"
QUERY = f"period={PERIOD}&as_of=2025-11-15"


def synth_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("synth")
    write_synth(folder, deals=300, seed=5)
    return folder


def load_store(folder) -> dict[str, User]:
    """Import the folder; split U0004 into team South 1. The users by role name."""
    import_canonical(folder)
    User.objects.filter(external_id="U0004").update(team="South 1", manager=None)
    users = {u.external_id: u for u in User.objects.all()}
    return {"admin": users["U0000"], "mgr": users["U0001"], "rep": users["U0002"], "rep2": users["U0003"],
            "other": users["U0004"]}


def period():
    return parse_period(PERIOD)


def goals() -> dict[str, Decimal]:
    """The period's goals from the quota rows, read with the ORM (not the store source)."""
    rows = [(q.owner_key, q.period_start, q.period_end, q.amount) for q in Quota.objects.all()]
    return goals_by_owner(rows, period())


_ATTR = re.compile(r'([\w-]+)="([^"]*)"')


def table_rows(html: str, table_class: str) -> dict[tuple[str, str], dict[str, str]]:
    """The ``data-level``/``data-key`` rows of ``<table class="rows TABLE_CLASS">``: their data-* attributes."""
    m = re.search(rf'<table class="rows {table_class}">(.*?)</table>', html, re.S)
    assert m, f"no table {table_class}"
    out = {}
    for tr in re.finditer(r"<tr\s([^>]*)>", m.group(1)):
        attrs = {k.removeprefix("data-"): v for k, v in _ATTR.findall(tr.group(1)) if k.startswith("data-")}
        if "level" in attrs:
            out[(attrs["level"], attrs["key"])] = attrs
    return out


def figure(value: str) -> float | None:
    return None if value == "" else float(value)


def deal_ids(html: str, table_class: str) -> list[str]:
    m = re.search(rf'<table class="rows {table_class}">(.*?)</table>', html, re.S)
    return re.findall(r'<tr data-deal="([^"]+)"', m.group(1)) if m else []
