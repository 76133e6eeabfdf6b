"""A lead is ``in_cadence`` exactly while it has a running enrolment, after every cadence action.

Enrolling sets it; every way a cadence ends (a reply or a booked meeting,
the last step done or skipped, back to nurture) moves the lead out of it;
converting, clearing a converted lead's deal to nurture and undoing that keep
it true. Checked after each step of a walk through every action by name, and
of random walks (Hypothesis), where a refused action must change nothing.
Each random walk runs in a transaction rolled back at its end.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bestby import clock
from bestby.activities.models import Lead, Touch
from bestby.cadences import services
from bestby.cadences.models import CadenceTask, Enrollment
from bestby.clearance import services as clearance
from bestby.clearance.models import ClearanceAction
from bestby.people.models import User
from bestby.pipeline.models import Deal, Pipeline, Stage

pytestmark = pytest.mark.django_db

START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)  # Monday
LEADS = ("L1", "L2", "L3")


def assert_invariant() -> None:
    in_cadence = set(Lead.objects.filter(status="in_cadence").values_list("external_id", flat=True))
    running = set(Enrollment.objects.filter(status="active", lead__isnull=False)
                  .values_list("lead__external_id", flat=True))
    assert in_cadence == running
    # an ended enrolment asks nobody to do anything
    assert not CadenceTask.objects.filter(status="open", enrollment__isnull=False).exclude(
        enrollment__status="active").exists()


def world() -> User:
    rep = User.objects.create(username="rita", external_id="u-rita", role="rep", time_zone="Europe/Berlin")
    for key in LEADS:
        Lead.objects.create(external_id=key, name=f"Lead {key}", company=f"Co {key}", owner=rep, status="new")
    pipeline = Pipeline.objects.create(name="new business")
    for position, (name, kind) in enumerate((("Discovery", "open"), ("Won", "won"), ("Lost", "lost")), start=1):
        Stage.objects.create(pipeline=pipeline, name=name, position=position, kind=kind)
    return rep


def lead(key: str) -> Lead:
    return Lead.objects.get(external_id=key)


def open_tasks(key: str) -> list[CadenceTask]:
    return list(CadenceTask.objects.filter(lead__external_id=key, status="open").order_by("position", "pk"))


def test_every_action_keeps_in_cadence_and_running_enrolments_the_same(frozen_clock):
    frozen_clock(START)
    rep = world()
    assert_invariant()
    # enrol: all three in a cadence
    services.enrol(leads=[lead(k) for k in LEADS])
    assert_invariant()
    assert set(Lead.objects.values_list("status", flat=True)) == {"in_cadence"}
    # complete a step without engagement: still in the cadence
    services.complete(open_tasks("L1")[0].pk, outcome="no_answer")
    assert_invariant()
    assert lead("L1").status == "in_cadence"
    # skip a step: still in it
    services.skip(open_tasks("L1")[0].pk, reason="holiday")
    assert_invariant()
    # complete with a reply: the cadence ends, the lead is engaged
    services.complete(open_tasks("L1")[0].pk, outcome="replied")
    assert_invariant()
    assert lead("L1").status == "engaged"
    # the buyer books a meeting: L2's cadence ends, engaged
    services.buyer_engaged(open_tasks("L2")[0].pk, outcome="meeting_booked", channel="phone")
    assert_invariant()
    assert lead("L2").status == "engaged"
    # every step of L3 done or skipped without engagement: back to nurture
    for k, task in enumerate(open_tasks("L3")):
        frozen_clock(START + timedelta(days=k))
        if k % 2:
            services.skip(task.pk)
        else:
            services.complete(task.pk, outcome="no_answer")
        assert_invariant()
    assert lead("L3").status == "nurture" and Enrollment.objects.get(lead=lead("L3")).status == "nurture"
    # a reply to an extra call ends a running cadence too: L3 enrolled again, called, replies to the extra call
    frozen_clock(START + timedelta(days=14))  # Monday 16 March
    services.enrol(leads=[lead("L3")])
    assert_invariant()
    Touch.objects.create(external_id="t-call", at=clock.now(), channel="phone", owner=rep, direction="out",
                         lead=lead("L3"))
    for task in open_tasks("L3"):
        if task.channel in services.CALLS:
            services.skip(task.pk)
    assert_invariant()
    [extra] = services.one_more_call(rep)
    assert_invariant()
    services.buyer_engaged(extra.pk, outcome="replied", channel="phone")
    assert_invariant()
    assert lead("L3").status == "engaged"
    # convert: the engaged lead becomes a deal
    frozen_clock(START + timedelta(days=15))
    deal = services.convert(lead("L1"))
    assert_invariant()
    assert lead("L1").status == "converted"
    # clearing the deal back to nurture puts the lead in nurture, not in a cadence; enrolling it again works
    frozen_clock(START + timedelta(days=16))
    clearance.clear(deals=[deal.external_id], reason="went quiet", to="nurture")
    assert_invariant()
    assert lead("L1").status == "nurture"
    services.enrol(leads=[lead("L1")])
    assert_invariant()
    # undoing the clear now would put L1 back to converted while it is in a cadence: refused, nothing changes
    with pytest.raises(clearance.ClearanceError):
        clearance.undo(action=ClearanceAction.objects.get(kind="clear"))
    assert_invariant()
    assert lead("L1").status == "in_cadence"


ACTIONS = st.lists(st.one_of(
    st.tuples(st.just("enrol"), st.sampled_from(LEADS)),
    st.tuples(st.just("complete"), st.sampled_from(LEADS), st.sampled_from(["", "no_answer", "connected", "replied",
                                                                             "meeting_booked"])),
    st.tuples(st.just("skip"), st.sampled_from(LEADS)),
    st.tuples(st.just("engaged"), st.sampled_from(LEADS), st.sampled_from(["replied", "meeting_booked"])),
    st.tuples(st.just("one_more_call"), st.just("")),
    st.tuples(st.just("convert"), st.sampled_from(LEADS)),
    st.tuples(st.just("clear"), st.sampled_from(LEADS)),
    st.tuples(st.just("undo"), st.integers(min_value=0, max_value=5)),
), max_size=25)


def _state():
    return (list(Lead.objects.order_by("pk").values_list("external_id", "status")),
            list(Enrollment.objects.order_by("pk").values_list("pk", "status")),
            list(CadenceTask.objects.order_by("pk").values_list("pk", "status", "due_on")),
            Deal.objects.count(), ClearanceAction.objects.count())


def _step(rep: User, action: tuple) -> None:
    kind, arg = action[0], action[1]
    if kind == "enrol":
        services.enrol(leads=[lead(arg)])
    elif kind in ("complete", "skip", "engaged"):
        tasks = open_tasks(arg)
        if not tasks:
            return
        if kind == "complete":
            services.complete(tasks[0].pk, outcome=action[2])
        elif kind == "skip":
            services.skip(tasks[0].pk)
        else:
            services.buyer_engaged(tasks[-1].pk, outcome=action[2], channel="email")
    elif kind == "one_more_call":
        services.one_more_call(rep)
    elif kind == "convert":
        services.convert(lead(arg))
    elif kind == "clear":
        found = lead(arg).converted_deal
        if found is not None:
            clearance.clear(deals=[found.external_id], reason="quiet", to="nurture")
    else:
        actions = list(ClearanceAction.objects.exclude(kind="undo").filter(undone_by__isnull=True).order_by("pk"))
        if actions:
            clearance.undo(action=actions[arg % len(actions)])


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(actions=ACTIONS)
def test_any_sequence_of_actions_keeps_the_invariant(actions):
    with transaction.atomic():
        at = START
        with clock.frozen(at):
            rep = world()
        for action in actions:
            at += timedelta(hours=7)  # the clock moves on; stage changes and touches are never dated backwards
            with clock.frozen(at):
                before = _state()
                try:
                    _step(rep, action)
                except (services.CadenceError, clearance.ClearanceError):
                    assert _state() == before  # a refusal changes nothing
            assert_invariant()
        transaction.set_rollback(True)
