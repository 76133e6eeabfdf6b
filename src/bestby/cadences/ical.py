"""A seller's open cadence tasks as iCalendar events (RFC 5545, written by the ``icalendar`` package).

Used by the secret feed ``/calendar/<token>.ics``, the signed-in download
``/calendar/tasks.ics`` and ``bestby calendar --user EMAIL``. No request, no
writes: ``open_tasks`` reads the store, the rest shapes what it read.

One event per open task
    * ``DTSTART;VALUE=DATE`` is the task's due date and ``DTEND`` the next
      day: an all-day event, with no time and no time zone. A task is due on
      a date of the seller's own calendar (``bestby.cadences.schedule``), and
      a floating date is the only iCalendar value that a daylight-saving
      change (or a calendar app in another zone) cannot move to another day.
    * An overdue open task stays on its due date, in the past: the feed shows
      the plan as it stands, and the Today list (``bestby today``) is where
      overdue work is counted. When a late step shifts the later ones, their
      events move to the new dates under the same UID, so calendar apps
      update them in place.
    * Done, skipped and cancelled tasks are not in the feed: once a task is
      done its event disappears on the app's next refresh.
    * ``UID`` is ``task-<pk>@bestby``: stable for the life of the task.
      ``DTSTAMP`` is when the feed was written (UTC). ``TRANSP:TRANSPARENT``:
      a task does not block the seller's free/busy time.
    * ``SUMMARY`` is the channel's verb and the person: ``Call: Anna Berg
      (Acme GmbH)``. ``DESCRIPTION`` has one line each for the person (with
      their id, phone and e-mail when known), the deal, the channel, the
      instruction, and the cadence with the step number (or "extra call" for
      a "one more call" task, which belongs to no cadence).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bestby import clock
from bestby.cadences.models import CadenceTask, TaskStatus

#: the verb that starts an event's title, per step channel
VERBS = {"phone": "Call", "voicemail": "Call (voicemail)", "email": "Email", "mail": "Mail", "text": "Text",
         "other": "Touch"}
PRODID = "-//bestby//cadence tasks//EN"


def open_tasks(user):
    """The open tasks ``user`` owns, overdue ones included, by due date then id."""
    return (CadenceTask.objects.filter(owner=user, status=TaskStatus.OPEN)
            .select_related("lead", "contact__account", "deal", "enrollment__cadence").order_by("due_on", "id"))


def person(task: CadenceTask) -> str:
    """``Name (Company)`` of the task's lead, else of its contact (company = the contact's account)."""
    if task.lead_id:
        name, company = task.lead.name or task.lead.external_id, task.lead.company
    else:
        contact = task.contact
        name = contact.name or contact.external_id
        company = contact.account.name if contact.account_id else ""
    return f"{name} ({company})" if company else name


def summary(task: CadenceTask) -> str:
    return f"{VERBS.get(task.channel, task.channel.capitalize())}: {person(task)}"


def step_label(task: CadenceTask) -> str:
    """``Six touches in ten days, step 3``, or ``extra call (one more call), no cadence``."""
    if task.enrollment_id is None:
        return "extra call (one more call), no cadence"
    return f"{task.enrollment.cadence.name}, step {task.position}"


def description(task: CadenceTask) -> str:
    if task.lead_id:
        who, key, phone, email = "Lead", task.lead.external_id, task.lead.phone, task.lead.email
    else:
        who, key, phone, email = "Contact", task.contact.external_id, task.contact.phone, task.contact.email
    lines = [f"{who}: {person(task)} [{key}]"]
    if phone:
        lines.append(f"Phone: {phone}")
    if email:
        lines.append(f"E-mail: {email}")
    if task.deal_id:
        lines.append(f"Deal: {task.deal.name or task.deal.external_id} [{task.deal.external_id}]")
    lines.append(f"Channel: {task.channel}")
    if task.instruction:
        lines.append(f"Instruction: {task.instruction}")
    lines.append(f"Cadence: {step_label(task)}")
    return "\n".join(lines)


def task_event(task: CadenceTask, *, stamp: datetime):
    """The all-day event of one task (see the module doc)."""
    from icalendar import Event

    event = Event()
    event.add("uid", f"task-{task.pk}@bestby")
    event.add("dtstamp", stamp)
    event.add("dtstart", task.due_on)
    event.add("dtend", task.due_on + timedelta(days=1))
    event.add("summary", summary(task))
    event.add("description", description(task))
    event.add("transp", "TRANSPARENT")
    event.add("categories", ["bestby", "cadence"])
    return event


def add_task_events(cal, tasks, *, stamp: datetime) -> int:
    """Add one event per task to the icalendar ``cal``; return how many."""
    n = 0
    for task in tasks:
        cal.add_component(task_event(task, stamp=stamp))
        n += 1
    return n


def tasks_calendar(user, *, stamp: datetime | None = None) -> bytes:
    """The RFC 5545 text of ``user``'s open tasks (``stamp``: the DTSTAMP, default now)."""
    from icalendar import Calendar

    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"bestby tasks: {user}")
    add_task_events(cal, open_tasks(user), stamp=stamp or clock.now())
    return cal.to_ical()
