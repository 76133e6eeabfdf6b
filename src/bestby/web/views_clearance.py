"""The clearance review: the clearance list (from the freshness cache), clear, snooze, undo, recent actions.

The list is :func:`bestby.clearance.review.cached_list`: the cached freshness
rows in state ``expired`` or ``stalled`` of deals still open, not snoozed
today and visible to the user, by clearance weight, ``PAGE_SIZE`` rows a page
(``?page=``). Every action posts a CSRF-protected form and goes through
:mod:`bestby.clearance.services` (one transaction, audited); a deal the user
may not see answers 404. HTMX requests get the list back as a partial.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.contrib.auth.decorators import login_required
from django.db import connection, transaction
from django.http import Http404
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from bestby.clearance import services
from bestby.clearance import openbook
from bestby.clearance.review import cached_list, snoozed_deal_keys
from bestby.clearance.models import ClearanceAction, Freshness
from bestby.clearance.snapshot import computed_at
from bestby.people import access
from bestby.pipeline import revision
from bestby.web.fragments import fragments

PAGE_SIZE = 50
RECENT = 20


def _today() -> date:
    return datetime.now(UTC).date()


def _page_number(request) -> int:
    """The ``page`` asked for (1 when absent or not a whole number of at least 1)."""
    try:
        return max(1, int(request.GET.get("page", "1")))
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


def _render(request, *, errors=None, message="", done=(), form=None, status=200):
    number = _page_number(request) if request.method == "GET" else 1
    checked = frozenset((form or {}).get("deals", ()))
    context = {"list_html": mark_safe(list_html(request.user, number, checked)),  # escaped when rendered
               "recent": recent_actions(request.user),
               "computed_at": computed_at(), "errors": errors or {}, "message": message, "done": list(done),
               "form": form or {}, "tomorrow": date.fromordinal(_today().toordinal() + 1)}
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
