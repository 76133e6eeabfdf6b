"""`bestby cadence enrol|list`, `bestby today`, `bestby calendar` on the store (CliRunner).

Germany's calendar (BESTBY_COUNTRY=DE). From Friday 27 March 2026 the default cadence (offsets 0, 0, 1,
3, 6, 9) is due 27, 27, 30 March, 1, 8 and 13 April (Good Friday 3 and Easter Monday 6 April are
holidays; worked by hand in test_ical.py). From Tuesday 31 March it is due 31, 31 March, 1, 7, 10 and
15 April: 1 April = 1, 2 = 2, 7 = 3 (3 and 6 April skipped), 8 = 4, 9 = 5, 10 = 6, 13 = 7, 14 = 8, 15 = 9.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest
from icalendar import Calendar
from typer.testing import CliRunner

from bestby.activities.models import Lead
from bestby.audit.models import AuditEntry
from bestby.cadences import schedule, services
from bestby.cadences.models import Cadence, CadenceTask, Enrollment
from bestby.cli import app
from bestby.people.models import User

pytestmark = pytest.mark.django_db(transaction=True)
runner = CliRunner()
UTC = timezone.utc
D = date
FROM_27_MARCH = [D(2026, 3, 27), D(2026, 3, 27), D(2026, 3, 30), D(2026, 4, 1), D(2026, 4, 8), D(2026, 4, 13)]


@pytest.fixture(autouse=True)
def _spring_2026(frozen_clock):
    """The enrolments start in spring 2026; the command line takes a start within a year of today: freeze it."""
    frozen_clock("2026-04-15T09:00:00Z")


@pytest.fixture(autouse=True)
def germany(settings):
    settings.BESTBY_COUNTRY = "DE"
    settings.BESTBY_COUNTRY_REGION = None


@pytest.fixture
def rita():
    user = User.objects.create(username="rita", email="rita@example.com", external_id="u-rita", role="rep",
                               time_zone="Europe/Berlin")
    Lead.objects.create(external_id="L1", name="Anna Berg", company="Acme GmbH", owner=user, status="new")
    Lead.objects.create(external_id="L2", name="Bo Lind", owner=user, status="new")
    Lead.objects.create(external_id="L3", name="Cleo", owner=user, status="converted")
    return user


def due(key: str) -> list[date]:
    return list(CadenceTask.objects.filter(lead__external_id=key).order_by("position").values_list("due_on", flat=True))


def snapshot():
    return (Enrollment.objects.count(), CadenceTask.objects.count(), AuditEntry.objects.count(),
            list(Lead.objects.values_list("external_id", "status")))


def test_enrol_stores_the_tasks_and_shows_their_due_dates(rita):
    result = runner.invoke(app, ["cadence", "enrol", "L1", "L2", "--start", "2026-03-27", "--by", "rita@example.com"])
    assert result.exit_code == 0, result.output
    assert due("L1") == FROM_27_MARCH and due("L2") == FROM_27_MARCH
    assert set(Lead.objects.filter(status="in_cadence").values_list("external_id", flat=True)) == {"L1", "L2"}
    assert AuditEntry.objects.filter(action="cadence.enrol").count() == 2
    assert "Six touches in ten days" in result.stdout and "2 leads enrolled" in result.stdout
    for day in ("2026-03-27", "2026-03-30", "2026-04-01", "2026-04-08", "2026-04-13"):
        assert day in result.stdout


def test_enrol_in_a_named_cadence(rita):
    services.save_cadence(name="Quick two", steps=[schedule.Step(0, "phone", "Call."), schedule.Step(2, "email", "Mail.")])
    result = runner.invoke(app, ["cadence", "enrol", "L1", "--cadence", "Quick two", "--start", "2026-04-02"])
    assert result.exit_code == 0, result.output
    # Thursday 2 April; two business days later: 3 and 6 April are holidays, 7 April = 1, 8 April = 2
    assert due("L1") == [D(2026, 4, 2), D(2026, 4, 8)]
    assert Enrollment.objects.get().cadence.name == "Quick two"


@pytest.mark.parametrize(("args", "names"), [
    (["L1", "NOPE"], ["LEAD_ID", "NOPE"]),
    (["L1", "L1"], ["LEAD_ID", "twice"]),
    (["L3"], ["LEAD_ID", "L3", "converted"]),
    (["L1", "--cadence", "Nope"], ["--cadence", "Nope"]),
    (["L1", "--start", "2026-02-30"], ["--start", "2026-02-30"]),
    (["L1", "--start", "2025-01-02"], ["--start", "more than a year ago"]),  # the clock reads 2026-04-15
    (["L1", "--start", "2027-06-01"], ["--start", "more than a year ahead"]),
    (["L1", "--by", "nobody@example.com"], ["--by", "nobody@example.com"]),
])
def test_enrol_refusals_exit_2_and_change_nothing(rita, args, names):
    before = snapshot()
    result = runner.invoke(app, ["cadence", "enrol", *args])
    assert result.exit_code == 2, result.output
    for name in names:
        assert name in result.stderr
    assert snapshot() == before


def test_enrol_is_all_or_nothing(rita):
    services.enrol(leads=[Lead.objects.get(external_id="L1")], start=D(2026, 3, 27))
    before = snapshot()
    result = runner.invoke(app, ["cadence", "enrol", "L2", "L1", "--start", "2026-03-30"])
    assert result.exit_code == 2 and "LEAD_ID" in result.stderr and "already in a running cadence" in result.stderr
    assert snapshot() == before and due("L2") == []


def test_today_json_is_exact(rita):
    ned = User.objects.create(username="ned", email="ned@example.com", external_id="u-ned", role="rep",
                              time_zone="America/New_York")
    services.enrol(leads=[Lead.objects.create(external_id="L9", name="Zed", owner=ned, status="new")],
                   start=D(2026, 3, 27))
    [one] = services.enrol(leads=[Lead.objects.get(external_id="L1")], start=D(2026, 3, 27))
    [two] = services.enrol(leads=[Lead.objects.get(external_id="L2")], start=D(2026, 3, 31))
    services.complete(one.tasks.get(position=1).pk, outcome="no_answer", at=datetime(2026, 3, 27, 9, tzinfo=UTC))
    pk = {(e.lead.external_id, t.position): t.pk for e in (one, two) for t in e.tasks.all()}
    result = runner.invoke(app, ["today", "--user", "rita@example.com", "--json", "--as-of", "2026-03-31T10:00:00+02:00"])
    assert result.exit_code == 0, result.output
    cadence = "Six touches in ten days"
    # Tuesday 31 March: L1's step 2 was due Friday 27 (late by Monday 30 and Tuesday 31: 2 business days),
    # its step 3 Monday 30 (1); L2's steps 1 and 2 are due today; step 1 of L1 is done, the rest is later
    assert json.loads(result.stdout) == {"user": "rita@example.com", "day": "2026-03-31", "time_zone": "Europe/Berlin",
                                         "tasks": [
        {"task_id": pk["L1", 2], "due_on": "2026-03-27", "overdue_business_days": 2, "channel": "email",
         "person": "Anna Berg (Acme GmbH)", "lead_id": "L1", "contact_id": None, "deal_id": None,
         "instruction": "Send the introduction email with one clear question.", "cadence": cadence, "step": 2},
        {"task_id": pk["L1", 3], "due_on": "2026-03-30", "overdue_business_days": 1, "channel": "voicemail",
         "person": "Anna Berg (Acme GmbH)", "lead_id": "L1", "contact_id": None, "deal_id": None,
         "instruction": "Call again; leave a short voicemail that points to the email.", "cadence": cadence,
         "step": 3},
        {"task_id": pk["L2", 1], "due_on": "2026-03-31", "overdue_business_days": 0, "channel": "phone",
         "person": "Bo Lind", "lead_id": "L2", "contact_id": None, "deal_id": None,
         "instruction": "Call: introduce yourself and the reason for calling; no voicemail yet.", "cadence": cadence,
         "step": 1},
        {"task_id": pk["L2", 2], "due_on": "2026-03-31", "overdue_business_days": 0, "channel": "email",
         "person": "Bo Lind", "lead_id": "L2", "contact_id": None, "deal_id": None,
         "instruction": "Send the introduction email with one clear question.", "cadence": cadence, "step": 2},
    ]}


def test_today_as_of_without_offset_is_the_sellers_wall_clock(rita):
    services.enrol(leads=[Lead.objects.get(external_id="L2")], start=D(2026, 3, 31))
    # 23:30 on Monday 30 March in Berlin (read as UTC it would be 01:30 on Tuesday in Berlin): nothing due yet
    result = runner.invoke(app, ["today", "--user", "u-rita", "--json", "--as-of", "2026-03-30T23:30"])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert got["day"] == "2026-03-30" and got["tasks"] == []
    table = runner.invoke(app, ["today", "--user", "rita", "--as-of", "2026-03-31"])
    assert table.exit_code == 0 and "Bo Lind" in table.stdout and "2 tasks due, 0 overdue" in table.stdout


@pytest.mark.parametrize(("args", "name"), [
    (["today", "--user", "nobody@example.com"], "--user"),
    (["today", "--user", "rita", "--as-of", "tomorrow"], "--as-of"),
    (["calendar", "--user", "nobody"], "--user"),
])
def test_bad_arguments_exit_2_naming_them(rita, args, name):
    result = runner.invoke(app, args)
    assert result.exit_code == 2 and name in result.stderr


def test_calendar_writes_the_open_tasks_as_icalendar(rita):
    [e] = services.enrol(leads=[Lead.objects.get(external_id="L1")], start=D(2026, 3, 27))
    services.complete(e.tasks.get(position=1).pk, outcome="no_answer", at=datetime(2026, 3, 27, 9, tzinfo=UTC))
    result = runner.invoke(app, ["calendar", "--user", "rita@example.com"])
    assert result.exit_code == 0, result.output
    cal = Calendar.from_ical(result.stdout_bytes)
    got = {str(v["UID"]): v.decoded("DTSTART") for v in cal.walk("VEVENT")}
    assert got == {f"task-{e.tasks.get(position=k).pk}@bestby": FROM_27_MARCH[k - 1] for k in range(2, 7)}


def test_cadence_list_shows_steps_and_writes_nothing(rita):
    result = runner.invoke(app, ["cadence", "list"])
    assert result.exit_code == 0, result.output
    assert "Six touches in ten days" in result.stdout and "created on first enrolment" in result.stdout
    assert Cadence.objects.count() == 0
    services.save_cadence(name="Quick two", steps=[schedule.Step(0, "phone", "Call."), schedule.Step(2, "email", "Mail.")])
    result = runner.invoke(app, ["cadence", "list"])
    assert result.stdout.splitlines()[0].strip() == "Quick two"
    rows = [[cell.strip() for cell in line.split("│")[1:-1]] for line in result.stdout.splitlines() if "│" in line]
    assert rows == [["1", "0", "phone", "Call."], ["2", "2", "email", "Mail."]]
    assert "Six touches" not in result.stdout   # only stored cadences once there are any


def test_convert_an_engaged_lead_from_the_command_line():
    from bestby.pipeline.models import Deal, Pipeline, Stage

    rep = User.objects.create(username="cora", email="cora@example.com", external_id="u-cora", role="rep")
    p = Pipeline.objects.create(name="inbound")
    Stage.objects.create(pipeline=p, name="Meeting", position=1, kind="open")
    Stage.objects.create(pipeline=p, name="Won", position=2, kind="won")
    lead = Lead.objects.create(external_id="LX", owner=rep, status="new", company="Globex")
    result = runner.invoke(app, ["cadence", "convert", "LX"])
    assert result.exit_code == 2 and "LEAD_ID" in result.output and Deal.objects.count() == 0
    [e] = services.enrol(leads=[lead], start=D(2026, 3, 27))
    services.buyer_engaged(e.tasks.get(position=1).pk, outcome="replied", at=datetime(2026, 3, 27, 9, tzinfo=UTC))
    result = runner.invoke(app, ["cadence", "convert", "LX", "--stage", "Nope"])
    assert result.exit_code == 2 and "--stage" in result.output and Deal.objects.count() == 0
    result = runner.invoke(app, ["cadence", "convert", "LX", "--by", "cora@example.com"])
    assert result.exit_code == 0, result.output
    assert "deal lead-LX in inbound / Meeting" in result.output
    assert Deal.objects.get(external_id="lead-LX").name == "Globex"
