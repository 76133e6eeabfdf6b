"""The cadence use cases: enrol, complete, skip, reply, meeting booked, one more call, social. The only writers.

Every action runs in one transaction and is audited (``bestby.audit``);
refusals raise ``CadenceError`` naming the parameter at fault and change
nothing. The scheduling rules (business days, late shifts, engagement,
nurture) are ``bestby.cadences.schedule``; this module applies them to the
store:

* ``enrol`` creates one enrolment per lead (or contact on a deal) and one task
  per step, due on the seller's calendar (the owner's time zone and the
  workspace country's holidays); the lead's status becomes ``in_cadence``.
* ``complete`` records the touch (channel of the step, direction out, the
  outcome given), marks the task done on the seller's local date, shifts
  later open steps when it was late, and ends the cadence on engagement
  (``replied``, ``meeting_booked``: lead ``engaged``, open tasks cancelled) or
  when no step is left (lead back to ``nurture`` with a re-contact date).
* ``reply`` / ``meeting_booked`` record what the *buyer* did (an inbound
  touch) and end the cadence as engaged, whatever step was next.
* ``skip`` records the step as skipped (no touch) and moves nothing.
* ``one_more_call`` adds one call task, due the next business day, for every
  lead and contact the seller called this week (Monday to today, their
  calendar) that has no open call task already.
* ``convert`` turns an engaged lead into a deal at the first meeting stage:
  the pipeline's first open stage unless another is given (a process starts
  with the first conversation), owned by the lead's owner. The deal's id is
  ``lead-<lead id>``, or ``lead-<lead id>-<8 random hex>`` when an import or
  an admin already gave that id to another deal.
* ``record_social`` keeps a like or a follow as a ``social`` touch: it is not
  a touch for cadence counts and never completes a step.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

from django.conf import settings
from django.db import IntegrityError, transaction

from bestby import clock
from bestby.activities.models import Lead, Touch
from bestby.audit.services import record
from bestby.cadences import schedule
from bestby.cadences.models import Cadence, CadenceStep, CadenceTask, Enrollment, EnrollmentStatus, TaskStatus
from bestby.format import CHANNELS, OUTCOMES

DEFAULT_NAME = "Six touches in ten days"
CALLS = ("phone", "voicemail")


class CadenceError(ValueError):
    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


#: how far before or after today a cadence may start: a year back records a run done on paper; years back
#: is a typo that would make all six touches overdue at once (and a year ahead is past any plan)
START_WINDOW = timedelta(days=366)


def check_start(start: date, now: datetime) -> None:
    """Refuse a start date more than :data:`START_WINDOW` before or after today (UTC), naming ``start``.

    For the places a person types a start date (the API, the enrol form, the
    command line); :func:`enrol` itself takes any date, as an import of a
    past cadence does.
    """
    today = now.date()
    if start < today - START_WINDOW:
        raise CadenceError("start", f"{start.isoformat()} is more than a year ago; a cadence starts today or "
                                    "recently: choose a later date")
    if start > today + START_WINDOW:
        raise CadenceError("start", f"{start:%Y-%m-%d} is more than a year ahead; choose an earlier date")


def _now() -> datetime:
    """Now, from the one clock (:mod:`bestby.clock`); this module's short name for it."""
    return clock.now()


def calendar() -> schedule.BusinessCalendar:
    return schedule.calendar_for(getattr(settings, "BESTBY_COUNTRY", None), getattr(settings, "BESTBY_COUNTRY_REGION", None))


def steps_of(cadence: Cadence) -> list[schedule.Step]:
    return [schedule.Step(s.offset, s.channel, s.instruction) for s in cadence.steps.order_by("position")]


def ensure_default() -> Cadence:
    """The default cadence (six touches in ten business days), created on first use."""
    found = Cadence.objects.filter(is_default=True).first()
    if found is not None:
        return found
    with transaction.atomic():
        cadence, created = Cadence.objects.get_or_create(
            name=DEFAULT_NAME, defaults={"is_default": True, "updated_at": _now(),
                                         "description": "Six touches in ten business days across four channels."})
        if created:
            CadenceStep.objects.bulk_create(CadenceStep(cadence=cadence, position=k, offset=s.offset, channel=s.channel,
                                                        instruction=s.instruction)
                                            for k, s in enumerate(schedule.DEFAULT_STEPS, start=1))
        elif not cadence.is_default and not Cadence.objects.filter(is_default=True).exists():
            cadence.is_default = True
            cadence.save(update_fields=["is_default"])
    return cadence


@transaction.atomic
def save_cadence(*, name: str, steps: list[schedule.Step], description: str = "", by=None,
                 cadence: Cadence | None = None, make_default: bool = False) -> Cadence:
    """Create or replace a cadence's steps (admins); running enrolments keep the tasks they have."""
    name = (name or "").strip()
    if not name:
        raise CadenceError("name", "a cadence needs a name")
    try:
        schedule.check_steps(steps)
    except schedule.ScheduleError as exc:
        raise CadenceError(exc.param, exc.message) from None
    clash = Cadence.objects.filter(name=name).exclude(pk=cadence.pk if cadence else None).exists()
    if clash:
        raise CadenceError("name", f"a cadence named {name!r} exists already")
    before = {"name": cadence.name, "steps": [vars(s) for s in steps_of(cadence)]} if cadence else None
    if cadence is None:
        cadence = Cadence(name=name)
    cadence.name, cadence.description, cadence.updated_at, cadence.updated_by = name, description, _now(), by
    if make_default:
        Cadence.objects.filter(is_default=True).exclude(pk=cadence.pk).update(is_default=False)
        cadence.is_default = True
    cadence.save()
    cadence.steps.all().delete()  # steps are the cadence's definition; tasks keep their own copies
    CadenceStep.objects.bulk_create(CadenceStep(cadence=cadence, position=k, offset=s.offset, channel=s.channel,
                                                instruction=s.instruction) for k, s in enumerate(steps, start=1))
    record(by=by, action="cadence.save", obj=cadence, before=before,
           after={"name": name, "steps": [vars(s) for s in steps], "default": cadence.is_default})
    return cadence


def _local_today(user, now: datetime) -> date:
    return schedule.local_today(now, user.zone())


@transaction.atomic
def enrol(*, leads=(), contacts=(), cadence: Cadence | None = None, start: date | None = None, by=None,
          now: datetime | None = None) -> list[Enrollment]:
    """Enrol leads (or ``(contact, deal)`` pairs) in a cadence; all or nothing (see module doc)."""
    now = now or _now()
    cadence = cadence or ensure_default()
    steps = steps_of(cadence)
    if not steps:
        raise CadenceError("cadence", f"{cadence.name!r} has no steps")
    people = [("lead", lead, None) for lead in leads] + [("contact", c, d) for c, d in contacts]
    if not people:
        raise CadenceError("leads", "give at least one lead or contact to enrol")
    cal = calendar()
    out = []
    for kind, person, deal in people:
        owner = person.owner if kind == "lead" else (deal.owner if deal else by)
        if owner is None:
            owner = by
        if owner is None:
            raise CadenceError("leads", f"{kind} {_key(person)} has no owner; give it one first")
        if kind == "lead" and person.status in ("converted", "disqualified"):
            raise CadenceError("leads", f"lead {person.external_id} is {person.status}; only live leads are enrolled")
        first = start or _local_today(owner, now)
        enrollment = Enrollment(cadence=cadence, owner=owner, started_on=first, created_at=now, created_by=by,
                                **({"lead": person} if kind == "lead" else {"contact": person, "deal": deal}))
        try:
            with transaction.atomic():
                enrollment.save()
        except IntegrityError:
            raise CadenceError("leads", f"{kind} {_key(person)} is already in a running cadence") from None
        due = schedule.due_dates(first, steps, cal)
        CadenceTask.objects.bulk_create(
            CadenceTask(enrollment=enrollment, position=k, owner=owner, lead=person if kind == "lead" else None,
                        contact=person if kind == "contact" else None, deal=deal, offset=s.offset, channel=s.channel,
                        instruction=s.instruction, planned_on=d, due_on=d)
            for k, (s, d) in enumerate(zip(steps, due), start=1))
        if kind == "lead":
            Lead.objects.filter(pk=person.pk).update(status="in_cadence")
        record(by=by, action="cadence.enrol", obj=person, before=None, at=now,
               after={"cadence": cadence.name, "enrollment": enrollment.pk, "due": [d.isoformat() for d in due]})
        out.append(enrollment)
    return out


def _key(person) -> str:
    return getattr(person, "external_id", str(person.pk))


def _open_task(task_id: int) -> CadenceTask:
    task = (CadenceTask.objects.select_for_update(of=("self",)).select_related("enrollment", "owner")
            .filter(pk=task_id).first())
    if task is None:
        raise CadenceError("task", f"no task {task_id}")
    if task.status != TaskStatus.OPEN:
        raise CadenceError("task", f"task {task_id} is {task.status}, not open")
    return task


def _touch(task: CadenceTask, *, channel: str, outcome: str, direction: str, at: datetime, by, notes: str) -> Touch:
    touch = Touch(external_id="", at=at, channel=channel, owner=task.owner, direction=direction, outcome=outcome,
                  deal=task.deal, lead=task.lead, contact=task.contact, notes=notes,
                  account=task.contact.account if task.contact_id else None,
                  custom={"recorded_by": "cadence", "task": task.pk})
    touch.external_id = f"bestby-task-{task.pk}-{int(at.timestamp())}-{channel}"
    touch.save()
    return touch


@transaction.atomic
def complete(task_id: int, *, outcome: str = "", at: datetime | None = None, by=None, notes: str = "") -> CadenceTask:
    """The seller did the step: record the touch, shift later steps when late, end on engagement (module doc)."""
    if outcome and outcome not in OUTCOMES:
        raise CadenceError("outcome", f"{outcome!r} is not one of {', '.join(OUTCOMES)}")
    task = _open_task(task_id)
    at = at or _now()
    done_on = _local_today(task.owner, at)
    touch = _touch(task, channel=task.channel, outcome=outcome, direction="out", at=at, by=by, notes=notes)
    task.status, task.done_at, task.done_on, task.outcome, task.touch, task.by = (
        TaskStatus.DONE, at, done_on, outcome, touch, by)
    task.save()
    if task.enrollment_id:
        _after_step(task, done_on, engaged=outcome in schedule.ENGAGED, at=at, by=by)
    record(by=by, action="cadence.done", obj=task, before=None, at=at,
           after={"outcome": outcome, "done_on": done_on.isoformat(), "late": done_on > task.due_on})
    return task


@transaction.atomic
def skip(task_id: int, *, reason: str = "", by=None, at: datetime | None = None) -> CadenceTask:
    task = _open_task(task_id)
    at = at or _now()
    task.status, task.done_at, task.done_on, task.by, task.reason = (
        TaskStatus.SKIPPED, at, _local_today(task.owner, at), by, reason)
    task.save()
    if task.enrollment_id:
        _finish_if_done(task.enrollment, at=at, by=by)
    record(by=by, action="cadence.skip", obj=task, before=None, after={"reason": reason}, at=at)
    return task


@transaction.atomic
def buyer_engaged(task_id: int, *, outcome: str, channel: str = "email", at: datetime | None = None, by=None,
                  notes: str = "") -> CadenceTask:
    """The buyer replied (``replied``) or booked a meeting (``meeting_booked``): an inbound touch, the cadence ends."""
    if outcome not in schedule.ENGAGED:
        raise CadenceError("outcome", f"{outcome!r}: use replied or meeting_booked")
    if channel not in CHANNELS or channel == "social":
        raise CadenceError("channel", f"{channel!r}: use one of {', '.join(c for c in CHANNELS if c != 'social')}")
    task = _open_task(task_id)
    at = at or _now()
    _touch(task, channel=channel, outcome=outcome, direction="in", at=at, by=by, notes=notes)
    enrollment = task.enrollment
    if enrollment is None:
        # an extra call: the task is answered; a running cadence of the same person ends as well
        task.status, task.done_at, task.done_on, task.outcome, task.by = (
            TaskStatus.DONE, at, _local_today(task.owner, at), outcome, by)
        task.save()
        person = {"lead_id": task.lead_id} if task.lead_id else {"contact_id": task.contact_id}
        enrollment = Enrollment.objects.filter(status=EnrollmentStatus.ACTIVE, **person).first()
    if enrollment is not None:
        _end(enrollment, EnrollmentStatus.ENGAGED, at=at, by=by)
    elif task.lead_id:
        Lead.objects.filter(pk=task.lead_id).update(status="engaged")
    return task


def _after_step(task: CadenceTask, done_on: date, *, engaged: bool, at: datetime, by) -> None:
    enrollment = task.enrollment
    if engaged:
        _end(enrollment, EnrollmentStatus.ENGAGED, at=at, by=by)
        return
    later = list(enrollment.tasks.select_for_update().filter(position__gt=task.position, status=TaskStatus.OPEN)
                 .order_by("position"))
    if later and done_on > task.due_on:
        cal = calendar()
        shift = cal.business_days_between(task.due_on, done_on)
        for t in later:
            t.due_on = cal.add_business_days(t.due_on, shift)
            t.save(update_fields=["due_on"])
    _finish_if_done(enrollment, at=at, by=by)


def _finish_if_done(enrollment: Enrollment, *, at: datetime, by) -> None:
    if enrollment.status == EnrollmentStatus.ACTIVE and not enrollment.tasks.filter(status=TaskStatus.OPEN).exists():
        _end(enrollment, EnrollmentStatus.NURTURE, at=at, by=by)


def _end(enrollment: Enrollment, status: str, *, at: datetime, by) -> None:
    enrollment.tasks.filter(status=TaskStatus.OPEN).update(status=TaskStatus.CANCELLED)
    enrollment.status, enrollment.ended_at = status, at
    if status == EnrollmentStatus.NURTURE:
        enrollment.recontact_on = schedule.recontact_date(_local_today(enrollment.owner, at))
    enrollment.save()
    if enrollment.lead_id:
        Lead.objects.filter(pk=enrollment.lead_id).update(status="engaged" if status == EnrollmentStatus.ENGAGED else "nurture")
    record(by=by, action=f"cadence.{status}", obj=enrollment.person, before=None, at=at,
           after={"enrollment": enrollment.pk, "status": status,
                  "recontact_on": enrollment.recontact_on.isoformat() if enrollment.recontact_on else None})


@transaction.atomic
def one_more_call(user, *, by=None, now: datetime | None = None, instruction: str = "One more call.") -> list[CadenceTask]:
    """One extra call, due the next business day, for everyone ``user`` called this week (module doc)."""
    now = now or _now()
    zone = user.zone()
    today = schedule.local_today(now, zone)
    monday = today - timedelta(days=today.weekday())
    since = datetime(monday.year, monday.month, monday.day, tzinfo=zone).astimezone(timezone.utc)
    called = (Touch.objects.filter(owner=user, channel__in=CALLS, direction__in=("out", ""), at__gte=since, at__lte=now)
              .values_list("lead_id", "contact_id", "deal_id").order_by("at"))
    open_calls = set(CadenceTask.objects.filter(owner=user, status=TaskStatus.OPEN, channel__in=CALLS)
                     .values_list("lead_id", "contact_id"))
    due = calendar().add_business_days(today, 1)
    seen, out = set(), []
    for lead_id, contact_id, deal_id in called:
        key = (lead_id, contact_id) if lead_id else (None, contact_id)
        if (lead_id is None and contact_id is None) or key in seen or key in open_calls:
            continue
        seen.add(key)
        out.append(CadenceTask(owner=user, lead_id=lead_id, contact_id=None if lead_id else contact_id,
                               deal_id=deal_id, channel="phone", instruction=instruction, planned_on=due, due_on=due))
    if out:
        CadenceTask.objects.bulk_create(out)
        record(by=by, action="cadence.one_more_call", obj=user, before=None, at=now,
               after={"tasks": len(out), "due": due.isoformat()})
    return out


@transaction.atomic
def record_social(*, lead=None, contact=None, owner, at: datetime | None = None, notes: str = "", by=None) -> Touch:
    """A like or a follow: kept as a ``social`` touch, which never completes a step (module doc)."""
    if lead is None and contact is None:
        raise CadenceError("lead", "give the lead or contact of the social interaction")
    at = at or _now()
    touch = Touch.objects.create(external_id=f"bestby-social-{owner.pk}-{int(at.timestamp() * 1000)}", at=at,
                                 channel="social", owner=owner, direction="out", lead=lead, contact=contact,
                                 account=contact.account if contact is not None else None, notes=notes,
                                 custom={"recorded_by": "cadence"})
    record(by=by, action="cadence.social", obj=lead or contact, before=None, after={"touch": touch.external_id}, at=at)
    return touch


@transaction.atomic
def convert(lead: Lead, *, pipeline=None, stage=None, amount=None, by=None, at: datetime | None = None):
    """The engaged lead becomes a deal (module doc); CadenceError names what is refused."""
    from bestby.pipeline import services as deals
    from bestby.pipeline.models import Deal, Pipeline, Stage

    lead = Lead.objects.select_for_update().get(pk=lead.pk)
    if lead.status != "engaged":
        raise CadenceError("lead", f"lead {lead.external_id} is {lead.status or 'without status'}; only an engaged "
                           "lead (a reply or a booked meeting) becomes a deal")
    if pipeline is None:
        pipeline = stage.pipeline if stage is not None else Pipeline.objects.order_by("id").first()
        if pipeline is None:
            raise CadenceError("pipeline", "there is no pipeline yet; import or create one first")
    if stage is None:
        stage = Stage.objects.filter(pipeline=pipeline, kind="open").order_by("position").first()
        if stage is None:
            raise CadenceError("stage", f"pipeline {pipeline.name!r} has no open stage")
    elif stage.pipeline_id != pipeline.pk or stage.kind != "open":
        raise CadenceError("stage", f"{stage.name!r} is not an open stage of pipeline {pipeline.name!r}")
    external_id = f"lead-{lead.external_id}"
    if Deal.objects.filter(external_id=external_id).exists():
        # an import or an admin made a deal with that id: take a fresh one rather than refuse, so that the
        # seller converting the lead learns nothing of a deal they may not see, and nobody can block it
        external_id = f"lead-{lead.external_id}-{uuid.uuid4().hex[:8]}"
    try:
        deal = deals.create_deal(external_id=external_id, pipeline=pipeline, stage=stage, by=by, owner=lead.owner,
                                 name=lead.company or lead.name, amount=amount, at=at or _now(), source=lead.source)
    except deals.DealError as exc:
        raise CadenceError("lead", str(exc)) from None
    Lead.objects.filter(pk=lead.pk).update(status="converted", converted_deal=deal)
    record(by=by, action="cadence.convert", obj=lead, before={"status": "engaged"},
           after={"status": "converted", "deal": deal.external_id}, at=at)
    return deal


def today(user, *, now: datetime | None = None):
    """The seller's open tasks due today or earlier (overdue first), on their own calendar."""
    now = now or _now()
    day = _local_today(user, now)
    return day, list(CadenceTask.objects.filter(owner=user, status=TaskStatus.OPEN, due_on__lte=day)
                     .select_related("lead", "contact", "deal", "enrollment__cadence").order_by("due_on", "id"))
