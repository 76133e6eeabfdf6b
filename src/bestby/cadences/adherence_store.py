"""Adherence from the store: read the rows with the ORM, compute with :mod:`bestby.cadences.adherence`, cut by role.

``adherence_report(period=, as_of=, user=)`` reads

* the tasks due in the period (cadence steps and "one more call" tasks),
  with, for a cancelled task, the date its cadence ended;
* every non-social touch of the leads and contacts touched in the period
  (their whole history up to the as-of date: a run that ends in the period
  may have started long before it), in time order;
* the cadences that ended without engagement (back to nurture, stopped) from the
  period's start on (a run that stops in the period has its last attempt in it);

turns every instant into a date on its seller's wall clock (the owner's time
zone; a touch without owner: the workspace's), and hands them to
:func:`bestby.cadences.adherence.adherence` with the workspace's business
calendar. ``as_of`` is a date (the same date for every seller) or an instant
(each seller's own date at that instant).

Who sees what (:mod:`bestby.people.access`): an admin (and ``user=None``, the
operator at the command line) sees every row, the workspace's included; a
manager the rows of the sellers they may see and their team's row; a rep
their own row and their team's total (a total, never a colleague's row, as
on the board). Only the rows of the people a user may see, or of their team,
are read at all.

The period is a fiscal period or a range of dates, read by
:mod:`bestby.cadences.adherence_params`.
"""

from __future__ import annotations

import zoneinfo
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db.models import Q

from bestby.activities.models import Touch
from bestby.cadences import adherence as rules
from bestby.cadences.models import CadenceTask, Enrollment, EnrollmentStatus
from bestby.cadences.services import calendar
from bestby.people import access
from bestby.people.models import User

__all__ = ["adherence_report"]

def _workspace_zone():
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def _person(lead_id, contact_id) -> str:
    return f"lead:{lead_id}" if lead_id else f"contact:{contact_id}"


def adherence_report(*, period, as_of: date | datetime, user=None) -> dict:
    """The adherence document of ``period`` at ``as_of`` with the rows ``user`` may see (module doc).

    {period, start, end (last day), as_of, stop_after, abandon_at, rows: [{level, key, ...the figures of
    :func:`bestby.cadences.adherence.adherence`}]}
    """
    read = None if user is None else access.team_owner_ids(user)
    users = {pk: (ext, team, zoneinfo.ZoneInfo(tz) if tz else None)
             for pk, ext, team, tz in User.objects.values_list("pk", "external_id", "team", "time_zone")}
    home = _workspace_zone()

    def zone(owner_pk):
        found = users.get(owner_pk)
        return (found and found[2]) or home

    def local(owner_pk, at: datetime) -> date:
        return at.astimezone(zone(owner_pk)).date()

    if isinstance(as_of, datetime):
        base = local(None, as_of)
        as_of_for = {ext: local(pk, as_of) for pk, (ext, _t, _z) in users.items()}
    else:
        base, as_of_for = as_of, {}
    latest = max([base, *as_of_for.values()])
    # instants a day wider than the local dates on either side: the rules cut on the exact local dates
    lo = datetime.combine(period.start - timedelta(days=1), time(), UTC)
    hi = datetime.combine(min(period.end, latest + timedelta(days=1)) + timedelta(days=1), time(), UTC)
    upper = datetime.combine(latest + timedelta(days=2), time(), UTC)

    tasks = CadenceTask.objects.filter(due_on__gte=period.start, due_on__lt=period.end, due_on__lte=latest)
    if read is not None:
        tasks = tasks.filter(owner_id__in=read)
    task_rows = []
    for owner, due_on, status, done_on, ended_at in tasks.values_list("owner_id", "due_on", "status", "done_on",
                                                                       "enrollment__ended_at"):
        ext, team, _z = users[owner]
        task_rows.append({"owner": ext, "team": team, "due_on": due_on, "status": status, "done_on": done_on,
                          "ended_on": local(owner, ended_at) if ended_at else None})

    in_window = Touch.objects.filter(at__gte=lo, at__lt=hi).exclude(channel="social")
    persons = Q(lead_id__in=in_window.exclude(lead=None).values("lead_id")) | Q(
        lead=None, contact_id__in=in_window.filter(lead=None).exclude(contact=None).values("contact_id"))
    touches = Touch.objects.filter(persons, at__lt=upper).exclude(channel="social")
    if read is not None:
        mine = Touch.objects.filter(owner_id__in=read).exclude(channel="social")
        touches = touches.filter(Q(lead_id__in=mine.exclude(lead=None).values("lead_id")) | Q(
            lead=None, contact_id__in=mine.filter(lead=None).exclude(contact=None).values("contact_id")))
    touch_rows = []
    for lead_id, contact_id, owner, at, channel, direction, outcome in (
            touches.order_by("at", "id").values_list("lead_id", "contact_id", "owner_id", "at", "channel",
                                                     "direction", "outcome")):
        ext, team, _z = users.get(owner, (None, "", None))
        touch_rows.append({"person": _person(lead_id, contact_id), "owner": ext, "team": team, "at": at,
                           "on": local(owner, at), "channel": channel, "direction": direction, "outcome": outcome})

    ends = Enrollment.objects.filter(status__in=(EnrollmentStatus.NURTURE, EnrollmentStatus.STOPPED),
                                     ended_at__gte=lo, ended_at__lt=upper)
    end_rows = [{"person": _person(lead_id, contact_id), "ended_on": local(owner, ended_at)}
                for lead_id, contact_id, owner, ended_at in ends.values_list("lead_id", "contact_id", "owner_id",
                                                                             "ended_at")]

    rows = rules.adherence(task_rows, touch_rows, start=period.start, end=period.end, as_of=base,
                           as_of_for=as_of_for, cadence_ends=end_rows, calendar=calendar())
    if user is not None and not access.is_admin(user):
        rows = _cut(rows, user)
    return {"period": period.label, "start": period.start.isoformat(), "end": period.last_day.isoformat(),
            "as_of": as_of.isoformat(), "stop_after": rules.STOP_AFTER, "abandon_at": rules.ABANDON_AT,
            "rows": rows}


def _cut(rows: list[dict], user) -> list[dict]:
    """The owner rows of the sellers ``user`` may see and their own team's row (module doc)."""
    visible = access.owner_ids_for(user) or frozenset()
    owners = set(User.objects.filter(pk__in=visible).values_list("external_id", flat=True))
    return [r for r in rows if (r["level"] == "owner" and r["key"] in owners)
            or (r["level"] == "team" and user.team and r["key"] == user.team)]
