"""A value stored before bounds were checked (or by hand in SQL) degrades its own row, never a page for everyone.

Before: an amount of 1e30 in SQLite made the board, the clearance review, the
deal page, the admin and ``GET /api/deals`` answer 500 for every role; a NUL
in a deal's name did the same to ``/api/deals``, ``/api/freshness`` and
``/api/clearance``; a quota ending 9999-12-31 took down coverage, forecast
and funnel. The values are written here with SQL, as an old version or a
hand edit would have. PostgreSQL refuses the first two itself (its
``numeric(18, 2)`` and text types cannot hold them), which the test checks on
that database instead.
"""

from __future__ import annotations

import re

import pytest
from django.db import DataError, connection, transaction

from bestby.api.tokens import create_token
from bestby.goals.models import Quota
from bestby.people.models import User
from bestby.pipeline.models import Deal
from tests.web.test_board import PASSWORD, T0, signed_in, workspace  # noqa: F401 - the shared fixture

pytestmark = pytest.mark.django_db


def _raw(sql: str, params: list) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _get_all(client, token, paths):
    answers = {}
    for path in paths:
        extra = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if path.startswith("/api/") else {}
        answers[path] = client.get(path, **extra)
    return answers


def test_an_amount_out_of_range_shows_as_invalid_on_its_rows_only(client, workspace):
    deal = Deal.objects.get(external_id="D2")
    if connection.vendor != "sqlite":
        with pytest.raises(DataError), transaction.atomic():
            _raw("UPDATE pipeline_deal SET amount = %s WHERE id = %s", [1e30, deal.pk])
        return
    _raw("UPDATE pipeline_deal SET amount = %s WHERE id = %s", [1e30, deal.pk])
    root = User.objects.get(username="root")
    token = create_token(user=root, name="t")[1]
    c = signed_in(client, "root")
    paths = ["/board/", "/clearance/", "/deals/D2/", "/deals/D1/", "/api/deals", "/api/deals/D2", "/api/clearance",
             "/api/freshness", f"/admin/pipeline/deal/{deal.pk}/change/", "/admin/pipeline/deal/",
             "/export/deals.csv", "/accounts/", "/"]
    answers = _get_all(c, token, paths)
    assert {p: r.status_code for p, r in answers.items()} == {p: 200 for p in paths}
    page = answers["/deals/D2/"].content.decode()
    assert 'class="error invalid-stored"' in page and "This deal holds amount 1000000000000000000000000000000:" in page
    board = answers["/board/"].content.decode()
    assert "invalid amount (1.00000000000000E+30)" in board  # on its card
    column_totals = re.findall(r'<dd class="(?:raw|fresh)">([^<]*)</dd>', board)
    assert column_totals and not any("invalid" in t or "E+" in t for t in column_totals)  # not in any total
    assert 'class="error invalid-stored"' not in answers["/deals/D1/"].content.decode()  # its neighbour is fine
    # saving it again as it is refused with the field named: the person corrects it
    deal.refresh_from_db()
    form = {"name": deal.name, "amount": str(deal.amount), "close_date": deal.close_date.isoformat(),
            "stage": str(deal.stage_id), "version": str(deal.version)}
    refused = c.post("/deals/D2/", form)
    assert refused.status_code == 400 and 'data-field="amount"' in refused.content.decode()
    fixed = c.post("/deals/D2/", form | {"amount": "1500"})
    assert fixed.status_code == 200 and "Saved." in fixed.content.decode()
    assert str(Deal.objects.get(pk=deal.pk).amount) == "1500.00"


def test_a_nul_in_a_stored_name_is_answered_not_a_500(client, workspace):
    deal = Deal.objects.get(external_id="D2")
    if connection.vendor != "sqlite":
        with pytest.raises(DataError), transaction.atomic():
            _raw("UPDATE pipeline_deal SET name = %s WHERE id = %s", ["a\x00b", deal.pk])
        return
    _raw("UPDATE pipeline_deal SET name = %s WHERE id = %s", ["a\x00b", deal.pk])
    token = create_token(user=User.objects.get(username="root"), name="t")[1]
    paths = ["/api/deals", "/api/deals/D2", "/api/freshness", "/api/clearance", "/board/", "/deals/D2/"]
    answers = _get_all(signed_in(client, "root"), token, paths)
    assert {p: r.status_code for p, r in answers.items()} == {p: 200 for p in paths}
    assert answers["/api/deals/D2"].json()["name"] == "a\x00b"  # answered as stored (JSON escapes it)


def test_a_quota_ending_in_the_year_9999_is_left_out_and_marked(client, workspace):
    Quota.objects.create(owner_key="rep_a", period_start="2025-01-01", period_end="2025-03-31", amount="1000")
    bad = Quota.objects.create(owner_key="rep_a2", period_start="2025-01-01", period_end="2025-03-31", amount="500")
    _raw("UPDATE goals_quota SET period_end = %s WHERE id = %s", ["9999-12-31", bad.pk])
    token = create_token(user=User.objects.get(username="root"), name="t")[1]
    paths = ["/coverage/?period=2025-Q1", "/funnel/", "/goals/", "/api/coverage?period=2025-Q1&by=owner",
             "/api/quotas"]
    answers = _get_all(signed_in(client, "root"), token, paths)
    assert {p: r.status_code for p, r in answers.items()} == {p: 200 for p in paths}
    goals = answers["/goals/"].content.decode()
    assert f'data-quota="{bad.pk}"' in goals and 'class="invalid" title="invalid: its period' in goals
    assert answers["/api/coverage?period=2025-Q1&by=owner"].json()["period"]  # an answer, not a 500


def test_the_goals_engine_leaves_out_a_row_outside_the_years_and_never_overflows():
    """Hand-worked: a quarter of 90 days (2025-01-01..2025-03-31) with rep_a's quota of 1000 on exactly those days."""
    from datetime import date
    from decimal import Decimal

    import ibis

    from bestby.engine.goals import goal, goals_by_owner, quota_rows
    from bestby.engine.periods import Period

    q1 = Period.of("quarter", 2025, 1)
    assert (q1.start, q1.end) == (date(2025, 1, 1), date(2025, 4, 1))
    table = ibis.memtable({"owner_id": ["rep_a", "rep_a2"], "period_start": [date(2025, 1, 1), date(2025, 1, 1)],
                           "period_end": [date(2025, 3, 31), date(9999, 12, 31)], "amount": [1000.0, 500.0]})
    assert goals_by_owner(quota_rows({"quotas": table}), q1) == {"rep_a": Decimal("1000.00")}
    # the arithmetic itself no longer adds a day to date.max: 90 of 3,287,182 days of 500
    row = ("x", date(2025, 1, 1), date.max, Decimal(500))
    assert goal([row], q1, "x") == (Decimal(500) * 90 / ((date.max - date(2025, 1, 1)).days + 1)).quantize(
        Decimal("0.01"))
