"""The clearance review: the clearance list (from the freshness cache), clear, snooze, undo, recent actions.

The list is :func:`bestby.clearance.review.cached_list`: the cached freshness
rows in state ``expired`` or ``stalled`` of deals still open, not snoozed
today and visible to the user, by clearance weight, ``PAGE_SIZE`` rows a page
(``?page=``). Every action posts a CSRF-protected form and goes through
:mod:`bestby.clearance.services` (one transaction, audited); a deal the user
may not see answers 404. HTMX requests get the list back as a partial.

"Send decisions to your CRM" (:func:`decisions_download`) returns the
clears, snoozes and undos since a date as a CSV download, written by
:mod:`bestby.exporters_decisions` (the same files as ``bestby export
decisions``). Who may download what follows who may clear and undo
(:func:`bestby.people.access.can_change`: anyone who may see a deal): every
signed-in user gets the decisions on the deals they may see now (admins:
all; managers: their team's; reps: their own), the same actions the page's
"Recent actions" lists. A CRM file's row for a deal is the deal's net state
over all its actions in the window, so the filter keeps or drops a deal
with all its actions.
"""

from __future__ import annotations

from datetime import date, datetime

from django.contrib.auth.decorators import login_required
from django.db import connection, transaction
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from bestby import clock
from bestby.bounds import POSITION
from bestby.clearance import services
from bestby.clearance import openbook
from bestby.clearance.review import cached_list, snoozed_deal_keys
from bestby.clearance.models import ClearanceAction, Freshness
from bestby.clearance.snapshot import computed_at
from bestby.exporters_decisions import DEFAULT_LOSS_REASON_FIELD, FORMATS, ExportError
from bestby.people import access
from bestby.pipeline import revision
from bestby.web.fragments import fragments

PAGE_SIZE = 50
RECENT = 20


def _today() -> date:
    return clock.today()


def _page_number(request) -> int:
    """The ``page`` asked for (1 when absent or not a whole number of at least 1; at most a billion).

    The cap keeps the row offset far below the 2**63 a database refuses (an
    overflow there was a 500); a page past the last shows the last.
    """
    try:
        return min(max(1, int(request.GET.get("page", "1"))), POSITION.hi)
    except ValueError:
        return 1


def recent_actions(user):
    return (ClearanceAction.objects.filter(access.deal_q(user))
            .select_related("deal", "by", "undone_by").order_by("-pk")[:RECENT])


def list_html(user, number: int, checked: frozenset) -> str:
    """The list part of the review (count, pager, rows), from the fragment cache when nothing changed.

    Its key holds the revision tokens, the user's owner scope, the snoozed
    deals (a snooze writes no deal), the page and the ticked boxes.
    """
    book, today = openbook.current(), _today()
    owners, snoozed = access.owner_ids_for(user), snoozed_deal_keys(today)
    key = ("clearance", str(connection.settings_dict["NAME"]), book.token, revision.current(revision.PEOPLE),
           owners, snoozed, number, checked)

    def render_list() -> str:
        page = number
        total, rows = cached_list(user, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, today=today)
        pages = max(1, -(-total // PAGE_SIZE))
        if page > pages:  # past the end (the list shrank): show the last page
            page = pages
            total, rows = cached_list(user, offset=(page - 1) * PAGE_SIZE, limit=PAGE_SIZE, today=today)
        return render_to_string("web/_clearance_list.html", {
            "rows": rows, "total": total, "page": page, "pages": pages,
            "first": (page - 1) * PAGE_SIZE + 1 if rows else 0, "last": (page - 1) * PAGE_SIZE + len(rows),
            "form": {"deals": checked}})

    return fragments.get(key, render_list)


def _render(request, *, errors=None, message="", done=(), form=None, status=200, export=None):
    number = _page_number(request) if request.method == "GET" else 1
    checked = frozenset((form or {}).get("deals", ()))
    context = {"list_html": mark_safe(list_html(request.user, number, checked)),  # escaped when rendered
               "recent": recent_actions(request.user),
               "computed_at": computed_at(), "errors": errors or {}, "message": message, "done": list(done),
               "form": form or {}, "tomorrow": date.fromordinal(_today().toordinal() + 1),
               "export": export or _export_defaults(), "export_formats": FORMATS}
    partial = request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request")
    # htmx does not swap a 4xx answer: a refused action comes back as 200 with its error shown by the field
    return render(request, "web/_clearance.html" if partial else "web/clearance.html", context,
                  status=200 if partial else status)


@login_required
def review(request):
    return _render(request)


def _selected(request) -> list[str]:
    """The selected deal ids, each visible to the user (else 404: no hint that it exists)."""
    ids = list(dict.fromkeys(i.strip() for i in request.POST.getlist("deals") if i.strip()))
    visible = set(access.deals_for(request.user).filter(external_id__in=ids).values_list("external_id", flat=True))
    if any(i not in visible for i in ids):
        raise Http404("no such deal")
    return ids


def _form(request) -> dict:
    return {k: request.POST.get(k, "").strip() for k in ("reason", "until", "to")} | {
        "deals": request.POST.getlist("deals")}


@login_required
@require_POST
def clear(request):
    """Clear the selected deals to lost or back to nurture, all or nothing; each keeps its own listed reasons
    unless a reason is typed."""
    ids, form = _selected(request), _form(request)
    try:
        if not ids:
            raise services.ClearanceError("deals", "select at least one deal")
        listed = {f.deal.external_id: f.reasons for f in Freshness.objects.filter(deal__external_id__in=ids)
                  .select_related("deal")}
        with transaction.atomic():
            actions = []
            for i in ids:
                why = form["reason"] or "clearance review: " + ("; ".join(r["text"] for r in listed.get(i, []))
                                                               or "cleared by hand")
                actions += services.clear(deals=[i], reason=why, to=form["to"] or "lost", by=request.user)
    except services.ClearanceError as exc:
        return _render(request, errors={exc.param: exc.message}, form=form, status=400)
    verb = "Cleared to lost" if (form["to"] or "lost") == "lost" else "Sent back to nurture"
    return _render(request, message=f"{verb}: " + ", ".join(f"{a.deal.external_id} (action #{a.pk})" for a in actions),
                   done=actions)


@login_required
@require_POST
def snooze(request):
    """Snooze the selected deals until a date, with a reason (required)."""
    ids, form = _selected(request), _form(request)
    try:
        if not ids:
            raise services.ClearanceError("deals", "select at least one deal")
        if not form["until"]:
            raise services.ClearanceError("until", "choose a date: the deal comes back to the list on that day")
        try:
            until = date.fromisoformat(form["until"])
        except ValueError:
            raise services.ClearanceError("until", f"{form['until']!r} is not a date (YYYY-MM-DD)") from None
        with transaction.atomic():
            actions = [services.snooze(deal=i, until=until, reason=form["reason"], by=request.user) for i in ids]
    except services.ClearanceError as exc:
        return _render(request, errors={exc.param: exc.message}, form=form, status=400)
    return _render(request, message=f"Snoozed until {until:%Y-%m-%d}: "
                   + ", ".join(f"{a.deal.external_id} (action #{a.pk})" for a in actions), done=actions)


@login_required
@require_POST
def undo(request, action_id: int):
    """Undo one clear or snooze on a deal the user may see."""
    action = ClearanceAction.objects.filter(access.deal_q(request.user), pk=action_id).first()
    if action is None:
        raise Http404("no such action")
    try:
        done = services.undo(action=action, reason=request.POST.get("reason", ""), by=request.user)
    except services.ClearanceError as exc:
        return _render(request, errors={exc.param: exc.message}, status=400)
    return _render(request, message=f"Undid action #{action.pk} on {action.deal.external_id} (action #{done.pk})")


# ------------------------------------------------------------------ decisions back to the CRM

EXPORT_DAYS = 30  # the form's default window: a month of reviews


def _export_defaults() -> dict:
    since = date.fromordinal(_today().toordinal() - EXPORT_DAYS)
    return {"since": since.isoformat(), "format": "salesforce", "loss_reason_field": DEFAULT_LOSS_REASON_FIELD}


def export_options(params) -> tuple[datetime, str, str]:
    """``since`` (YYYY-MM-DD, from midnight UTC), ``format`` and ``loss_reason_field`` from the query or form.

    ``loss_reason_field`` names a column of the Salesforce file only; for the
    other formats it may be empty or the default (the form always sends it)
    and is refused otherwise. ExportError names the parameter at fault.
    """
    from bestby.exporters_decisions import check_options, parse_since

    since = parse_since(params.get("since", ""))
    fmt = params.get("format", "").strip()
    field = params.get("loss_reason_field", "").strip()
    if fmt not in FORMATS:
        raise ExportError("format", f"{fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt != "salesforce" and field not in ("", DEFAULT_LOSS_REASON_FIELD):
        raise ExportError("loss_reason_field", f"applies to the salesforce format only (not {fmt!r})")
    field = field or DEFAULT_LOSS_REASON_FIELD
    check_options(fmt, field)
    return since, fmt, field


@login_required
def decisions_download(request):
    """GET or POST since, format, loss_reason_field: the decisions since that day on deals the user may see, as
    a CSV attachment; bad parameters give the page with the message by the form (400)."""
    from bestby.exporters_decisions import decisions_since, write_decisions_to

    params = request.POST if request.method == "POST" else request.GET
    try:
        since, fmt, field = export_options(params)
    except ExportError as exc:
        shown = {k: params.get(k, "") for k in ("since", "format", "loss_reason_field")}
        return _render(request, errors={"export": str(exc), "export_field": exc.param if exc.param != "fmt"
                                        else "format"}, export=shown, status=400)
    decisions = decisions_since(since)
    if not access.is_admin(request.user):
        visible = set(ClearanceAction.objects.filter(access.deal_q(request.user), at__gte=since)
                      .values_list("pk", flat=True))
        decisions = [d for d in decisions if d.action_id in visible]
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="bestby-decisions-{fmt}-{since:%Y-%m-%d}.csv"'
    write_decisions_to(decisions, fmt, response, loss_reason_field=field)
    return response
