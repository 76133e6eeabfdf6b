"""The cadence pages: every signed-in user sees the cadences and their steps; admins edit them; leads are enrolled.

``/cadences/``
    Each cadence with its steps in order (business-day offset from the
    start, channel, instruction) and a summary: ``n touches in d business
    days across c channels``, where d is the last offset + 1 (the start
    counts as the first business day, so offsets 0..9 span ten days). The
    default cadence is created on the first visit (:func:`services.ensure_default`).
``/cadences/new/``, ``/cadences/<pk>/edit/`` (admins; others 403)
    Name, description, "make this the default" and the steps as numbered
    rows: a row whose offset and instruction are both empty is ignored (the
    form always shows spare rows), a row ticked "remove" is dropped, and
    "Add a row" shows one more spare row without saving. The kept rows are
    numbered 1, 2, ... in order, and that number is the one refusals name:
    ``steps[2].offset: 1 is before the previous step's 2``. The offset must
    be a whole number (checked here); order, range and channel are checked
    by :func:`bestby.cadences.schedule.check_steps` through
    :func:`services.save_cadence`, which replaces the steps (running
    enrolments keep the tasks they have).
``/cadences/enrol/`` (POST)
    Lead external ids (separated by commas, spaces or new lines), a cadence
    (default: the default one) and a start date (default: each seller's
    local today). A lead may be enrolled by whoever may see its owner's
    records (:func:`bestby.people.access.owner_ids_for`: admins any lead,
    managers their team's, reps their own). All or nothing through
    :func:`services.enrol`; a refusal names the lead (an id out of reach is
    reported as not found, which gives away nothing) and changes nothing.

Refusals come back as the page with the message by the field, status 400.
"""

from __future__ import annotations

import re
from datetime import date

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from bestby import clock
from bestby.activities.models import Lead
from bestby.cadences import schedule, services
from bestby.cadences.models import Cadence
from bestby.people import access

#: spare empty step rows shown under the cadence's steps, so a step can be added without JavaScript
SPARE_ROWS = 2
#: the most step rows a form may send (a cadence of 60 steps is no longer a cadence)
MAX_ROWS = 60
_SEPARATORS = re.compile(r"[\s,;]+")


def _cadences():
    return list(Cadence.objects.prefetch_related("steps").order_by("-is_default", "name"))


def summary(steps) -> str:
    """``6 touches in 10 business days across 4 channels`` (module doc)."""
    steps = list(steps)
    if not steps:
        return "no steps"
    n, days, channels = len(steps), max(s.offset for s in steps) + 1, len({s.channel for s in steps})
    return (f"{n} touch{'es' if n != 1 else ''} in {days} business day{'s' if days != 1 else ''} "
            f"across {channels} channel{'s' if channels != 1 else ''}")


def _page(request, *, message: str = "", error: services.CadenceError | None = None, enrol=None, status=200):
    services.ensure_default()
    cadences = _cadences()
    saved = request.GET.get("saved", "")
    return render(request, "web/cadences.html", {
        "cadences": [{"cadence": c, "steps": list(c.steps.all()), "summary": summary(c.steps.all())}
                     for c in cadences],
        "choices": cadences, "can_edit": access.is_admin(request.user), "message": message,
        "saved": next((c for c in cadences if str(c.pk) == saved), None), "error": error, "enrol": enrol or {}}, status=status)


@login_required
def cadences_page(request):
    """The cadences and their steps, and the enrol form."""
    return _page(request)


# ------------------------------------------------------------------ editing (admins)

def _admin(request) -> None:
    if not access.is_admin(request.user):
        raise PermissionDenied("Only admins edit cadences.")


def _blank(row: dict) -> bool:
    return not row["offset"] and not row["instruction"]


def read_rows(post) -> tuple[list[dict], int]:
    """The kept step rows of the form, in order (removed and empty rows dropped), and how many empty rows it had."""
    try:
        count = min(max(int(post.get("rows", "0")), 0), MAX_ROWS)
    except ValueError:
        count = 0
    kept, blanks = [], 0
    for i in range(1, count + 1):
        row = {"offset": post.get(f"steps-{i}-offset", "").strip(), "channel": post.get(f"steps-{i}-channel", "").strip(),
               "instruction": post.get(f"steps-{i}-instruction", "").strip()}
        if post.get(f"steps-{i}-remove"):
            continue
        if _blank(row):
            blanks += 1
            continue
        kept.append(row)
    return kept, blanks


def to_steps(rows: list[dict]) -> list[schedule.Step]:
    """The rows as steps; a missing or non-whole offset raises CadenceError naming ``steps[k].offset``."""
    steps = []
    for k, row in enumerate(rows, start=1):
        raw = row["offset"]
        if not raw:
            raise services.CadenceError(f"steps[{k}].offset", "give the business-day offset (0 is the start day)")
        if not re.fullmatch(r"\d{1,4}", raw):
            raise services.CadenceError(f"steps[{k}].offset", f"{raw!r} is not a whole number of business days "
                                        f"from 0 to {schedule.MAX_OFFSET}")
        steps.append(schedule.Step(int(raw), row["channel"], row["instruction"]))
    return steps


def _edit_form(request, cadence, *, form: dict, rows: list[dict], spare: int = SPARE_ROWS,
               error: services.CadenceError | None = None, status: int = 200):
    shown = [dict(r, k=k) for k, r in enumerate(rows, start=1)]
    shown += [{"offset": "", "channel": "phone", "instruction": "", "k": len(rows) + j} for j in range(1, spare + 1)]
    if error is not None:
        for r in shown:
            for field in ("offset", "channel", "instruction"):
                if error.param == f"steps[{r['k']}].{field}":
                    r["error_field"], r["error"] = field, error.message
    return render(request, "web/cadence_edit.html", {
        "cadence": cadence, "form": form, "rows": shown, "count": len(shown), "channels": schedule.STEP_CHANNELS,
        "error": error}, status=status)


def _edit(request, cadence: Cadence | None):
    _admin(request)
    if request.method != "POST":
        rows = ([{"offset": str(s.offset), "channel": s.channel, "instruction": s.instruction}
                 for s in cadence.steps.order_by("position")] if cadence else [])
        form = {"name": cadence.name if cadence else "", "description": cadence.description if cadence else "",
                "make_default": False}
        return _edit_form(request, cadence, form=form, rows=rows, spare=SPARE_ROWS if cadence else 6)
    form = {"name": request.POST.get("name", "").strip(), "description": request.POST.get("description", "").strip(),
            "make_default": bool(request.POST.get("make_default"))}
    rows, blanks = read_rows(request.POST)
    if request.POST.get("add_row"):
        return _edit_form(request, cadence, form=form, rows=rows, spare=blanks + 1)
    try:
        saved = services.save_cadence(name=form["name"], description=form["description"], steps=to_steps(rows),
                                      by=request.user, cadence=cadence, make_default=form["make_default"])
    except services.CadenceError as exc:
        return _edit_form(request, cadence, form=form, rows=rows, error=exc, status=400)
    return redirect(f"/cadences/?saved={saved.pk}")


@login_required
def cadence_new(request):
    """A new cadence (admins)."""
    return _edit(request, None)


@login_required
def cadence_edit(request, pk: int):
    """Change a cadence's name, description, steps, or make it the default (admins)."""
    _admin(request)
    return _edit(request, get_object_or_404(Cadence, pk=pk))


# ------------------------------------------------------------------ enrolling leads

def _leads(user, raw: str) -> list[Lead]:
    """The leads named in ``raw``, in the order given, each one the user may enrol (CadenceError names the others)."""
    ids = list(dict.fromkeys(i for i in _SEPARATORS.split(raw) if i))
    if not ids:
        raise services.CadenceError("leads", "give at least one lead id")
    found = {lead.external_id: lead for lead in access.leads_for(user).filter(external_id__in=ids)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise services.CadenceError("leads", f"no lead {', '.join(repr(i) for i in missing)} among the leads you "
                                    "may enrol (yours, or your team's for a manager)")
    return [found[i] for i in ids]


def _cadence(raw: str) -> Cadence | None:
    if not raw:
        return None
    found = Cadence.objects.filter(pk=int(raw)).first() if raw.isascii() and raw.isdigit() else None
    if found is None:
        raise services.CadenceError("cadence", f"no cadence {raw!r}")
    return found


def _start(raw: str) -> date | None:
    if not raw:
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError
        start = date.fromisoformat(raw)
    except ValueError:
        raise services.CadenceError("start", f"{raw!r} is not a date YYYY-MM-DD") from None
    services.check_start(start, clock.now())
    return start


@login_required
@require_POST
def enrol(request):
    """Enrol the given leads in a cadence from a start date, all or nothing."""
    form = {k: request.POST.get(k, "").strip() for k in ("leads", "cadence", "start")}
    try:
        leads, cadence, start = _leads(request.user, form["leads"]), _cadence(form["cadence"]), _start(form["start"])
        made = services.enrol(leads=leads, cadence=cadence, start=start, by=request.user, now=clock.now())
    except services.CadenceError as exc:
        return _page(request, error=exc, enrol=form, status=400)
    firsts = ", ".join(f"{e.lead.external_id} from {e.tasks.order_by('position').first().due_on:%Y-%m-%d}"
                       for e in made)
    name = made[0].cadence.name
    return _page(request, message=f"Enrolled {len(made)} lead{'s' if len(made) != 1 else ''} in {name}: {firsts}.")
