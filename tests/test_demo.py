"""The sample workspace behind `make demo`: data, sign-ins, safe to run again, and the same on any day.

The demo takes its day from bestby's clock. Each test freezes it; the first
runs on two days chosen to differ in every way a day can matter: a Monday
morning, and a Saturday night near the end of a year. Both are days on which
the synthetic data used to hold a lead "in a cadence" for the demo rep with
no enrolment behind it (L0028), which broke this test on such days. Worked by
hand, with the default cadence (steps at 0, 0, 1, 3, 6, 9 business days; no
country set, so only weekends are skipped) started three calendar days
before today:

* Monday 4 May 2026, 09:00 UTC: started Friday 1 May; steps due 1 May, 1 May,
  Mon 4 May, Wed 6 May, ...: three tasks per lead due today or earlier.
* Saturday 26 December 2026, 23:30 UTC: started Wednesday 23 December; steps
  due 23, 23, 24, Mon 28 December, ...: three tasks per lead due today or earlier.
"""

import stat
from datetime import UTC, datetime, timedelta

import pytest

from bestby.demo import prepare_demo
from bestby.people.models import User
from bestby.pipeline.models import Deal

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
SATURDAY_AT_YEAR_END = datetime(2026, 12, 26, 23, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def day(request, frozen_clock):
    """The clock for every test here: Monday, unless a test asks for other days (``indirect``)."""
    return frozen_clock(getattr(request, "param", MONDAY))


@pytest.mark.django_db(transaction=True)  # committed, so that the engine's read of the store sees the data
@pytest.mark.parametrize("day", [MONDAY, SATURDAY_AT_YEAR_END], indirect=True, ids=["monday", "saturday-year-end"])
def test_demo_workspace_has_data_and_three_working_sign_ins(tmp_path, monkeypatch, day):
    monkeypatch.delenv("BESTBY_DEMO_PASSWORD", raising=False)
    info = prepare_demo(deals=60, home=tmp_path)
    assert Deal.objects.count() == 60
    secret = tmp_path / "demo_password"
    assert secret.read_text().strip() == info.password
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    for login, role in ((info.admin_login, "admin"), (info.manager_login, "manager"), (info.rep_login, "rep")):
        user = User.objects.get(username=login)
        assert user.role == role and user.check_password(info.password)
    assert User.objects.get(username=info.admin_login).is_superuser
    rep = User.objects.get(username=info.rep_login)
    assert rep.manager.username == info.manager_login
    # the rep's Today opens with work: their first live leads in the default cadence, started 3 days ago
    from bestby.activities.models import Lead
    from bestby.cadences.models import Enrollment

    live = list(Lead.objects.filter(owner=rep, status="in_cadence").values_list("external_id", flat=True))
    enrolled = list(Enrollment.objects.filter(owner=rep).values_list("lead__external_id", flat=True))
    assert sorted(enrolled) == sorted(live) and 0 < len(enrolled) <= 6
    # a lead is never in a cadence without an enrolment, anywhere in the workspace
    running = Enrollment.objects.filter(status="active").values_list("lead__external_id", flat=True)
    assert sorted(Lead.objects.filter(status="in_cadence").values_list("external_id", flat=True)) == sorted(running)
    assert set(Enrollment.objects.values_list("started_on", flat=True)) == {day.date() - timedelta(days=3)}
    from bestby.cadences.services import today

    seller_day, due = today(rep)
    assert seller_day == day.date() and len(due) == 3 * len(enrolled)
    # the data ends just before the clock's day, and the freshness cache is as of the clock
    from bestby.activities.models import Touch
    from bestby.clearance.models import Freshness
    from bestby.pipeline.models import StageEvent

    midnight = datetime.combine(day.date(), datetime.min.time(), UTC)
    latest = max(Deal.objects.latest("created_at").created_at, StageEvent.objects.latest("at").at,
                 Touch.objects.latest("at").at, Lead.objects.latest("created_at").created_at)
    assert midnight - timedelta(days=30) < latest < midnight
    assert Freshness.objects.exists() and set(Freshness.objects.values_list("as_of", flat=True)) == {day}


def test_demo_runs_again_without_duplicating_anything(tmp_path, monkeypatch):
    monkeypatch.setenv("BESTBY_DEMO_PASSWORD", "demo-from-environment")
    first = prepare_demo(deals=60, home=tmp_path)
    users = User.objects.count()
    second = prepare_demo(deals=60, home=tmp_path)
    assert Deal.objects.count() == 60 and User.objects.count() == users
    assert first.password == second.password == "demo-from-environment"
    assert "0 rows new" in second.summary
    from bestby.cadences.models import Enrollment

    assert "enrolled" in first.summary and "enrolled" not in second.summary
    assert f"; {Enrollment.objects.count()} of the demo rep's leads enrolled" in first.summary


def test_signed_in_demo_manager_sees_the_pipeline(client, tmp_path, monkeypatch):
    monkeypatch.setenv("BESTBY_DEMO_PASSWORD", "demo-from-environment")
    info = prepare_demo(deals=60, home=tmp_path)
    assert client.login(username=info.manager_login, password=info.password)
    html = client.get("/").content.decode()
    assert "Pipeline by stage" in html and 'data-stage="Qualify"' in html
