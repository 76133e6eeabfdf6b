"""Goals page: the quota rows a user may see, and adding, changing and deleting those they may edit.

Who sees and edits which owner's quotas is :mod:`bestby.people.access`
(admins: all; managers: their sellers' and their team's; reps: their own,
read-only); the changes are :mod:`bestby.goals.services` (validated, audited).
A form gives the owner, then either a fiscal period (``2026-Q1``, which fills
start and end) or the first and last day, and the amount. Errors name the
field (status 400, nothing changed); an owner outside the user's reach is 403.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from bestby import clock
from bestby.bounds import DATES
from bestby.engine.periods import KINDS, period_of
from bestby.goals.models import Quota
from bestby.goals.params import ParamError, period_param
from bestby.goals.services import (TEAM, QuotaDenied, QuotaError, change_quota, create_quota, delete_quota,
                                   quota_values)
from bestby.people import access
from bestby.people.models import User
from bestby.web.reporting import owner_names

MAX_ROWS = 300
FIELDS = ("owner", "period", "start", "end", "amount")


def _visible(user):
    keys = access.quota_keys_for(user)
    qs = Quota.objects.all() if keys is None else Quota.objects.filter(owner_key__in=keys)
    return qs.order_by("owner_key", "period_start", "period_end", "pk")


def _fiscal_label(start, end, first_month: int) -> str:
    """The fiscal period a row covers exactly (``FY2026-Q1``), else ""."""
    for kind in KINDS:
        p = period_of(start, kind, first_month=first_month)
        if p.start == start and p.last_day == end:
            return p.label
    return ""


def _owner_choices(user) -> list[tuple[str, str]]:
    """The owner keys the user may edit, as (key, label): people by name, then teams."""
    keys = access.quota_editable_keys(user)
    if keys is None:
        people = list(User.objects.values_list("external_id", flat=True))
        teams = User.objects.exclude(team="").values_list("team", flat=True).distinct()
        keys = {*people, *(f"{TEAM}{t}" for t in teams)}
    names = owner_names(k for k in keys if not k.startswith(TEAM))
    return sorted(((k, f"Team {k[len(TEAM):]}" if k.startswith(TEAM) else f"{names.get(k, k)} ({k})") for k in keys),
                  key=lambda kv: (kv[0].startswith(TEAM), kv[1].lower()))


def _stored_problem(quota) -> str | None:
    """Why a stored quota is no goal (a period outside 1900-2199, stored before bounds were checked), or None.

    Such a row is left out of every goal (bestby.engine.goals); here it is marked, for its owner to fix.
    """
    if DATES.holds(quota.period_start) and DATES.holds(quota.period_end):
        return None
    return (f"invalid: its period ({quota.period_start} to {quota.period_end}) lies outside "
            f"{DATES.first} to {DATES.last}, so it counts in no goal; correct or delete it")


def _render(request, *, error: QuotaError | None = None, error_row: int | None = None, submitted=None, status=200):
    from bestby import config

    user = request.user
    qs = _visible(user)
    owner_filter, period_text = request.GET.get("owner", "").strip(), request.GET.get("period", "").strip()
    filter_error = None
    if "\x00" in owner_filter:
        filter_error, status, owner_filter = "owner: must not contain NUL (0x00) characters", 400, ""
    if owner_filter:
        qs = qs.filter(owner_key=owner_filter)
    if period_text:
        try:
            p = period_param(period_text, clock.now())
            qs = qs.filter(Q(period_start__lt=p.end) & Q(period_end__gte=p.start))
        except ParamError as exc:
            filter_error, status = str(exc), 400
    total = qs.count()
    editable = access.quota_editable_keys(user)
    names = owner_names({q.owner_key for q in qs[:MAX_ROWS]})
    fm = config.load().fiscal_year_start
    choices = _owner_choices(user)
    rows = []
    for q in qs[:MAX_ROWS]:
        key = q.owner_key
        label = f"Team {key[len(TEAM):]}" if key.startswith(TEAM) else names.get(key, key)
        rows.append({"quota": q, "label": label, "fiscal": _fiscal_label(q.period_start, q.period_end, fm),
                     "editable": editable is None or key in editable,
                     "error": error if error_row == q.pk else _stored_problem(q)})
    return render(request, "web/goals.html", {
        "rows": rows, "total": total, "more": max(total - MAX_ROWS, 0), "choices": choices,
        "can_edit": bool(choices), "error": error, "error_row": error_row, "submitted": submitted or {},
        "owner_filter": owner_filter, "period_filter": period_text, "filter_error": filter_error,
        "saved": request.GET.get("saved", ""),
    }, status=status)


def _values(request):
    return quota_values(by=request.user, **{f: request.POST.get(f, "") for f in FIELDS})


def _back(request, saved: str):
    keep = {k: request.POST.get(f"filter_{k}", "") for k in ("owner", "period")}
    return redirect("/goals/?" + urlencode({**{k: v for k, v in keep.items() if v}, "saved": saved}))


@login_required
def goals_page(request):
    """GET: the quotas the user may see. POST: add one (owner, period or start/end, amount)."""
    if request.method != "POST":
        return _render(request)
    keys = access.quota_editable_keys(request.user)
    if keys is not None and not keys:
        raise PermissionDenied("You may not edit quotas.")
    submitted = {f: request.POST.get(f, "") for f in FIELDS}
    try:
        quota = create_quota(by=request.user, values=_values(request), reason="Goals page")
    except QuotaError as exc:
        return _render(request, error=exc, submitted=submitted, status=400)
    except QuotaDenied as exc:
        raise PermissionDenied(str(exc)) from None
    return _back(request, f"added {quota.owner_key} {quota.period_start} to {quota.period_end}")


def _editable(request, pk: int) -> Quota:
    quota = get_object_or_404(_visible(request.user), pk=pk)  # another team's row: as if it did not exist
    keys = access.quota_editable_keys(request.user)
    if keys is not None and quota.owner_key not in keys:
        raise PermissionDenied("You may not edit this quota.")
    return quota


@login_required
@require_POST
def change_goal(request, pk: int):
    """Change one quota row (owner, period or start/end, amount)."""
    quota = _editable(request, pk)
    try:
        quota = change_quota(by=request.user, quota=quota, values=_values(request), reason="Goals page")
    except QuotaError as exc:
        return _render(request, error=exc, error_row=pk, status=400)
    except QuotaDenied as exc:
        raise PermissionDenied(str(exc)) from None
    return _back(request, f"changed {quota.owner_key} {quota.period_start} to {quota.period_end}")


@login_required
@require_POST
def delete_goal(request, pk: int):
    """Delete one quota row."""
    quota = _editable(request, pk)
    try:
        delete_quota(by=request.user, quota=quota, reason="Goals page")
    except QuotaDenied as exc:
        raise PermissionDenied(str(exc)) from None
    return _back(request, f"deleted {quota.owner_key} {quota.period_start} to {quota.period_end}")
