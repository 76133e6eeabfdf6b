"""Cadences through the API: the cadences, enrolling, the Today list, what a seller does with a task, adherence.

Every write is one use case of :mod:`bestby.cadences.services` (audited as the
token's user); this module parses, checks access and renders. Adherence is
:func:`bestby.cadences.adherence_store.adherence_report`, which cuts its rows
by role itself (a rep: their own row and their team's total).

Access (the rules of :mod:`bestby.people.access`, applied to cadence records)
    * Cadences are read by everyone signed in; only admins create and change
      them (403 otherwise).
    * A lead is visible when its owner is one of :func:`access.owners_for`
      (admins: every lead, those without an owner too); a contact or deal when
      :func:`access.contacts_for` / :func:`access.deals_for` has it; a task when
      its owner is one of :func:`access.owners_for`. A rep works their own
      leads and tasks, a manager their team's, an admin everyone's.
    * A task, lead, contact, deal or seller the caller may not see answers 404,
      exactly as one that does not exist (the error names the field).

Errors
    ``{"detail": ..., "field": ...}`` as everywhere in the API. A refusal of a
    cadence use case (``CadenceError``) keeps its parameter as ``field``: 409
    when the task is no longer open (a conflict with what someone else did),
    422 otherwise (bad input). A refusal changes nothing.

Times
    ``at`` (when a task was done or skipped, when a buyer answered) must carry its UTC
    offset: a seller's local date is derived from it, and a naive time would be
    read in the server's zone. It may not lie in the future (beyond
    ``CLOCK_SKEW``, for a client whose clock runs a little ahead). Times and
    start dates lie in :data:`bestby.bounds.DATES` (every request body is
    checked against it, ``bestby.api.schemas``): a sales record outside it is
    a typing error, and the calendar arithmetic must not run off the end of
    Python's dates.
"""

from __future__ import annotations

from contextlib import contextmanager

from datetime import datetime, timedelta
from typing import Optional

from django.db.models import Prefetch
from ninja import Query, Router

from bestby import bounds, clock
from bestby.activities.models import Lead, Touch
from bestby.api.common import created, ext
from bestby.api.errors import FieldError, not_found
from bestby.api.schemas import Error, Key, Text
from bestby.api.schemas_cadences import (AdherenceOut, BuyerIn, CadenceIn, CadenceOut, CadenceTaskOut, ConvertIn, ConvertOut,
                                         EnrolIn, EnrollmentOut,
                                         OneMoreCallIn, SocialIn, SocialOut, TaskDoneIn, TaskSkipIn, TodayOut)
from bestby.cadences import schedule, services
from bestby.cadences.models import Cadence, CadenceStep, CadenceTask
from bestby.people import access

router = Router(tags=["cadences"])
Refusals = {404: Error, 409: Error, 422: Error}
#: how far ahead of the server's clock an ``at`` may be: a client clock a little fast is not bad input
CLOCK_SKEW = timedelta(minutes=5)


@contextmanager
def refused():
    """Turn a ``CadenceError`` into the API's JSON error (409 for a task no longer open, else 422)."""
    try:
        yield
    except services.CadenceError as exc:
        raise FieldError(409 if exc.param == "task" else 422, exc.param, exc.message) from None


# ---------------------------------------------------------------- who sees what

leads_for = access.leads_for


def tasks_for(user):
    """Tasks of the sellers ``user`` may see (:func:`bestby.people.access.tasks_for`), with what a row shows."""
    return access.tasks_for(user).select_related("owner", "lead", "contact", "deal", "enrollment__cadence", "touch")


def _task(user, task_id: Key) -> CadenceTask:
    task = tasks_for(user).filter(pk=task_id).first()
    if task is None:
        raise not_found("task", task_id)
    return task


def _seller(user, key: Optional[str], field: str = "user"):
    """The seller named ``key`` (default: the caller), when the caller may see them; else 404 naming ``field``."""
    if key is None:
        return user
    found = access.owners_for(user).filter(external_id=key).first()
    if found is None:
        raise FieldError(404, field, f"no user {key!r} (or you may not see them)")
    return found


def _instant(at: Optional[datetime], field: str = "at", future: bool = False) -> Optional[datetime]:
    """``at`` if it carries an offset (and, unless ``future``, is not ahead of now); else 422 naming ``field``."""
    if at is None:
        return None
    if at.tzinfo is None or at.utcoffset() is None:
        raise FieldError(422, field, f"{at.isoformat()} has no UTC offset; write it like 2026-03-27T09:00:00+01:00")
    _in_years(at, field)
    if not future and at > clock.now() + CLOCK_SKEW:
        raise FieldError(422, field, f"{at.isoformat()} is in the future")
    return at


def _in_years(value, field: str):
    try:
        return bounds.DATES.check(field, value)
    except bounds.OutOfBounds as exc:
        raise FieldError(422, field, exc.message) from None


# ---------------------------------------------------------------- rows

def cadence_row(c: Cadence) -> dict:
    return {"name": c.name, "description": c.description, "default": c.is_default, "updated_at": c.updated_at,
            "updated_by": ext(c.updated_by),
            "steps": [{"offset": s.offset, "channel": s.channel, "instruction": s.instruction} for s in c.steps.all()]}


def task_row(t: CadenceTask) -> dict:
    person = t.lead if t.lead_id else t.contact
    e = t.enrollment
    return {"id": t.pk, "owner": t.owner.external_id, "lead": ext(t.lead), "contact": ext(t.contact),
            "deal": ext(t.deal), "name": person.name or person.external_id,
            "cadence": e.cadence.name if e else None, "enrollment": e.pk if e else None,
            "enrollment_status": e.status if e else None, "position": t.position, "channel": t.channel,
            "instruction": t.instruction, "planned_on": t.planned_on, "due_on": t.due_on, "status": t.status,
            "done_on": t.done_on, "outcome": t.outcome, "reason": t.reason, "touch": ext(t.touch)}


def _cadences():
    return Cadence.objects.select_related("updated_by").prefetch_related(
        Prefetch("steps", queryset=CadenceStep.objects.order_by("position")))


def _steps(payload: CadenceIn) -> list[schedule.Step]:
    return [schedule.Step(s.offset, s.channel, s.instruction) for s in payload.steps]


def _admin(user) -> None:
    if not access.is_admin(user):
        raise FieldError(403, None, "only admins create and change cadences")


# ---------------------------------------------------------------- cadences

@router.get("/cadences", response=list[CadenceOut], summary="The cadences, with their steps (the default one first)")
def list_cadences(request):
    services.ensure_default()  # created on first use, as enrolling would
    return [cadence_row(c) for c in _cadences().order_by("-is_default", "name")]


@router.post("/cadences", response={201: CadenceOut, 403: Error, 422: Error}, summary="Create a cadence (admins)")
def create_cadence(request, payload: CadenceIn):
    _admin(request.auth)
    with refused():
        cadence = services.save_cadence(name=payload.name, steps=_steps(payload), description=payload.description,
                                        by=request.auth, make_default=payload.default)
    return created(cadence_row(_cadences().get(pk=cadence.pk)))


@router.post("/cadences/enrol", response={201: list[EnrollmentOut], **Refusals},
             summary="Enrol leads (or contacts on a deal) in a cadence; all or nothing")
def enrol(request, payload: EnrolIn):
    user = request.auth
    cadence = None
    if payload.cadence is not None:
        cadence = Cadence.objects.filter(name=payload.cadence).first()
        if cadence is None:
            raise FieldError(422, "cadence", f"no cadence {payload.cadence!r}")
    leads = _leads(user, payload.leads)
    contacts = _contacts(user, payload.contacts)
    with refused():
        if payload.start is not None:
            services.check_start(payload.start, clock.now())
        enrolments = services.enrol(leads=leads, contacts=contacts, cadence=cadence, start=payload.start, by=user)
    tasks = {}
    for t in tasks_for(user).filter(enrollment__in=enrolments).order_by("position"):
        tasks.setdefault(t.enrollment_id, []).append(task_row(t))
    return created([{"id": e.pk, "cadence": e.cadence.name, "lead": ext(e.lead), "contact": ext(e.contact),
                     "deal": ext(e.deal), "owner": e.owner.external_id, "started_on": e.started_on,
                     "status": e.status, "tasks": tasks.get(e.pk, [])} for e in enrolments])


def _leads(user, keys: list[str]) -> list[Lead]:
    """The leads named, in order, each visible to ``user``: a repeat is 422, an unseen lead 404 (both ``leads``)."""
    seen = set()
    for key in keys:
        if key in seen:
            raise FieldError(422, "leads", f"lead {key!r} is listed twice")
        seen.add(key)
    found = {lead.external_id: lead for lead in leads_for(user).select_related("owner").filter(external_id__in=keys)}
    for key in keys:
        if key not in found:
            raise FieldError(404, "leads", f"no lead {key!r} (or you may not see it)")
    return [found[k] for k in keys]


def _contacts(user, items) -> list[tuple]:
    """``(contact, deal)`` pairs, each visible to ``user`` (404), the deal with the contact's account (422)."""
    out = []
    for k, item in enumerate(items):
        contact = access.contacts_for(user).select_related("account").filter(external_id=item.contact).first()
        if contact is None:
            raise FieldError(404, f"contacts.{k}.contact", f"no contact {item.contact!r} (or you may not see it)")
        deal = None
        if item.deal is not None:
            deal = access.deals_for(user).select_related("owner").filter(external_id=item.deal).first()
            if deal is None:
                raise FieldError(404, f"contacts.{k}.deal", f"no deal {item.deal!r} (or you may not see it)")
            if deal.account_id != contact.account_id:
                raise FieldError(422, f"contacts.{k}.deal",
                                 f"deal {deal.external_id!r} is not with {contact.external_id!r}'s account")
        out.append((contact, deal))
    return out


@router.put("/cadences", response={200: CadenceOut, 403: Error, 404: Error, 422: Error},
            summary="Replace the name, description and steps of the cadence named by ?cadence= (admins); "
                    "running enrolments keep their tasks")
def update_cadence(request, payload: CadenceIn, cadence: Text = Query(..., min_length=1, max_length=80)):
    _admin(request.auth)
    found = Cadence.objects.filter(name=cadence).first()
    if found is None:
        raise FieldError(404, "cadence", f"no cadence {cadence!r}")
    with refused():
        services.save_cadence(name=payload.name, steps=_steps(payload), description=payload.description,
                              by=request.auth, cadence=found, make_default=payload.default)
    return cadence_row(_cadences().get(pk=found.pk))


# ---------------------------------------------------------------- today and tasks

@router.get("/today", response={200: TodayOut, 404: Error, 422: Error},
            summary="A seller's open tasks due today or earlier, on their own calendar")
def today(request, user: Optional[Text] = None, at: Optional[datetime] = None):
    seller = _seller(request.auth, user)
    day, tasks = services.today(seller, now=_instant(at, future=True))
    ids = [t.pk for t in tasks]
    rows = {t.pk: t for t in tasks_for(request.auth).filter(pk__in=ids)}
    return {"user": seller.external_id, "day": day, "tasks": [task_row(rows[i]) for i in ids]}


@router.post("/tasks/{task_id}/done", response={200: CadenceTaskOut, **Refusals},
             summary="Done: record the touch with its outcome; a late step shifts the later ones")
def task_done(request, task_id: Key, payload: TaskDoneIn):
    user = request.auth
    task = _task(user, task_id)
    with refused():
        services.complete(task.pk, outcome=payload.outcome or "", at=_instant(payload.at), by=user,
                          notes=payload.notes)
    return task_row(_task(user, task.pk))


@router.post("/tasks/{task_id}/skip", response={200: CadenceTaskOut, **Refusals},
             summary="Skip: recorded as skipped, no touch, nothing moves")
def task_skip(request, task_id: Key, payload: TaskSkipIn):
    user = request.auth
    task = _task(user, task_id)
    with refused():
        services.skip(task.pk, reason=payload.reason, by=user, at=_instant(payload.at))
    return task_row(_task(user, task.pk))


def _engaged(request, task_id: Key, payload: BuyerIn, outcome: str) -> dict:
    user = request.auth
    task = _task(user, task_id)
    with refused():
        services.buyer_engaged(task.pk, outcome=outcome, channel=payload.channel, at=_instant(payload.at), by=user,
                               notes=payload.notes)
    return task_row(_task(user, task.pk))


@router.post("/tasks/{task_id}/reply", response={200: CadenceTaskOut, **Refusals},
             summary="The buyer replied: an inbound touch; the cadence ends, the lead is engaged")
def task_reply(request, task_id: Key, payload: BuyerIn):
    return _engaged(request, task_id, payload, "replied")


@router.post("/tasks/{task_id}/meeting-booked", response={200: CadenceTaskOut, **Refusals},
             summary="The buyer booked a meeting: an inbound touch; the cadence ends, the lead is engaged")
def task_meeting_booked(request, task_id: Key, payload: BuyerIn):
    return _engaged(request, task_id, payload, "meeting_booked")


@router.post("/one-more-call", response={201: list[CadenceTaskOut], 404: Error, 422: Error},
             summary="One more call, due the next business day, for everyone the seller called this week")
def one_more_call(request, payload: OneMoreCallIn):
    user = request.auth
    seller = _seller(user, payload.user)
    with refused():
        made = services.one_more_call(seller, by=user, instruction=payload.instruction)
    ids = [t.pk for t in made]
    return created([task_row(t) for t in tasks_for(user).filter(pk__in=ids).order_by("due_on", "id")])


@router.post("/social", response={201: SocialOut, 404: Error, 422: Error},
             summary="Record a like or a follow: kept, but not a touch, and it completes no step")
def social(request, payload: SocialIn):
    user = request.auth
    if (payload.lead is None) == (payload.contact is None):
        raise FieldError(422, "lead", "give either a lead or a contact")
    lead = contact = None
    if payload.lead is not None:
        lead = leads_for(user).filter(external_id=payload.lead).first()
        if lead is None:
            raise FieldError(404, "lead", f"no lead {payload.lead!r} (or you may not see it)")
    else:
        contact = access.contacts_for(user).select_related("account").filter(external_id=payload.contact).first()
        if contact is None:
            raise FieldError(404, "contact", f"no contact {payload.contact!r} (or you may not see it)")
    with refused():
        touch = services.record_social(lead=lead, contact=contact, owner=user, at=_instant(payload.at),
                                       notes=payload.notes, by=user)
    t = Touch.objects.select_related("owner", "lead", "contact", "account").get(pk=touch.pk)
    return created({"id": t.external_id, "at": t.at, "channel": t.channel, "owner": t.owner.external_id,
                    "lead": ext(t.lead), "contact": ext(t.contact), "account": ext(t.account), "notes": t.notes})


@router.post("/leads/{lead_id}/convert", response={201: ConvertOut, 404: Error, 422: Error},
             summary="Make an engaged lead a deal, at the first meeting stage (the pipeline's first open stage)")
def convert(request, lead_id: Text, payload: ConvertIn):
    from bestby.pipeline.models import Pipeline, Stage

    user = request.auth
    lead = leads_for(user).filter(external_id=lead_id).first()
    if lead is None:
        raise FieldError(404, "lead", f"no lead {lead_id!r} (or you may not see it)")
    pipeline = stage = None
    if payload.pipeline is not None:
        pipeline = Pipeline.objects.filter(name=payload.pipeline).first()
        if pipeline is None:
            raise FieldError(422, "pipeline", f"no pipeline is named {payload.pipeline!r}")
    if payload.stage is not None:
        stage = Stage.objects.filter(name=payload.stage, **({"pipeline": pipeline} if pipeline else {})).first()
        if stage is None:
            raise FieldError(422, "stage", f"no stage is named {payload.stage!r}")
    with refused():
        deal = services.convert(lead, pipeline=pipeline, stage=stage, amount=payload.amount, by=user)
    return created({"lead": lead.external_id, "deal": deal.external_id, "pipeline": deal.pipeline.name,
                    "stage": deal.stage.name, "owner": deal.owner.external_id if deal.owner else None})


# ---------------------------------------------------------------- adherence

@router.get("/adherence", response={200: AdherenceOut, 422: Error},
            summary="Adherence per seller and team: steps on time, late, overdue, skipped; touches before stopping; "
                    "reply and meeting rates by touch number")
def adherence(request, period: Optional[Text] = Query(None, max_length=40, description="2026-Q1, 2026-03, FY2026, "
                                                      "or 2026-03-02..2026-03-13; default: this quarter"),
              as_of: Optional[Text] = Query(None, max_length=40, description="a date, or an instant; default: now")):
    # imported here, as the adherence page does: a fault in the report must not take the whole API down
    from bestby.cadences.adherence_params import adherence_as_of, adherence_period
    from bestby.cadences.adherence_store import adherence_report

    when = adherence_as_of(as_of, now=clock.now().replace(microsecond=0))
    chosen = adherence_period(period, when)
    return adherence_report(period=chosen, as_of=when, user=request.auth)
