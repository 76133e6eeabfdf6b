"""The Today list and task actions through the API: done, skip, reply, meeting booked, one more call, social.

Germany's calendar, worked by hand (see test_cadences.py): the default cadence
started on Friday 27 March 2026 is due 27, 27, 30 March, 1, 8, 13 April. Done
three business days late (step 3, due Monday 30 March, done Thursday 2 April),
the later steps move three business days each, over Easter: 1 April -> 8 April,
8 -> 13 April, 13 -> 16 April. Rita lives in Berlin (UTC+2 from 29 March), Otto
in New York (UTC-4).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bestby.activities.models import Lead, Touch
from bestby.cadences.models import CadenceTask, Enrollment
from tests.api.cadence_helpers import make_leads, snapshot

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 4, 10, 9, 0, tzinfo=UTC)  # bestby's clock here: after every action's "at" below


@pytest.fixture(autouse=True)
def _clock(frozen_clock):
    return frozen_clock(NOW)


@pytest.fixture
def leads(world, settings):
    return make_leads(world, settings)


@pytest.fixture
def enrolled(world, leads):
    """L1 (rita) and L9 (otto) in the default cadence from 27 March 2026: {lead: [task ids by position]}."""
    out = {}
    for who, key in (("rep", "L1"), ("other", "L9")):
        got = world["api"][who].post("/api/cadences/enrol", {"leads": [key], "start": "2026-03-27"})
        assert got.status_code == 201, got.content
        out[key] = [t["id"] for t in got.json()[0]["tasks"]]
    return out


def test_today_is_each_sellers_own_and_role_cut(world, enrolled):
    rep, mgr, admin, other = (world["api"][k] for k in ("rep", "mgr", "admin", "other"))
    at = "2026-03-30T03:30:00+00:00"   # Monday 05:30 in Berlin; still Sunday 23:30 in New York
    mine = rep.get("/api/today", at=at)
    assert mine.status_code == 200, mine.content
    body = mine.json()
    assert (body["user"], body["day"]) == ("rita", "2026-03-30")
    assert [(t["id"], t["due_on"], t["channel"]) for t in body["tasks"]] == [
        (enrolled["L1"][0], "2026-03-27", "phone"), (enrolled["L1"][1], "2026-03-27", "email"),
        (enrolled["L1"][2], "2026-03-30", "voicemail")]
    assert mgr.get("/api/today", user="rita", at=at).json() == body           # her manager
    assert admin.get("/api/today", user="rita", at=at).json() == body
    ottos = other.get("/api/today", at=at).json()
    assert ottos["day"] == "2026-03-29" and [t["id"] for t in ottos["tasks"]] == enrolled["L9"][:2]
    for api, user in ((mgr, "otto"), (rep, "max"), (rep, "otto"), (rep, "nobody")):
        got = api.get("/api/today", user=user, at=at)
        assert (got.status_code, got.json()) == (404, {"detail": f"no user {user!r} (or you may not see them)",
                                                       "field": "user"})
    naive = rep.get("/api/today", at="2026-03-30T03:30:00")
    assert naive.status_code == 422 and naive.json()["field"] == "at"


def test_done_late_shifts_the_later_steps_and_a_reply_ends_the_cadence(world, enrolled):
    rep, t = world["api"]["rep"], enrolled["L1"]
    first = rep.post(f"/api/tasks/{t[0]}/done", {"outcome": "no_answer", "at": "2026-03-27T09:00:00+01:00"})
    assert first.status_code == 200, first.content
    touch = Touch.objects.get(lead__external_id="L1")
    assert first.json() == {
        "id": t[0], "owner": "rita", "lead": "L1", "contact": None, "deal": None, "name": "Lena One",
        "cadence": "Six touches in ten days", "enrollment": Enrollment.objects.get(lead__external_id="L1").pk, "enrollment_status": "active",
        "position": 1, "channel": "phone", "instruction": first.json()["instruction"], "planned_on": "2026-03-27",
        "due_on": "2026-03-27", "status": "done", "done_on": "2026-03-27", "outcome": "no_answer", "reason": "",
        "touch": touch.external_id}
    assert (touch.channel, touch.direction, touch.outcome) == ("phone", "out", "no_answer")
    skipped = rep.post(f"/api/tasks/{t[1]}/skip", {"reason": "no e-mail address", "at": "2026-03-28T01:00:00+01:00"})
    assert (skipped.json()["status"], skipped.json()["reason"], skipped.json()["touch"]) == (
        "skipped", "no e-mail address", None)
    assert skipped.json()["done_on"] == "2026-03-28"
    late = rep.post(f"/api/tasks/{t[2]}/done", {"outcome": "voicemail_left", "at": "2026-04-02T10:00:00+02:00"})
    assert (late.json()["done_on"], late.json()["due_on"]) == ("2026-04-02", "2026-03-30")
    due = dict(CadenceTask.objects.filter(pk__in=t[3:]).values_list("pk", "due_on"))
    assert [due[k].isoformat() for k in t[3:]] == ["2026-04-08", "2026-04-13", "2026-04-16"]

    replied = rep.post(f"/api/tasks/{t[3]}/reply", {"channel": "email", "at": "2026-04-03T11:00:00+02:00",
                                                    "notes": "call me after Easter"})
    assert replied.status_code == 200, replied.content
    assert (replied.json()["status"], replied.json()["enrollment_status"]) == ("cancelled", "engaged")
    assert list(CadenceTask.objects.filter(pk__in=t).order_by("position").values_list("status", flat=True)) == [
        "done", "skipped", "done", "cancelled", "cancelled", "cancelled"]
    assert Lead.objects.get(external_id="L1").status == "engaged"
    inbound = Touch.objects.get(direction="in")
    assert (inbound.channel, inbound.outcome, inbound.notes) == ("email", "replied", "call me after Easter")
    again = rep.post(f"/api/tasks/{t[4]}/done", {})
    assert (again.status_code, again.json()) == (409, {"detail": f"task {t[4]} is cancelled, not open",
                                                       "field": "task"})


def test_a_manager_records_a_meeting_booked_on_the_teams_task(world, enrolled):
    got = world["api"]["mgr"].post(f"/api/tasks/{enrolled['L1'][0]}/meeting-booked",
                                   {"channel": "phone", "at": "2026-03-27T10:00:00+01:00"})
    assert got.status_code == 200, got.content
    assert got.json()["enrollment_status"] == "engaged"
    booked = Touch.objects.get(outcome="meeting_booked")
    assert (booked.channel, booked.direction, booked.outcome, booked.owner.external_id) == (
        "phone", "in", "meeting_booked", "rita")
    assert Enrollment.objects.get(lead__external_id="L9").status == "active"   # otto's is untouched


def test_task_refusals_name_the_field_and_change_nothing(world, enrolled):
    rep, other = world["api"]["rep"], world["api"]["other"]
    mine = enrolled["L1"][0]
    before = snapshot()
    for action, body in (("done", {}), ("skip", {}), ("reply", {}), ("meeting-booked", {})):
        got = other.post(f"/api/tasks/{mine}/{action}", body)           # rita's task: otto may not see it
        assert (got.status_code, got.json()) == (404, {"detail": f"no task {mine!r} (or you may not see it)",
                                                       "field": None}), action
        assert rep.post(f"/api/tasks/999999/{action}", body).status_code == 404
    cases = [("done", {"outcome": "great"}, "outcome"), ("done", {"at": "2026-03-27T09:00:00"}, "at"),
             ("done", {"at": (NOW + timedelta(days=1)).isoformat()}, "at"),
             ("done", {"at": "1066-10-14T09:00:00+00:00"}, "at"),
             ("reply", {"channel": "social"}, "channel"), ("reply", {"at": "2026-03-27T09:00:00"}, "at"),
             ("skip", {"at": "2026-03-27T09:00:00"}, "at")]
    for action, body, field in cases:
        got = rep.post(f"/api/tasks/{mine}/{action}", body)
        assert (got.status_code, got.json()["field"]) == (422, field), body
    assert snapshot() == before


def test_one_more_call_for_everyone_called_this_week(world, leads, frozen_clock):
    """Thursday 2 April 2026, 13:00 in Berlin: the next business day is Tuesday 7 April (Good Friday, the weekend
    and Easter Monday are not business days in Germany)."""
    rita = world["users"]["rep"]
    now = frozen_clock(datetime(2026, 4, 2, 11, 0, tzinfo=UTC))
    acme_contact = world["deals"]["D1"].account.contacts.get()
    for key, channel, kw in (("x1", "phone", {"lead": leads["L1"]}), ("x2", "voicemail", {"contact": acme_contact}),
                             ("x3", "email", {"lead": leads["L2"]})):
        Touch.objects.create(external_id=key, at=now - timedelta(seconds=1), channel=channel, owner=rita,
                             direction="out", **kw)
    other = world["api"]["other"].post("/api/one-more-call", {"user": "rita"})
    assert (other.status_code, other.json()["field"]) == (404, "user")
    assert not CadenceTask.objects.exists()
    got = world["api"]["mgr"].post("/api/one-more-call", {"user": "rita", "instruction": "Last try."})
    assert got.status_code == 201, got.content
    due = datetime(2026, 4, 7).date()
    made = [(r["lead"], r["contact"], r["owner"], r["channel"], r["due_on"], r["instruction"], r["cadence"])
            for r in got.json()]
    assert len(made) == 2 and set(made) == {(None, "c-acme", "rita", "phone", due.isoformat(), "Last try.", None),
                                            ("L1", None, "rita", "phone", due.isoformat(), "Last try.", None)}


def test_social_is_recorded_for_visible_people_only(world, enrolled):
    rep = world["api"]["rep"]
    got = rep.post("/api/social", {"lead": "L1", "at": "2026-03-27T10:00:00+01:00", "notes": "liked a post"})
    assert got.status_code == 201, got.content
    body = got.json()
    assert body == {"id": body["id"], "at": "2026-03-27T09:00:00Z", "channel": "social", "owner": "rita",
                    "lead": "L1", "contact": None, "account": None, "notes": "liked a post"}
    assert CadenceTask.objects.filter(pk__in=enrolled["L1"], status="open").count() == 6   # completes nothing
    on_contact = rep.post("/api/social", {"contact": "c-acme", "at": "2026-03-27T11:00:00+01:00"}).json()
    assert (on_contact["contact"], on_contact["account"]) == ("c-acme", "acme")
    before = snapshot()
    for body, status, field in (({"lead": "L9"}, 404, "lead"), ({"contact": "c-globex"}, 404, "contact"),
                                ({"lead": "L1", "contact": "c-acme"}, 422, "lead"), ({}, 422, "lead")):
        got = rep.post("/api/social", body)
        assert (got.status_code, got.json()["field"]) == (status, field), body
    assert snapshot() == before


def test_adherence_is_hand_counted_and_role_cut(world, enrolled):
    """Period 27..31 March, as of 31 March: each seller has steps 1-3 due (27, 27, 30 March).

    Rita did step 1 on its day and skipped step 2; step 3 is open past its date. Otto did nothing:
    three overdue. Team A is rita alone (max has no steps); everyone: 6 due, 1 on time, 1 skipped, 4 overdue.
    """
    rep = world["api"]["rep"]
    rep.post(f"/api/tasks/{enrolled['L1'][0]}/done", {"outcome": "no_answer", "at": "2026-03-27T09:00:00+01:00"})
    rep.post(f"/api/tasks/{enrolled['L1'][1]}/skip", {"reason": "no e-mail address", "at": "2026-03-27T09:05:00+01:00"})
    query = {"period": "2026-03-27..2026-03-31", "as_of": "2026-03-31"}

    def steps(api):
        got = api.get("/api/adherence", **query)
        assert got.status_code == 200, got.content
        body = got.json()
        assert (body["period"], body["start"], body["end"], body["as_of"]) == (
            "2026-03-27..2026-03-31", "2026-03-27", "2026-03-31", "2026-03-31")
        return {(r["level"], r["key"]): (r["due"], r["on_time"], r["late"], r["skipped"], r["overdue"])
                for r in body["rows"]}

    assert steps(world["api"]["admin"]) == {("all", "all"): (6, 1, 0, 1, 4), ("team", "A"): (3, 1, 0, 1, 1),
                                            ("team", "B"): (3, 0, 0, 0, 3), ("owner", "rita"): (3, 1, 0, 1, 1),
                                            ("owner", "otto"): (3, 0, 0, 0, 3)}
    assert steps(rep) == {("team", "A"): (3, 1, 0, 1, 1), ("owner", "rita"): (3, 1, 0, 1, 1)}
    assert steps(world["api"]["other"]) == {("team", "B"): (3, 0, 0, 0, 3), ("owner", "otto"): (3, 0, 0, 0, 3)}
    bad = rep.get("/api/adherence", period="2026-03-31..2026-03-27")
    assert (bad.status_code, bad.json()["field"]) == (422, "period")


def test_an_engaged_lead_becomes_a_deal(world, enrolled):
    from bestby.pipeline.models import Deal, Pipeline, Stage

    rep, other = world["api"]["rep"], world["api"]["other"]
    p = Pipeline.objects.create(name="inbound")
    Stage.objects.create(pipeline=p, name="First meeting", position=1, kind="open")
    Stage.objects.create(pipeline=p, name="Won", position=2, kind="won")
    before = snapshot()
    early = rep.post("/api/leads/L1/convert", {"pipeline": "inbound"})
    assert (early.status_code, early.json()["field"]) == (422, "lead") and snapshot() == before
    assert other.post("/api/leads/L1/convert", {}).status_code == 404     # otto may not see rita's lead
    rep.post(f"/api/tasks/{enrolled['L1'][0]}/meeting-booked", {"channel": "phone", "at": "2026-03-27T10:00:00+01:00"})
    bad = rep.post("/api/leads/L1/convert", {"pipeline": "inbound", "stage": "Won"})
    assert (bad.status_code, bad.json()["field"]) == (422, "stage")
    got = rep.post("/api/leads/L1/convert", {"pipeline": "inbound", "amount": "12000"})
    assert (got.status_code, got.json()) == (201, {"lead": "L1", "deal": "lead-L1", "pipeline": "inbound",
                                                   "stage": "First meeting", "owner": "rita"})
    deal = Deal.objects.get(external_id="lead-L1")
    assert str(deal.amount) == "12000.00" and Lead.objects.get(external_id="L1").status == "converted"
