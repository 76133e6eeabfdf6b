"""The CSV export and the calendar feed follow the same access rules as the pages."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from icalendar import Calendar

from bestby.api.tokens import create_token, revoke
from bestby.clearance.services import snooze
from bestby.people.models import User
from tests.web.test_board import AS_OF, T0, signed_in, workspace  # noqa: F401 - the fixture is used by name

pytestmark = pytest.mark.django_db


def exported(client) -> dict[str, dict]:
    response = client.get("/export/deals.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    return {r["deal_id"]: r for r in rows}


def test_export_requires_sign_in(client, workspace):
    response = client.get("/export/deals.csv")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


@pytest.mark.parametrize(("who", "deals"), [
    ("rep_a", {"D1", "D2"}),  # D5 is rep_a's too, but won: not open
    ("rep_b", {"D7", "D8"}),
    ("root", {"D1", "D2", "D3", "D4", "D7", "D8"}),
])
def test_export_is_the_visible_open_deals(client, workspace, who, deals):
    assert set(exported(signed_in(client, who))) == deals


def test_export_for_a_manager_is_the_team(client, workspace):
    rows = exported(signed_in(client, "mgr"))
    assert "D7" not in rows and "D8" not in rows  # team B
    assert rows["D3"]["state"] == "stalled" and rows["D3"]["reasons"] == "no touch for 95 days"
    assert rows["D4"]["state"] == "aging" and rows["D4"]["best_by"] == (AS_OF - timedelta(days=3)).isoformat()


def test_export_writes_formulas_as_text_and_numbers_as_numbers(client, workspace):
    """A rep's deal name that a spreadsheet would run is written behind a quote; a negative amount stays a number."""
    from decimal import Decimal

    from bestby.pipeline.models import Deal

    Deal.objects.filter(external_id="D1").update(name='=HYPERLINK("http://evil.test","open")')
    Deal.objects.filter(external_id="D2").update(name="-2+3", amount=Decimal("-250.00"), currency="@EU")
    Deal.objects.filter(external_id="D4").update(name="+1\t@SUM(A1)")
    rows = exported(signed_in(client, "mgr"))
    assert rows["D1"]["name"] == '\'=HYPERLINK("http://evil.test","open")'
    assert (rows["D2"]["name"], rows["D2"]["amount"], rows["D2"]["currency"]) == ("'-2+3", "-250.00", "'@EU")
    assert rows["D4"]["name"] == "'+1\t@SUM(A1)"
    assert rows["D3"]["name"] == "Deal D3" and rows["D3"]["amount"] == "2500.00"


def events(response) -> dict[str, dict]:
    cal = Calendar.from_ical(response.content)
    return {str(e["UID"]): {"day": e.decoded("DTSTART"), "summary": str(e["SUMMARY"])} for e in cal.walk("VEVENT")}


def test_calendar_feed_lists_the_token_owners_visible_deals(client, workspace):
    rep_b = User.objects.get(username="rep_b")
    _, token = create_token(user=rep_b, name="calendar")
    snooze(deal="D7", until=date(2099, 1, 1), reason="budget next year", by=rep_b)
    response = client.get(f"/calendar/{token}.ics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    got = events(response)
    close = (T0 + timedelta(days=60)).date()
    # D7 has a cached best-by and a close date and is snoozed; D8 (no cache row) only its close date
    assert got["best-by-D7@bestby"]["day"] == (AS_OF - timedelta(days=3)).date()
    assert got["close-D7@bestby"]["day"] == close and got["close-D8@bestby"]["day"] == close
    assert any(v["day"] == date(2099, 1, 1) and v["summary"].startswith("Snooze ends") for v in got.values())
    assert not any("D1" in uid or "D3" in uid for uid in got)  # team A's deals are not in rep_b's feed


def test_calendar_feed_refuses_bad_and_revoked_tokens(client, workspace):
    assert client.get("/calendar/bb_not-a-token.ics").status_code == 404
    token_row, token = create_token(user=User.objects.get(username="rep_b"), name="calendar")
    assert client.get(f"/calendar/{token}.ics").status_code == 200
    revoke(token_row.prefix)
    assert client.get(f"/calendar/{token}.ics").status_code == 404
