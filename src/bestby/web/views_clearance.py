"""The clearance review: the clearance list (from the freshness cache), clear, snooze, undo, recent actions.

The list is the cached freshness rows in state ``expired`` or ``stalled`` of
deals still open, not snoozed today and visible to the user, by clearance
weight. Every action posts a CSRF-protected form and goes through
:mod:`bestby.clearance.services` (one transaction, audited); a deal the user
may not see answers 404. HTMX requests get the list back as a partial.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import Http404
from django.shortcuts import render
from django.views.decorators.http import require_POST

from bestby.clearance import services
from bestby.clearance.models import ClearanceAction, Freshness
from bestby.clearance.snapshot import computed_at
from bestby.people import access
from bestby.pipeline.models import DealStatus

LIST_LIMIT = 200
RECENT = 20
LISTED = ("expired", "stalled")


def _today() -> date:
    return datetime.now(UTC).date()


def clearance_rows(user):
    """The cached clearance list the user may act on, heaviest first (a queryset)."""
    snoozed = [a.deal_id for a in services.active_snoozes(_today()).values()]
    return (Freshness.objects.filter(state__in=LISTED, deal__status=DealStatus.OPEN,
                                     deal__in=access.deals_for(user))
            .exclude(deal_id__in=snoozed).select_related("deal", "deal__owner", "deal__stage")
            .order_by("-weight", "deal__external_id"))


def recent_actions(user):
    return (ClearanceAction.objects.filter(deal__in=access.deals_for(user))
            .select_related("deal", "by", "undone_by").order_by("-pk")[:RECENT])


def _render(request, *, errors=None, message="", done=(), form=None, status=200):
    rows = clearance_rows(request.user)
    total = rows.count()
    context = {"rows": rows[:LIST_LIMIT], "total": total, "limit": LIST_LIMIT, "recent": recent_actions(request.user),
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
    action = ClearanceAction.objects.filter(pk=action_id, deal__in=access.deals_for(request.user)).first()
    if action is None:
        raise Http404("no such action")
    try:
        done = services.undo(action=action, reason=request.POST.get("reason", ""), by=request.user)
    except services.ClearanceError as exc:
        return _render(request, errors={exc.param: exc.message}, status=400)
    return _render(request, message=f"Undid action #{action.pk} on {action.deal.external_id} (action #{done.pk})")
