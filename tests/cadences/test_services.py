"""Cadence services on the store: enrol, late completion, reply, nurture, skip, social, one more call, Today.

The calendar is Germany's (BESTBY_COUNTRY=DE) in March/April 2026, worked by hand in test_schedule.py:
from Friday 27 March the default cadence is due 27, 27 March, 30 March, 1, 8 and 13 April.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pytest

from bestby.activities.models import Lead, Touch
from bestby.accounts.models import Account, Contact
from bestby.audit.models import AuditEntry
from bestby.cadences import services
from bestby.cadences.models import CadenceTask, Enrollment
from bestby.people.models import User

pytestmark = pytest.mark.django_db
UTC = timezone.utc
D = date


@pytest.fixture(autouse=True)
def germany(settings):
    settings.BESTBY_COUNTRY = "DE"
    settings.BESTBY_COUNTRY_REGION = None


@pytest.fixture
def rep():
    return User.objects.create(username="rita", email="rita@example.com", external_id="u-rita", role="rep",
                               time_zone="Europe/Berlin")


def lead(owner, key="L1"):
    return Lead.objects.create(external_id=key, name=f"Lead {key}", owner=owner, status="new")


def tasks(enrollment):
    return list(enrollment.tasks.order_by("position").values_list("position", "due_on", "status"))


def snapshot():
    return (Enrollment.objects.count(), CadenceTask.objects.count(), Touch.objects.count(), AuditEntry.objects.count(),
            list(Lead.objects.values_list("external_id", "status")))


def test_enrol_creates_dated_tasks_on_the_sellers_calendar(rep):
    [e] = services.enrol(leads=[lead(rep)], start=D(2026, 3, 27), by=rep)
    assert [d for _, d, _ in tasks(e)] == [D(2026, 3, 27), D(2026, 3, 27), D(2026, 3, 30), D(2026, 4, 1),
                                           D(2026, 4, 8), D(2026, 4, 13)]
    assert Lead.objects.get(external_id="L1").status == "in_cadence"
    assert e.cadence.is_default and e.cadence.steps.count() == 6
    assert AuditEntry.objects.filter(action="cadence.enrol", object_id="L1").count() == 1


def test_start_defaults_to_the_sellers_local_today(rep):
    # 22:30 UTC on Sunday 29 March is Monday 00:30 in Berlin
    [e] = services.enrol(leads=[lead(rep)], by=rep, now=datetime(2026, 3, 29, 22, 30, tzinfo=UTC))
    assert e.started_on == D(2026, 3, 30) and tasks(e)[0][1] == D(2026, 3, 30)


def test_enrolling_twice_is_refused_and_changes_nothing(rep):
    one = lead(rep)
    services.enrol(leads=[one], start=D(2026, 3, 27))
    two = lead(rep, "L2")
    before = snapshot()
    with pytest.raises(services.CadenceError) as exc:
        services.enrol(leads=[two, one], start=D(2026, 3, 27))
    assert exc.value.param == "leads" and "L1" in exc.value.message
    assert snapshot() == before   # L2 was not enrolled either: all or nothing


def test_late_completion_shifts_later_steps(rep):
    [e] = services.enrol(leads=[lead(rep)], start=D(2026, 3, 27))
    t = {p: t for p, t in ((t.position, t) for t in e.tasks.all())}
    services.complete(t[1].pk, outcome="no_answer", at=datetime(2026, 3, 27, 9, tzinfo=UTC))
    services.complete(t[2].pk, at=datetime(2026, 3, 27, 9, 5, tzinfo=UTC))
    # step 3 was due Monday 30 March, done Thursday 2 April (Berlin): three business days late
    done = services.complete(t[3].pk, outcome="voicemail_left", at=datetime(2026, 4, 2, 8, tzinfo=UTC))
    assert done.done_on == D(2026, 4, 2) and done.touch.channel == "voicemail"
    assert done.touch.outcome == "voicemail_left" and done.touch.lead.external_id == "L1"
    assert [(p, d) for p, d, _ in tasks(e)][3:] == [(4, D(2026, 4, 8)), (5, D(2026, 4, 13)), (6, D(2026, 4, 16))]
    assert CadenceTask.objects.get(pk=t[4].pk).planned_on == D(2026, 4, 1)   # the plan is kept


def test_a_reply_ends_the_cadence(rep):
    [e] = services.enrol(leads=[lead(rep)], start=D(2026, 3, 27))
    first = e.tasks.get(position=1)
    services.complete(first.pk, at=datetime(2026, 3, 27, 9, tzinfo=UTC))
    services.buyer_engaged(e.tasks.get(position=2).pk, outcome="replied", at=datetime(2026, 3, 27, 15, tzinfo=UTC))
    e.refresh_from_db()
    assert e.status == "engaged" and Lead.objects.get(external_id="L1").status == "engaged"
    assert [s for _, _, s in tasks(e)] == ["done", "cancelled", "cancelled", "cancelled", "cancelled", "cancelled"]
    reply = Touch.objects.get(direction="in")
    assert reply.outcome == "replied" and reply.channel == "email"


def test_a_meeting_booked_while_completing_ends_it_too(rep):
    [e] = services.enrol(leads=[lead(rep)], start=D(2026, 3, 27))
    services.complete(e.tasks.get(position=1).pk, outcome="meeting_booked", at=datetime(2026, 3, 27, 9, tzinfo=UTC))
    e.refresh_from_db()
    assert e.status == "engaged" and e.tasks.filter(status="open").count() == 0


def test_no_engagement_returns_the_lead_to_nurture(rep):
    [e] = services.enrol(leads=[lead(rep)], start=D(2026, 3, 27))
    for t in e.tasks.order_by("position"):
        if t.position == 4:
            services.skip(t.pk, reason="no number", at=datetime(2026, 4, 1, 9, tzinfo=UTC))
        else:
            services.complete(t.pk, outcome="no_answer", at=datetime.combine(t.due_on, datetime.min.time(), UTC)
                              .replace(hour=9))
    e.refresh_from_db()
    assert e.status == "nurture" and e.recontact_on == D(2026, 7, 12)   # 13 April + 90 days
    assert Lead.objects.get(external_id="L1").status == "nurture"
    assert [s for _, _, s in tasks(e)] == ["done", "done", "done", "skipped", "done", "done"]
    assert Touch.objects.count() == 5   # a skipped step records no touch


def test_social_is_recorded_but_completes_nothing(rep):
    one = lead(rep)
    [e] = services.enrol(leads=[one], start=D(2026, 3, 27))
    touch = services.record_social(lead=one, owner=rep, at=datetime(2026, 3, 27, 10, tzinfo=UTC), notes="liked a post")
    assert touch.channel == "social"
    assert e.tasks.filter(status="open").count() == 6


def test_one_more_call_for_everyone_called_this_week(rep):
    now = datetime(2026, 4, 2, 13, tzinfo=UTC)   # Thursday 2 April, 15:00 in Berlin
    l1, l2, l3 = lead(rep, "L1"), lead(rep, "L2"), lead(rep, "L3")
    account = Account.objects.create(external_id="A1", name="Acme")
    c1 = Contact.objects.create(external_id="C1", account=account, name="Cy")
    services.enrol(leads=[l2], start=D(2026, 3, 30))    # L2 has open call tasks already
    for key, at, kw in (("t1", datetime(2026, 3, 30, 8, tzinfo=UTC), {"lead": l1}),
                        ("t2", datetime(2026, 3, 31, 8, tzinfo=UTC), {"lead": l2}),
                        ("t3", datetime(2026, 3, 27, 8, tzinfo=UTC), {"lead": l3}),      # last week
                        ("t4", datetime(2026, 4, 1, 8, tzinfo=UTC), {"contact": c1}),
                        ("t5", datetime(2026, 4, 1, 9, tzinfo=UTC), {"lead": l1}),       # L1 twice: one task
                        ("t6", datetime(2026, 3, 31, 9, tzinfo=UTC), {"lead": l3, "channel": "email"})):
        Touch.objects.create(external_id=key, at=at, channel=kw.pop("channel", "phone"), owner=rep, direction="out", **kw)
    made = services.one_more_call(rep, now=now)
    # Friday 3 April is Good Friday and Monday 6 April Easter Monday: due Tuesday 7 April
    assert sorted((t.lead.external_id if t.lead else t.contact.external_id, t.due_on, t.channel) for t in made) == [
        ("C1", D(2026, 4, 7), "phone"), ("L1", D(2026, 4, 7), "phone")]


def test_today_is_each_sellers_own(rep):
    ny = User.objects.create(username="ned", external_id="u-ned", role="rep", time_zone="America/New_York")
    services.enrol(leads=[lead(rep, "L1")], start=D(2026, 3, 30))
    services.enrol(leads=[lead(ny, "L2")], start=D(2026, 3, 30))
    instant = datetime(2026, 3, 30, 3, 30, tzinfo=UTC)   # Monday in Berlin, still Sunday evening in New York
    day, due = services.today(rep, now=instant)
    assert day == D(2026, 3, 30) and len(due) == 2
    day, due = services.today(ny, now=instant)
    assert day == D(2026, 3, 29) and due == []


def test_bad_outcome_is_refused(rep):
    [e] = services.enrol(leads=[lead(rep)], start=D(2026, 3, 27))
    before = snapshot()
    with pytest.raises(services.CadenceError) as exc:
        services.complete(e.tasks.get(position=1).pk, outcome="great")
    assert exc.value.param == "outcome" and snapshot() == before
    with pytest.raises(services.CadenceError) as exc:
        services.buyer_engaged(e.tasks.get(position=1).pk, outcome="no_answer")
    assert exc.value.param == "outcome" and snapshot() == before


def test_a_reply_to_an_extra_call_engages_the_lead_and_ends_its_cadence(rep):
    one = lead(rep)
    [e] = services.enrol(leads=[one], start=D(2026, 3, 30))
    Touch.objects.create(external_id="t1", at=datetime(2026, 3, 30, 8, tzinfo=UTC), channel="phone", owner=rep,
                         direction="out", lead=one)
    e.tasks.filter(channel__in=("phone", "voicemail")).update(status="skipped")   # no open call task left
    [extra] = services.one_more_call(rep, now=datetime(2026, 3, 31, 13, tzinfo=UTC))
    assert extra.enrollment is None and extra.due_on == D(2026, 4, 1)
    services.buyer_engaged(extra.pk, outcome="meeting_booked", channel="phone", at=datetime(2026, 4, 1, 9, tzinfo=UTC))
    e.refresh_from_db()
    assert e.status == "engaged" and Lead.objects.get(external_id="L1").status == "engaged"
    assert CadenceTask.objects.get(pk=extra.pk).status == "done"


def test_one_more_call_with_nobody_called_writes_nothing(rep):
    before = snapshot()
    assert services.one_more_call(rep, now=datetime(2026, 4, 2, 13, tzinfo=UTC)) == []
    assert snapshot() == before


def test_an_engaged_lead_becomes_a_deal_at_the_first_open_stage(rep):
    from bestby.pipeline.models import Deal, Pipeline, Stage, StageEvent

    p = Pipeline.objects.create(name="new business")
    for pos, (name, kind) in enumerate((("Lost", "lost"), ("Discovery", "open"), ("Proposal", "open"), ("Won", "won"))):
        Stage.objects.create(pipeline=p, name=name, position=pos + 1, kind=kind)
    one = lead(rep)
    with pytest.raises(services.CadenceError) as exc:
        services.convert(one)
    assert exc.value.param == "lead" and Deal.objects.count() == 0
    [e] = services.enrol(leads=[one], start=D(2026, 3, 27))
    services.buyer_engaged(e.tasks.get(position=1).pk, outcome="meeting_booked", at=datetime(2026, 3, 27, 9, tzinfo=UTC))
    deal = services.convert(Lead.objects.get(pk=one.pk), at=datetime(2026, 3, 27, 10, tzinfo=UTC))
    assert (deal.external_id, deal.stage.name, deal.status, deal.owner_id) == ("lead-L1", "Discovery", "open", rep.pk)
    assert StageEvent.objects.get(deal=deal).at == datetime(2026, 3, 27, 10, tzinfo=UTC)
    one.refresh_from_db()
    assert one.status == "converted" and one.converted_deal_id == deal.pk
    with pytest.raises(services.CadenceError):
        services.convert(one)   # once only
