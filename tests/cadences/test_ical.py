"""The tasks calendar: one all-day event per open task, parsed back with icalendar and checked by hand.

Calendar: Germany (BESTBY_COUNTRY=DE), as in test_services.py. From Friday 27 March 2026 the default
cadence (offsets 0, 0, 1, 3, 6, 9 business days) is due:
  step 1 phone      Fri 27 March
  step 2 email      Fri 27 March
  step 3 voicemail  Mon 30 March   (the weekend 28/29 March is skipped; Berlin moves to summer time on the 29th)
  step 4 phone      Wed  1 April   (30 = 1, 31 = 2, 1 April = 3)
  step 5 text       Wed  8 April   (2 April = 4, Good Friday 3 and Easter Monday 6 April skipped, 7 = 5, 8 = 6)
  step 6 email      Mon 13 April   (9 = 7, 10 = 8, 13 = 9)
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest
from icalendar import Calendar

from bestby.accounts.models import Account, Contact
from bestby.activities.models import Lead, Touch
from bestby.cadences import services
from bestby.cadences.ical import tasks_calendar
from bestby.people.models import User

pytestmark = pytest.mark.django_db
UTC = timezone.utc
D = date
STAMP = datetime(2026, 4, 20, 6, 0, tzinfo=UTC)   # after every due date: overdue tasks must still be there
PERSON = "Anna Berg (Acme GmbH)"
DEFAULT_DUE = [D(2026, 3, 27), D(2026, 3, 27), D(2026, 3, 30), D(2026, 4, 1), D(2026, 4, 8), D(2026, 4, 13)]


@pytest.fixture(autouse=True)
def germany(settings):
    settings.BESTBY_COUNTRY = "DE"
    settings.BESTBY_COUNTRY_REGION = None


@pytest.fixture
def rep():
    return User.objects.create(username="rita", email="rita@example.com", external_id="u-rita", role="rep",
                               time_zone="Europe/Berlin")


@pytest.fixture
def anna(rep):
    return Lead.objects.create(external_id="L1", name="Anna Berg", company="Acme GmbH", phone="+49 30 1234567",
                               email="anna@acme.example", owner=rep, status="new")


def events(text: bytes) -> dict[str, dict]:
    cal = Calendar.from_ical(text)
    return {str(e["UID"]): {"start": e.decoded("DTSTART"), "end": e.decoded("DTEND"), "summary": str(e["SUMMARY"]),
                            "description": str(e["DESCRIPTION"]), "stamp": e.decoded("DTSTAMP")}
            for e in cal.walk("VEVENT")}


def uid(enrollment, position: int) -> str:
    return f"task-{enrollment.tasks.get(position=position).pk}@bestby"


def test_one_all_day_event_per_open_task(rep, anna):
    [e] = services.enrol(leads=[anna], start=D(2026, 3, 27))
    got = events(tasks_calendar(rep, stamp=STAMP))
    assert len(got) == 6
    assert [got[uid(e, k)]["start"] for k in range(1, 7)] == DEFAULT_DUE
    assert [got[uid(e, k)]["summary"] for k in range(1, 7)] == [
        f"Call: {PERSON}", f"Email: {PERSON}", f"Call (voicemail): {PERSON}", f"Call: {PERSON}", f"Text: {PERSON}",
        f"Email: {PERSON}"]
    first = got[uid(e, 1)]
    assert first["description"] == (
        "Lead: Anna Berg (Acme GmbH) [L1]\n"
        "Phone: +49 30 1234567\n"
        "E-mail: anna@acme.example\n"
        "Channel: phone\n"
        "Instruction: Call: introduce yourself and the reason for calling; no voicemail yet.\n"
        "Cadence: Six touches in ten days, step 1")
    assert got[uid(e, 6)]["description"].endswith(
        "Channel: email\nInstruction: Send the break-up email: ask whether to close the file or talk later.\n"
        "Cadence: Six touches in ten days, step 6")
    assert first["end"] == D(2026, 3, 28) and first["stamp"] == STAMP


def test_done_tasks_disappear_and_shifted_ones_move_under_the_same_uid(rep, anna):
    [e] = services.enrol(leads=[anna], start=D(2026, 3, 27))
    before = events(tasks_calendar(rep, stamp=STAMP))
    services.complete(e.tasks.get(position=1).pk, outcome="no_answer", at=datetime(2026, 3, 27, 9, tzinfo=UTC))
    services.skip(e.tasks.get(position=2).pk, reason="no e-mail yet", at=datetime(2026, 3, 27, 10, tzinfo=UTC))
    after = events(tasks_calendar(rep, stamp=STAMP))
    assert set(before) - set(after) == {uid(e, 1), uid(e, 2)} and len(after) == 4
    # step 3 (due Monday 30 March) done Thursday 2 April in Berlin: 3 business days late (31 March, 1 and 2
    # April), so steps 4 to 6 move 3 business days: 1 April -> 8 April, 8 -> 13 April, 13 -> 16 April
    services.complete(e.tasks.get(position=3).pk, outcome="voicemail_left", at=datetime(2026, 4, 2, 8, tzinfo=UTC))
    moved = events(tasks_calendar(rep, stamp=STAMP))
    assert {k: v["start"] for k, v in moved.items()} == {
        uid(e, 4): D(2026, 4, 8), uid(e, 5): D(2026, 4, 13), uid(e, 6): D(2026, 4, 16)}


def test_dates_stay_across_the_daylight_saving_weekend(rep, anna):
    # Berlin moves from UTC+1 to UTC+2 at 02:00 on Sunday 29 March 2026. 22:30 UTC that Sunday is Monday
    # 00:30 in Berlin, so an enrolment made then starts Monday 30 March on the seller's calendar.
    second = Lead.objects.create(external_id="L2", name="Bo Lind", owner=rep, status="new")
    [e1] = services.enrol(leads=[anna], start=D(2026, 3, 27))
    [e2] = services.enrol(leads=[second], now=datetime(2026, 3, 29, 22, 30, tzinfo=UTC))
    text = tasks_calendar(rep, stamp=STAMP)
    got = events(text)
    assert [got[uid(e1, k)]["start"] for k in (2, 3)] == [D(2026, 3, 27), D(2026, 3, 30)]
    assert [got[uid(e2, k)]["start"] for k in (1, 2, 3)] == [D(2026, 3, 30), D(2026, 3, 30), D(2026, 3, 31)]
    # dates, not instants: no time and no zone that a calendar app could convert to another day
    assert all(type(v["start"]) is date for v in got.values())
    lines = text.decode().split("\r\n")
    starts = [x for x in lines if x.startswith("DTSTART")]
    assert len(starts) == 12 and all(x.startswith("DTSTART;VALUE=DATE:") for x in starts)
    assert "DTSTART;VALUE=DATE:20260330" in starts and "TZID" not in text.decode()


def test_extra_call_for_a_contact_and_only_the_sellers_own_tasks(rep, anna):
    ned = User.objects.create(username="ned", email="ned@example.com", external_id="u-ned", role="rep",
                              time_zone="America/New_York")
    services.enrol(leads=[Lead.objects.create(external_id="L9", name="Ned's lead", owner=ned, status="new")],
                   start=D(2026, 3, 27))
    beta = Account.objects.create(external_id="A1", name="Beta AG")
    Contact.objects.create(external_id="C1", account=beta, name="Cy Meyer")
    Touch.objects.create(external_id="t1", at=datetime(2026, 4, 1, 8, tzinfo=UTC), channel="phone", owner=rep,
                         direction="out", contact=Contact.objects.get(external_id="C1"))
    # Thursday 2 April: one more call, due the next business day after Good Friday and Easter Monday
    [extra] = services.one_more_call(rep, now=datetime(2026, 4, 2, 13, tzinfo=UTC))
    got = events(tasks_calendar(rep, stamp=STAMP))
    assert list(got) == [f"task-{extra.pk}@bestby"]   # Ned's six tasks are not in Rita's calendar
    event = got[f"task-{extra.pk}@bestby"]
    assert event["start"] == D(2026, 4, 7) and event["summary"] == "Call: Cy Meyer (Beta AG)"
    assert event["description"] == ("Contact: Cy Meyer (Beta AG) [C1]\nChannel: phone\nInstruction: One more call.\n"
                                    "Cadence: extra call (one more call), no cadence")
    assert len(events(tasks_calendar(ned, stamp=STAMP))) == 6


def test_an_empty_calendar_is_still_a_valid_calendar(rep):
    cal = Calendar.from_ical(tasks_calendar(rep, stamp=STAMP))
    assert cal.walk("VEVENT") == [] and str(cal["VERSION"]) == "2.0"
