"""The Today page: a seller's cadence tasks due today or earlier, and one-click done, skip, reply, meeting booked.

What is listed
    :func:`bestby.cadences.services.today`: the seller's open tasks due on or
    before the date on the seller's own wall clock (their time zone), oldest
    first, so the overdue ones lead. A task is *late* by the business days
    between its due date and today (``business_days_between(due_on, today)``
    on the workspace calendar: weekends and public holidays do not count, so
    a task due on Friday is one day late on Monday, not three). Each row
    gives the person (lead or contact, and their company or account), the
    channel, the instruction, and the cadence with the step number (``step 3
    of 6``; an extra "one more call" task has no cadence).

Actions (CSRF-protected POSTs, one service call each, all audited there)
    * Done, with an outcome (connected, no answer, voicemail left, bounced,
      or none): :func:`services.complete` records the touch and shifts later
      steps when the task is late.
    * Skip, with an optional reason: :func:`services.skip` (no touch).
    * Reply / Meeting booked, with the channel the buyer used:
      :func:`services.buyer_engaged` (an inbound touch; the cadence ends).
    * One more call: :func:`services.one_more_call`, one call due the next
      business day for everyone the seller called this week; the page says
      how many it scheduled and for which day.

Engaged leads: make it a deal
    Below the tasks, the shown seller's leads with status ``engaged`` (a reply
    or a booked meeting ended their cadence): the leads the seller owns among
    those the user may see (:func:`bestby.people.access.leads_for`), by
    external id. Each has a "Make it a deal" form: a pipeline select (every
    pipeline, oldest first, so the preselected one is the one
    :func:`services.convert` would pick when none is given) posting to
    ``today/leads/<external_id>/convert/``, which calls
    :func:`services.convert` with ``by`` the user. The deal, ``lead-<id>``,
    starts at the pipeline's first open stage (a process starts with the
    first conversation) and is owned by the lead's owner; the lead becomes
    ``converted`` and leaves the list. The page says "Lead L1 is now deal
    lead-L1 in <pipeline> / <stage>." with a link to the deal page. An
    unknown pipeline key is refused by the pipeline select; a lead that is no
    longer engaged (a second click) is refused at the top of the list. A lead
    the user may not see answers 404.

Who sees and acts for whom
    ``?user=<external_id>`` shows another seller's Today to whoever may see
    that seller's records (:func:`bestby.people.access.owners_for`: admins
    everyone, managers their team, reps themselves); acting on a task
    follows the same rule. A seller or task out of reach answers 404, as if
    it did not exist. Refusals (:class:`services.CadenceError`) come back
    with the message by the field at fault, status 400, nothing changed; an
    HTMX request gets the list part back, with status 200 even for a refusal
    (htmx does not swap a 4xx answer), as on the clearance page.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db.models import Count, prefetch_related_objects
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_POST

from bestby import clock
from bestby.cadences import services
from bestby.cadences.models import CadenceTask
from bestby.people import access
from bestby.pipeline.models import Pipeline

#: the outcomes a seller picks when marking a task done ("" is none); replies and meetings have their own buttons
DONE_OUTCOMES = (("", "none"), ("connected", "connected"), ("no_answer", "no answer"),
                 ("voicemail_left", "voicemail left"), ("bounced", "bounced"))
#: channels a buyer may reply or book a meeting through (social is never a touch)
ENGAGED_CHANNELS = ("email", "phone", "voicemail", "text", "mail", "meeting", "other")
VERBS = {"phone": "Call", "voicemail": "Voicemail", "email": "Email", "mail": "Mail", "text": "Text", "other": "Touch"}


def _htmx(request) -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-History-Restore-Request")


def _seller(request, key: str):
    """The seller whose Today is shown: ``key`` (an external id) if the user may see them, else 404; "" is oneself."""
    key = (key or "").strip()
    if not key or key == request.user.external_id:
        return request.user
    seller = access.owners_for(request.user).filter(external_id=key).first()
    if seller is None:
        raise Http404("no such seller")
    return seller


def _task(request, task_id: int) -> CadenceTask:
    """A task the user may act on (its owner is someone whose records they may see), else 404."""
    task = access.tasks_for(request.user).select_related("owner", "lead", "contact").filter(pk=task_id).first()
    if task is None:
        raise Http404("no such task")
    return task


def person_of(task: CadenceTask) -> tuple[str, str, str]:
    """(name, company or account, external id) of the task's lead or contact."""
    if task.lead_id:
        return str(task.lead), task.lead.company, task.lead.external_id
    account = task.contact.account
    return str(task.contact), account.name if account else "", task.contact.external_id


def rows(seller, now):
    """The seller's local date and the Today rows (see the module doc for ``late`` and ``step``)."""
    day, tasks = services.today(seller, now=now)
    prefetch_related_objects(tasks, "contact__account")
    cal = services.calendar()
    enrollments = {t.enrollment_id for t in tasks if t.enrollment_id}
    steps = dict(CadenceTask.objects.filter(enrollment_id__in=enrollments).values("enrollment_id")
                 .annotate(n=Count("id")).values_list("enrollment_id", "n"))
    out = []
    for t in tasks:
        name, company, key = person_of(t)
        out.append({"task": t, "name": name, "company": company, "key": key,
                    "late": cal.business_days_between(t.due_on, day),
                    "cadence": t.enrollment.cadence.name if t.enrollment_id else "",
                    "steps": steps.get(t.enrollment_id, 0),
                    "via": "phone" if t.channel == "voicemail" else t.channel})
    return day, out


def engaged_leads(user, seller) -> list:
    """The seller's engaged leads that ``user`` may see, by external id (the ones to make a deal of)."""
    return list(access.leads_for(user).filter(owner=seller, status="engaged").order_by("external_id"))


def _render(request, seller, *, message: str = "", link: tuple[str, str] | None = None, error: dict | None = None,
            status: int = 200):
    day, listed = rows(seller, clock.now())
    leads, error = engaged_leads(request.user, seller), dict(error or {})
    if error.get("action") == "convert":   # by the lead's form, or on top when the lead is not listed (any more)
        error["top"] = error["field"] == "lead" or error["lead"] not in {x.external_id for x in leads}
    context = {"seller": seller, "day": day, "rows": listed, "overdue": sum(1 for r in listed if r["late"] > 0),
               "leads": leads, "pipelines": list(Pipeline.objects.order_by("id")),
               "message": message, "link": link, "error": error, "outcomes": DONE_OUTCOMES,
               "channels": ENGAGED_CHANNELS, "others": seller != request.user,
               "sellers": list(access.owners_for(request.user).order_by("external_id"))}
    partial = _htmx(request)
    return render(request, "web/_today.html" if partial else "web/today.html", context,
                  status=200 if partial else status)


@login_required
def today_page(request):
    """The signed-in seller's Today, or ``?user=`` a seller they may see."""
    return _render(request, _seller(request, request.GET.get("user", "")))


def _refused(request, task: CadenceTask, action: str, exc: services.CadenceError):
    """The seller's list again with the refusal by the field of the form that was sent (400, nothing changed)."""
    return _render(request, task.owner, status=400,
                   error={"task": task.pk, "action": action, "field": exc.param, "message": exc.message})


def _what(task: CadenceTask) -> str:
    name, _, key = person_of(task)
    return f"{VERBS.get(task.channel, task.channel)} to {name} ({key})"


@login_required
@require_POST
def done(request, task_id: int):
    """Mark a task done with an outcome (none allowed)."""
    task = _task(request, task_id)
    outcome = request.POST.get("outcome", "").strip()
    try:
        services.complete(task.pk, outcome=outcome, at=clock.now(), by=request.user)
    except services.CadenceError as exc:
        return _refused(request, task, "done", exc)
    said = dict(DONE_OUTCOMES).get(outcome, outcome.replace("_", " "))
    return _render(request, task.owner, message=f"Done: {_what(task)}, outcome {said}.")


@login_required
@require_POST
def skip(request, task_id: int):
    """Skip a task (the reason is optional); nothing moves."""
    task = _task(request, task_id)
    reason = request.POST.get("reason", "").strip()
    try:
        services.skip(task.pk, reason=reason, at=clock.now(), by=request.user)
    except services.CadenceError as exc:
        return _refused(request, task, "skip", exc)
    return _render(request, task.owner, message=f"Skipped: {_what(task)}" + (f" ({reason})." if reason else "."))


@login_required
@require_POST
def engaged(request, task_id: int):
    """The buyer replied or booked a meeting (``outcome``), through ``via``: the cadence ends."""
    task = _task(request, task_id)
    outcome, via = request.POST.get("outcome", "").strip(), request.POST.get("via", "").strip() or "email"
    try:
        services.buyer_engaged(task.pk, outcome=outcome, channel=via, at=clock.now(), by=request.user)
    except services.CadenceError as exc:
        return _refused(request, task, "engaged", exc)
    name, _, key = person_of(task)
    what = "replied" if outcome == "replied" else "booked a meeting"
    return _render(request, task.owner, message=f"{name} ({key}) {what} by {via}: the cadence has ended.")


@login_required
@require_POST
def one_more_call(request):
    """Schedule one more call for everyone the seller (``user``, default oneself) called this week."""
    seller = _seller(request, request.POST.get("user", ""))
    made = services.one_more_call(seller, by=request.user, now=clock.now())
    if not made:
        message = ("One more call: nothing scheduled. Everyone called this week has a call planned already "
                   "(or there were no calls this week).")
    else:
        prefetch_related_objects(made, "lead", "contact")
        names = ", ".join(person_of(t)[0] for t in made)
        message = (f"One more call: scheduled {len(made)} call{'s' if len(made) != 1 else ''} "
                   f"for {made[0].due_on:%A %Y-%m-%d}: {names}.")
    return _render(request, seller, message=message)


@login_required
@require_POST
def convert(request, external_id: str):
    """Make the engaged lead a deal in the pipeline chosen (default: the first), at its first open stage."""
    lead = access.leads_for(request.user).select_related("owner").filter(external_id=external_id).first()
    if lead is None:
        raise Http404("no such lead")
    seller = lead.owner or request.user
    key = request.POST.get("pipeline", "").strip()
    try:
        pipeline = None
        if key:
            pipeline = (Pipeline.objects.filter(pk=int(key)).first()
                        if key.isascii() and key.isdigit() and len(key) < 19 else None)   # beyond a 64-bit key: none
            if pipeline is None:
                raise services.CadenceError("pipeline", f"no pipeline {key!r}; choose one of the list")
        deal = services.convert(lead, pipeline=pipeline, by=request.user, at=clock.now())
    except services.CadenceError as exc:
        return _render(request, seller, status=400, error={"lead": lead.external_id, "action": "convert",
                                                           "field": exc.param, "message": exc.message})
    where = f"{deal.pipeline.name} / {deal.stage.name}"
    return _render(request, seller, message=f"Lead {lead.external_id} is now deal {deal.external_id} in {where}.",
                   link=(deal.external_id, f"Open deal {deal.external_id}"))
