"""Exports and the calendar feed: the same access rules as the pages (thin adapters).

``/export/deals.csv``
    The open deals the signed-in user may see (:func:`bestby.people.access.deals_for`),
    with their cached freshness, as CSV for a spreadsheet: the csv module quotes
    what needs it, and text a spreadsheet would run as a formula (a deal named
    ``=HYPERLINK(...)``) is written behind a quote (:mod:`bestby.spreadsheet`).
``/calendar/<token>.ics``
    An iCalendar feed for calendar apps, which cannot sign in or send headers:
    the URL carries one of the user's API tokens (``bestby token create``;
    revoking it ends the feed). It lists, for the token owner's visible open
    deals, all-day events on each deal's best-by date and expected close date,
    and the day a snooze ends, and the token owner's open cadence tasks
    (:mod:`bestby.cadences.ical`: one all-day event per task on its due date).
    ``icalendar`` writes the RFC 5545 text (line folding, escaping, UIDs) so
    the feed is read the same by every calendar.
``/calendar/tasks.ics``
    The signed-in user's own open cadence tasks, as a file to download.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse

from bestby import clock
from bestby.cadences.ical import add_task_events, open_tasks, tasks_calendar
from bestby.clearance.services import active_snoozes
from bestby.people.access import deals_for
from bestby.pipeline.models import DealStatus
from bestby.spreadsheet import writer as spreadsheet_writer

CSV_COLUMNS = ("deal_id", "name", "owner_id", "pipeline", "stage", "amount", "currency", "close_date", "state",
               "best_by", "win_probability", "reasons")


def _open_deals(user):
    return (deals_for(user).filter(status=DealStatus.OPEN)
            .select_related("owner", "stage", "pipeline", "freshness").order_by("external_id"))


@login_required
def export_deals(request):
    """CSV of the open deals the user may see, with their freshness."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="bestby-open-deals.csv"'
    out = spreadsheet_writer(response)
    out.writerow(CSV_COLUMNS)
    for d in _open_deals(request.user).iterator(chunk_size=2000):
        f = getattr(d, "freshness", None)
        out.writerow([
            d.external_id, d.name, d.owner.external_id if d.owner_id else "", d.pipeline.name, d.stage.name,
            "" if d.amount is None else d.amount, d.currency, d.close_date.isoformat() if d.close_date else "",
            f.state if f else "", f.best_by.isoformat() if f and f.best_by else "",
            "" if not f or f.win_probability is None else f"{f.win_probability:.4f}",
            "; ".join(x["text"] for x in f.reasons) if f else "",
        ])
    return response


def calendar_feed(request, token: str):
    """The token owner's best-by dates, close dates, snooze ends and open tasks as an iCalendar feed (404: bad token)."""
    from icalendar import Calendar, Event

    from bestby.api.tokens import authenticate

    user = authenticate(token)
    if user is None:
        raise Http404("no such calendar")
    cal = Calendar()
    cal.add("prodid", "-//bestby//pipeline calendar//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", f"bestby: {user}")
    stamp = clock.now()
    deals = list(_open_deals(user))
    snoozes = active_snoozes(stamp.date())

    def event(uid: str, day, summary: str, description: str) -> None:
        e = Event()
        e.add("uid", f"{uid}@bestby")
        e.add("dtstamp", stamp)
        e.add("dtstart", day)
        e.add("summary", summary)
        e.add("description", description)
        cal.add_component(e)

    for d in deals:
        f = getattr(d, "freshness", None)
        if f is not None and f.best_by is not None:
            why = "\n".join(x["text"] for x in f.reasons) or "fresh"
            event(f"best-by-{d.external_id}", f.best_by.date(), f"Best-by: {d.name or d.external_id}",
                  f"{d.external_id} in {d.stage.name}, {f.state}.\n{why}")
        if d.close_date is not None:
            event(f"close-{d.external_id}", d.close_date, f"Expected close: {d.name or d.external_id}",
                  f"{d.external_id} in {d.stage.name}")
        snooze = snoozes.get(d.external_id)
        if snooze is not None:
            event(f"snooze-{snooze.pk}", snooze.until, f"Snooze ends: {d.name or d.external_id}",
                  f"Snoozed: {snooze.reason}")
    add_task_events(cal, open_tasks(user), stamp=stamp)
    return HttpResponse(cal.to_ical(), content_type="text/calendar; charset=utf-8")


@login_required
def tasks_download(request):
    """The signed-in user's open cadence tasks as an .ics file (all-day events on their due dates)."""
    response = HttpResponse(tasks_calendar(request.user), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="bestby-tasks.ics"'
    return response
