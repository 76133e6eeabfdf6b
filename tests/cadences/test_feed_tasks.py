"""Open cadence tasks in the secret calendar feed (/calendar/<token>.ics) and the signed-in download.

Germany's calendar (BESTBY_COUNTRY=DE); from Friday 27 March 2026 the default cadence is due 27, 27, 30
March, 1, 8 and 13 April (worked by hand in test_ical.py).
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from icalendar import Calendar

from bestby.activities.models import Lead
from bestby.api.tokens import create_token, revoke
from bestby.cadences import services
from bestby.people.models import User

pytestmark = pytest.mark.django_db
UTC = timezone.utc
D = date


@pytest.fixture(autouse=True)
def germany(settings):
    settings.BESTBY_COUNTRY = "DE"
    settings.BESTBY_COUNTRY_REGION = None


@pytest.fixture
def sellers():
    rita = User.objects.create(username="rita", email="rita@example.com", external_id="u-rita", role="rep",
                               time_zone="Europe/Berlin")
    ned = User.objects.create(username="ned", email="ned@example.com", external_id="u-ned", role="rep",
                              time_zone="America/New_York")
    [mine] = services.enrol(leads=[Lead.objects.create(external_id="L1", name="Anna Berg", company="Acme GmbH",
                                                       owner=rita, status="new")], start=D(2026, 3, 27))
    services.enrol(leads=[Lead.objects.create(external_id="L9", name="Zed", owner=ned, status="new")],
                   start=D(2026, 3, 27))
    return rita, ned, mine


def task_events(response) -> dict[str, tuple]:
    cal = Calendar.from_ical(response.content)
    return {str(e["UID"]): (e.decoded("DTSTART"), str(e["SUMMARY"])) for e in cal.walk("VEVENT")
            if str(e["UID"]).startswith("task-")}


def expected(enrollment) -> dict[str, tuple]:
    due = [D(2026, 3, 27), D(2026, 3, 27), D(2026, 3, 30), D(2026, 4, 1), D(2026, 4, 8), D(2026, 4, 13)]
    verbs = ["Call", "Email", "Call (voicemail)", "Call", "Text", "Email"]
    return {f"task-{enrollment.tasks.get(position=k).pk}@bestby": (due[k - 1], f"{verbs[k - 1]}: Anna Berg (Acme GmbH)")
            for k in range(1, 7)}


def test_token_feed_lists_the_owners_open_tasks(client, sellers):
    rita, _, mine = sellers
    _, token = create_token(user=rita, name="calendar")
    response = client.get(f"/calendar/{token}.ics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    assert task_events(response) == expected(mine)   # Ned's tasks are not in it
    services.complete(mine.tasks.get(position=1).pk, outcome="no_answer", at=datetime(2026, 3, 27, 9, tzinfo=UTC))
    got = task_events(client.get(f"/calendar/{token}.ics"))
    assert len(got) == 5 and f"task-{mine.tasks.get(position=1).pk}@bestby" not in got


def test_revoked_token_ends_the_feed(client, sellers):
    rita, _, _ = sellers
    row, token = create_token(user=rita, name="calendar")
    assert client.get(f"/calendar/{token}.ics").status_code == 200
    revoke(row.prefix)
    assert client.get(f"/calendar/{token}.ics").status_code == 404


def test_download_needs_sign_in_and_is_the_users_own(client, sellers):
    rita, ned, mine = sellers
    response = client.get("/calendar/tasks.ics")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
    client.force_login(rita)
    response = client.get("/calendar/tasks.ics")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/calendar")
    assert response["Content-Disposition"] == 'attachment; filename="bestby-tasks.ics"'
    assert task_events(response) == expected(mine)
    client.force_login(ned)
    assert {v[1] for v in task_events(client.get("/calendar/tasks.ics")).values()} == {
        "Call: Zed", "Email: Zed", "Call (voicemail): Zed", "Text: Zed"}
